"""Lesion study: delete or reorder the blocks of a trained network at test time.

Veit, Wilber, Belongie 2016, "Residual Networks Behave Like Ensembles of Relatively Shallow
Networks" (arXiv:1605.06431), Sections 4 and 5. A residual block computes
``out = relu(shortcut(x) + branch(x))`` (v1) or ``out = shortcut(x) + branch(x)``
(pre-activation); deleting its *branch* leaves ``relu(shortcut(x))`` or ``shortcut(x)``, which
is the same network with the branch's output zeroed. Veit et al. find that deleting one block
from a CIFAR-10 ResNet-110 barely changes its error, except for downsampling blocks, while
deleting a layer of a plain (VGG-like) net is catastrophic; deleting several blocks or swapping
pairs of blocks raises the error smoothly (Veit et al. 2016, Fig. 3 and 5).

How the network is rebuilt. The functional graph of the trained model is walked in
topological order and its *own layers* are called again on new symbolic tensors, so the
lesioned model shares every layer and weight with the original: no copy, no ``Lambda``. Blocks
are found by layer name, ``"{stage}_block{i}_..."`` (``conv3_block2_1_conv``), so any depth,
basic or bottleneck, v1 or pre-activation, residual or plain, is handled the same way.

- Residual block deleted: the block's ``Add`` returns its shortcut input; the layers after the
  addition inside the block (the v1 ``_out`` ReLU) still run, the branch layers do not.
- Plain block deleted: the block's output is its input. A plain block that changes the shape
  (a downsampling block) has nothing to replace it with and cannot be deleted.
- Blocks swapped: block j's layers run where block i was, and the other way round; only blocks
  with equal input shapes and equal output shapes can trade places.

The experiments that measure the error of such networks are in ``lesion_study``.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence

import keras
import numpy as np

__all__ = [
    "BlockInfo",
    "find_blocks",
    "lesioned_model",
    "random_deletion",
    "random_swaps",
]

# "conv3_block12_1_conv" -> block "conv3_block12", stage "conv3", index 12.
BLOCK_NAME = re.compile(r"^(?P<block>(?P<stage>.+?)_block(?P<index>\d+))_")
# Branch layers are numbered 1, 2, 3; the projection shortcut is numbered 0.
_BRANCH_LAYER = re.compile(r"_block\d+_[1-9]\d*_")


@dataclasses.dataclass(frozen=True)
class BlockInfo:
    """One block of a network, as found from its layer names."""

    name: str  # "conv3_block2"
    stage: str  # "conv3"
    index: int  # 2 (1-based, as in the layer names)
    residual: bool  # holds an Add (a shortcut connection)
    input_shape: tuple  # without the batch axis, e.g. (16, 16, 16)
    output_shape: tuple  # (8, 8, 32) for a downsampling block

    @property
    def downsampling(self) -> bool:
        """True when the block changes the shape of its input (stride 2 or more channels)."""
        return self.input_shape != self.output_shape

    @property
    def deletable(self) -> bool:
        """A residual block can always be deleted; a plain one only if it keeps the shape."""
        return self.residual or not self.downsampling


@dataclasses.dataclass
class _Block:
    info: BlockInfo
    nodes: list  # the block's nodes, in topological order
    input: object  # KerasTensor entering the block
    output: object  # KerasTensor leaving the block
    add_node: object  # the residual Add's node, or None for a plain block
    shortcut: object  # the Add's shortcut input (KerasTensor), or None


def _topological_nodes(model):
    if not hasattr(model, "_nodes_by_depth"):
        raise TypeError(
            f"model: expected a functional keras.Model (built from keras.Input), got "
            f"{type(model).__name__}; subclassed and Sequential models have no graph to rewire."
        )
    nodes = []
    for depth in sorted(model._nodes_by_depth, reverse=True):
        for node in model._nodes_by_depth[depth]:
            if node.operation is not None and not node.is_input:
                nodes.append(node)
    return nodes


def _shape(tensor) -> tuple:
    return tuple(tensor.shape[1:])


def _graph_blocks(model) -> list[_Block]:
    """Groups the model's nodes into blocks, in the order the data flows through them."""
    nodes = _topological_nodes(model)
    producer = {id(t): node for node in nodes for t in node.outputs}
    block_of = {}  # node id -> block name
    members: dict[str, list] = {}
    for node in nodes:
        match = BLOCK_NAME.match(node.operation.name)
        if match:
            block_of[id(node)] = match["block"]
            members.setdefault(match["block"], []).append(node)
    if not members:
        raise ValueError(
            f"model {model.name!r}: no layer is named like '{{stage}}_block{{i}}_...' "
            "(e.g. 'conv2_block1_1_conv'); build it with resnet_lib.models."
        )

    def block_of_tensor(t):
        node = producer.get(id(t))
        return None if node is None else block_of.get(id(node))

    outputs_of: dict[str, list] = {name: [] for name in members}
    inputs_of: dict[str, list] = {name: [] for name in members}
    for node in nodes:
        owner = block_of.get(id(node))
        for t in node.input_tensors:
            source = block_of_tensor(t)
            if source is not None and source != owner and t not in outputs_of[source]:
                outputs_of[source].append(t)
            if owner is not None and source != owner and t not in inputs_of[owner]:
                inputs_of[owner].append(t)
    for t in model.outputs:
        source = block_of_tensor(t)
        if source is not None and t not in outputs_of[source]:
            outputs_of[source].append(t)

    blocks = []
    for name, block_nodes in members.items():
        if len(inputs_of[name]) != 1 or len(outputs_of[name]) != 1:
            raise ValueError(
                f"model {model.name!r}, block {name!r}: expected one input and one output "
                f"tensor, found {len(inputs_of[name])} inputs and {len(outputs_of[name])} "
                "outputs; the lesion study needs blocks that are chained one after another."
            )
        adds = [n for n in block_nodes if isinstance(n.operation, keras.layers.Add)]
        if len(adds) > 1:
            raise ValueError(
                f"model {model.name!r}, block {name!r}: expected at most one Add layer, "
                f"found {[n.operation.name for n in adds]}."
            )
        add_node, shortcut = (adds[0], None) if adds else (None, None)
        if add_node is not None:
            add_inputs = list(add_node.input_tensors)
            is_branch = [
                producer.get(id(t)) is not None
                and bool(_BRANCH_LAYER.search(producer[id(t)].operation.name))
                for t in add_inputs
            ]
            # The contract orders the Add's inputs [shortcut, branch]; the names confirm it.
            shortcut = add_inputs[is_branch.index(False)] if is_branch.count(False) == 1 else (
                add_inputs[0]
            )
        match = BLOCK_NAME.match(block_nodes[0].operation.name)
        info = BlockInfo(
            name=name,
            stage=match["stage"],
            index=int(match["index"]),
            residual=add_node is not None,
            input_shape=_shape(inputs_of[name][0]),
            output_shape=_shape(outputs_of[name][0]),
        )
        blocks.append(
            _Block(info, block_nodes, inputs_of[name][0], outputs_of[name][0], add_node, shortcut)
        )
    return blocks


