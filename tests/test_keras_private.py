"""The private Keras APIs the library relies on, each pinned by a test that names its user.

Keras does not promise these; when a Keras release changes one, the test here fails with a
message that says which module breaks and what it expected, before the module's own tests
fail in a less readable way.

- ``Functional._nodes_by_depth`` and ``Node.operation / .is_input / .outputs /
  .input_tensors``: ``resnet_lib.analysis.lesion`` walks the graph in topological order.
- ``Node.arguments.fill_in(tensors)``: ``resnet_lib.analysis.lesion`` calls a layer again with
  the node's original arguments, the tensors swapped by ``id``.
- ``keras._tf_keras.keras.preprocessing.image.ImageDataGenerator``: ``resnet_lib.book.voc``
  runs the Keras 2 augmenting generator under Keras 3.
"""

import keras
import numpy as np
import pytest

pytestmark = pytest.mark.one_backend  # backend-independent: the TensorFlow pass runs it

USER = "resnet_lib.analysis.lesion"


def _chain():
    inputs = keras.Input((4,), name="x")
    h = keras.layers.Dense(3, name="first")(inputs)
    outputs = keras.layers.Dense(2, name="second")(h)
    return keras.Model(inputs, outputs)


def test_nodes_by_depth_lists_the_graph_deepest_first():
    model = _chain()
    assert hasattr(model, "_nodes_by_depth"), (
        f"keras {keras.__version__}: functional models lost _nodes_by_depth; {USER}._topological_nodes "
        "needs another way to list the graph's nodes in order"
    )
    by_depth = model._nodes_by_depth
    assert isinstance(by_depth, dict) and all(isinstance(d, int) for d in by_depth), (
        f"keras {keras.__version__}: _nodes_by_depth is no longer a dict int -> nodes ({type(by_depth)}); "
        f"{USER} sorts its keys"
    )
    order = []
    for depth in sorted(by_depth, reverse=True):
        for node in by_depth[depth]:
            for attribute in ("operation", "is_input", "outputs", "input_tensors"):
                assert hasattr(node, attribute), (
                    f"keras {keras.__version__}: Node has no .{attribute}; {USER} reads it"
                )
            if node.operation is not None and not node.is_input:
                order.append(node.operation.name)
    assert order == ["first", "second"], (
        f"keras {keras.__version__}: sorting _nodes_by_depth deepest first gives {order}, not the data "
        f"flow ['first', 'second']; {USER} relies on that order"
    )


def test_node_arguments_fill_in_swaps_tensors_by_id():
    model = _chain()
    node = next(n for d in model._nodes_by_depth.values() for n in d
                if n.operation is not None and n.operation.name == "second")
    assert hasattr(node, "arguments") and hasattr(node.arguments, "fill_in"), (
        f"keras {keras.__version__}: Node.arguments.fill_in is gone; {USER}._call_node uses it to "
        "call a layer on new tensors"
    )
    original = node.input_tensors[0]
    replacement = keras.ops.convert_to_tensor(np.ones((1, 3), "float32"))
    args, kwargs = node.arguments.fill_in({id(original): replacement})
    assert isinstance(kwargs, dict) and len(args) == 1 and args[0] is replacement, (
        f"keras {keras.__version__}: Node.arguments.fill_in no longer returns (args, kwargs) with "
        f"tensors replaced by id; {USER}._call_node expects that"
    )
    out = keras.ops.convert_to_numpy(node.operation(*args, **kwargs))
    layer = model.get_layer("second")
    want = np.ones((1, 3)) @ keras.ops.convert_to_numpy(layer.kernel) + keras.ops.convert_to_numpy(layer.bias)
    np.testing.assert_allclose(out, want, rtol=1e-6)


@pytest.mark.tensorflow
def test_keras2_image_data_generator_is_importable():
    try:
        from keras._tf_keras.keras.preprocessing.image import ImageDataGenerator
    except ImportError as error:
        pytest.fail(
            f"keras {keras.__version__}: keras._tf_keras.keras.preprocessing.image.ImageDataGenerator "
            f"cannot be imported ({error}); resnet_lib.book.voc.seed_generator needs another import"
        )
    batch = ImageDataGenerator(horizontal_flip=True).flow(np.zeros((2, 8, 8, 3)), batch_size=2, shuffle=False)
    assert next(iter(batch)).shape == (2, 8, 8, 3)
