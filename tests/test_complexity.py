"""Multiply-adds against Table 1 of He et al. 2015 and hand counts."""

import pytest

import keras

from resnet_lib.complexity import layer_multiply_adds, multiply_adds, table1, table1_markdown
from resnet_lib.models import cifar_resnet, imagenet_resnet
from resnet_lib.reference import EXACT_V1_MULTIPLY_ADDS, TABLE1, TORCHVISION_GFLOPS

pytestmark = pytest.mark.one_backend  # backend-independent: the TensorFlow pass runs it


@pytest.fixture(scope="module")
def columns():
    return table1()


def test_table1_flops_within_2_percent_of_the_paper(columns):
    assert [c.depth for c in columns] == [18, 34, 50, 101, 152]
    for column in columns:
        assert column.multiply_adds == pytest.approx(TABLE1.value[column.depth]["flops"], rel=0.02), column.depth
        assert column.blocks_per_stage == TABLE1.value[column.depth]["blocks"]


def test_complexity_quotes_table1_as_the_reference_does(columns):
    for column in columns:
        assert column.paper_flops == TABLE1.value[column.depth]["flops"]


def test_table1_output_sizes_and_blocks(columns):
    for column in columns:
        assert column.stage_output_sizes == {
            "conv1": (112, 112), "conv2_x": (56, 56), "conv3_x": (28, 28), "conv4_x": (14, 14), "conv5_x": (7, 7)
        }
    by_depth = {c.depth: c for c in columns}
    assert by_depth[152].blocks_per_stage == (3, 8, 36, 3)
    assert by_depth[34].stage_layers["conv3_x"] == "[3x3, 128; 3x3, 128] x 4"
    assert by_depth[50].stage_layers["conv5_x"] == "[1x1, 512; 3x3, 512; 1x1, 2048] x 3"
    text = table1_markdown(columns)
    assert "| conv4_x | 14x14 |" in text and "11.28e9" in text
    assert f"{by_depth[152].parameters / 1e6:.2f}M" in text


def test_exact_counts_of_the_v1_layout(columns):
    # exact v1 counts of the bottleneck nets; basic-block nets have no 1x1 to move a stride
    # from, so torchvision's GFLOPs are theirs too (both cited in resnet_lib.reference)
    exact = {**{d: 1e9 * g for d, g in TORCHVISION_GFLOPS.value.items() if d < 50}, **EXACT_V1_MULTIPLY_ADDS.value}
    for column in columns:
        assert column.multiply_adds == pytest.approx(exact[column.depth], rel=5e-4)


def test_v15_moves_cost_into_the_3x3():
    # torchvision's ResNet-50 and -101 (stride in the 3x3), as its documentation reports them
    for depth in (50, 101):
        cited = 1e9 * TORCHVISION_GFLOPS.value[depth]
        assert multiply_adds(imagenet_resnet(depth, stride_at="3x3")) == pytest.approx(cited, rel=5e-4)


def test_hand_count_of_a_small_net():
    model = cifar_resnet(8, input_shape=(16, 16, 3), num_classes=10)
    costs = {c.name: c for c in layer_multiply_adds(model)}
    assert costs["conv1_conv"].multiply_adds == 16 * 16 * 3 * 3 * 3 * 16
    assert costs["conv3_block1_1_conv"].multiply_adds == 8 * 8 * 3 * 3 * 16 * 32
    assert costs["conv3_block1_1_conv"].output_shape == (8, 8, 32)
    assert costs["predictions"].multiply_adds == 64 * 10
    assert costs["conv2_block1_1_bn"].multiply_adds == 0
    assert sum(c.params for c in costs.values()) == model.count_params()
    expected = 16 * 16 * 27 * 16 + 2 * 16 * 16 * 9 * 16 * 16 + 8 * 8 * 9 * (16 * 32 + 32 * 32)
    expected += 4 * 4 * 9 * (32 * 64 + 64 * 64) + 640
    assert multiply_adds(model) == expected


def test_needs_a_fixed_input_shape():
    model = cifar_resnet(8, input_shape=(None, None, 3))
    with pytest.raises(ValueError, match="fixed input_shape"):
        multiply_adds(model)


def test_stage_costs_add_up_and_match_table1(columns):
    from resnet_lib.complexity import COST_STAGES, stage_costs

    model = imagenet_resnet(34)
    costs = stage_costs(model)
    assert tuple(costs) == COST_STAGES
    assert sum(m for m, _ in costs.values()) == multiply_adds(model)
    assert sum(p for _, p in costs.values()) == model.count_params()
    assert costs["fc"] == (512 * 1000, 512 * 1000 + 1000)
    # a basic block costs about the same in every stage (half the map, twice the width), so a
    # stage costs in proportion to its blocks: 3, 4, 6, 3 in ResNet-34
    per_block = [costs[s][0] / n for s, n in zip(COST_STAGES[1:5], (3, 4, 6, 3))]
    assert max(per_block) / min(per_block) < 1.1
    inputs = keras.Input((4,))
    other = keras.Model(inputs, keras.layers.Dense(2, name="head")(inputs))
    with pytest.raises(ValueError, match="'head'.*no Table 1 stage"):
        stage_costs(other)