def find_blocks(model) -> list[BlockInfo]:
    """The blocks of ``model`` in data-flow order, with shapes and whether each is deletable."""
    return [block.info for block in _graph_blocks(model)]


def _call_node(node, tensors):
    args, kwargs = node.arguments.fill_in(tensors)
    outputs = node.operation(*args, **kwargs)
    for original, new in zip(node.outputs, keras.tree.flatten(outputs)):
        tensors[id(original)] = new


def _run_block(block: _Block, x, *, delete_branch: bool):
    """Calls ``block``'s own layers on ``x``; with ``delete_branch`` the Add returns its shortcut."""
    producer = {id(t): node for node in block.nodes for t in node.outputs}
    needed, stack = set(), [block.output]
    while stack:  # walk back from the output to find which nodes must run
        t = stack.pop()
        node = producer.get(id(t))
        if node is None or id(node) in needed:
            continue
        needed.add(id(node))
        if delete_branch and node is block.add_node:
            stack.append(block.shortcut)
        else:
            stack.extend(node.input_tensors)
    tensors = {id(block.input): x}
    for node in block.nodes:
        if id(node) not in needed:
            continue
        if delete_branch and node is block.add_node:
            tensors[id(node.outputs[0])] = tensors[id(block.shortcut)]
        else:
            _call_node(node, tensors)
    return tensors[id(block.output)]


def _resolve(blocks: Sequence[_Block], ref, argument: str) -> _Block:
    if isinstance(ref, (int, np.integer)):
        if not 0 <= ref < len(blocks):
            raise ValueError(f"{argument}: block index {ref} out of range 0..{len(blocks) - 1}.")
        return blocks[ref]
    for block in blocks:
        if block.info.name == ref:
            return block
    raise ValueError(
        f"{argument}: no block named {ref!r}; the model has "
        f"{[b.info.name for b in blocks]} (or pass an index)."
    )


def lesioned_model(model, *, delete=(), swap=(), name=None) -> keras.Model:
    """The network ``model`` with blocks deleted and/or pairs of blocks swapped.

    Args:
        model: a functional model from ``resnet_lib.models`` (residual or plain, v1 or
            pre-activation), usually trained. Its layers are shared, not copied.
        delete: blocks to delete, by name (``"conv3_block2"``) or index into
            ``find_blocks(model)``. A residual block keeps only its shortcut; a plain block
            that keeps the shape becomes the identity.
        swap: pairs ``(a, b)`` of blocks that trade places. Both must have equal input
            shapes and equal output shapes. A swapped block may also be deleted.
        name: the new model's name (default: ``"{model.name}_lesioned"``).

    The result shares layers with ``model``, so ``lesioned.get_layer(n).output`` is the
    *original* graph's tensor; use ``lesioned.outputs`` (or rebuild from the original model).

    Raises:
        ValueError: a plain downsampling block in ``delete``, a block in two swaps, or a
            swap between blocks of different shapes.
    """
    blocks = _graph_blocks(model)
    deleted = {id(_resolve(blocks, ref, "delete")) for ref in delete}
    for block in blocks:
        if id(block) in deleted and not block.info.deletable:
            deletable = [b.info.name for b in blocks if b.info.deletable]
            raise ValueError(
                f"delete: block {block.info.name!r} of the plain network {model.name!r} changes "
                f"the shape {block.info.input_shape} -> {block.info.output_shape} and has no "
                f"shortcut to fall back on, so it cannot be deleted. Deletable: {deletable}."
            )
    runs = {id(block): block for block in blocks}  # position -> block whose layers run there
    for pair in swap:
        if len(pair) != 2:
            raise ValueError(f"swap: expected pairs of blocks, got {pair!r}.")
        a, b = (_resolve(blocks, ref, "swap") for ref in pair)
        if runs[id(a)] is not a or runs[id(b)] is not b or a is b:
            raise ValueError(f"swap: each block may appear in one pair only, got {tuple(swap)}.")
        if (a.info.input_shape, a.info.output_shape) != (b.info.input_shape, b.info.output_shape):
            raise ValueError(
                f"swap: {a.info.name} ({a.info.input_shape} -> {a.info.output_shape}) and "
                f"{b.info.name} ({b.info.input_shape} -> {b.info.output_shape}) have different "
                "shapes; only blocks with equal input and output shapes can be swapped."
            )
        runs[id(a)], runs[id(b)] = b, a

    start_of = {id(block.nodes[0]): block for block in blocks}
    in_block = {id(node) for block in blocks for node in block.nodes}
    tensors = {id(t): t for t in model.inputs}  # the original Input tensors are reused
    for node in _topological_nodes(model):
        block = start_of.get(id(node))
        if block is not None:  # the whole block is replaced at once, at its first node
            x = tensors[id(block.input)]
            runner = runs[id(block)]
            if id(runner) in deleted and not runner.info.residual:
                y = x
            else:
                y = _run_block(runner, x, delete_branch=id(runner) in deleted)
            tensors[id(block.output)] = y
        elif id(node) not in in_block:
            _call_node(node, tensors)
    outputs = keras.tree.pack_sequence_as(model.output, [tensors[id(t)] for t in model.outputs])
    return keras.Model(model.input, outputs, name=name or f"{model.name}_lesioned")


def _deletion_candidates(blocks, include_downsampling):
    return [
        b.info.name
        for b in blocks
        if b.info.deletable and (include_downsampling or not b.info.downsampling)
    ]


def random_deletion(model, k: int, *, seed, include_downsampling: bool = False) -> tuple:
    """Names of ``k`` distinct blocks drawn at random (downsampling blocks excluded by default)."""
    candidates = _deletion_candidates(_graph_blocks(model), include_downsampling)
    if not 0 <= k <= len(candidates):
        raise ValueError(f"k: expected 0..{len(candidates)} deletable blocks, got {k}.")
    rng = np.random.default_rng(seed)
    return tuple(candidates[i] for i in sorted(rng.choice(len(candidates), k, replace=False)))


def _swap_groups(blocks):
    groups: dict[tuple, list] = {}
    for b in blocks:
        if not b.info.downsampling:
            groups.setdefault((b.info.input_shape, b.info.output_shape), []).append(b.info.name)
    return list(groups.values())


def random_swaps(model, k: int, *, seed) -> tuple:
    """``k`` disjoint pairs of same-shape, non-downsampling blocks, drawn at random."""
    groups = _swap_groups(_graph_blocks(model))
    most = sum(len(g) // 2 for g in groups)
    if not 0 <= k <= most:
        raise ValueError(f"k: expected 0..{most} disjoint pairs of swappable blocks, got {k}.")
    rng = np.random.default_rng(seed)
    # Each pair takes two names from one group of size m, which lowers sum(len // 2) by exactly
    # one, so k <= most pairs are always found: no dead end, no retry.
    free = [list(g) for g in groups]
    pairs = []
    for _ in range(k):
        open_groups = [g for g in free if len(g) >= 2]
        weights = np.array([len(g) * (len(g) - 1) for g in open_groups], float)
        group = open_groups[rng.choice(len(open_groups), p=weights / weights.sum())]
        i, j = rng.choice(len(group), 2, replace=False)
        pairs.append((group[i], group[j]))
        for name in pairs[-1]:
            group.remove(name)
    return tuple(pairs)
