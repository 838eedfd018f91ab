"""Architecture diagrams: every box is a layer of the model, labelled from its configuration."""

import io

import PIL.Image
import pytest

from resnet_lib import diagrams
from resnet_lib.models import cifar_resnet, imagenet_resnet
from resnet_lib.plots import PAGE_WIDTH

pytestmark = pytest.mark.one_backend  # backend-independent: the TensorFlow pass runs it


def _width_px(figure):
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")  # as show_figure does
    return PIL.Image.open(buffer).size[0]


def _texts(figure):
    return [t.get_text() for axis in figure.axes for t in axis.texts]


def test_basic_and_bottleneck_blocks_are_read_from_the_layers():
    basic = diagrams.block_layers(imagenet_resnet(34), "conv2_block2")
    assert [diagrams.layer_label(l) for l in basic["branch"]] == ["3x3 conv, 64", "BN", "ReLU", "3x3 conv, 64", "BN"]
    assert basic["shortcut"] == [] and diagrams.layer_label(basic["add"]) == "+"
    assert [diagrams.layer_label(l) for l in basic["after"]] == ["ReLU"]
    bottleneck = diagrams.block_layers(imagenet_resnet(50), "conv3_block1")
    convs = [label for label in map(diagrams.layer_label, bottleneck["branch"]) if "conv" in label]
    assert convs == ["1x1 conv, 128, /2", "3x3 conv, 128", "1x1 conv, 512"]  # v1: the stride on the first 1x1
    assert [diagrams.layer_label(l) for l in bottleneck["shortcut"]] == ["1x1 conv, 512, /2", "BN"]
    assert tuple(bottleneck["input"].shape[1:]) == (56, 56, 256)


def test_the_three_shortcut_options_and_a_plain_block_differ_where_the_paper_says():
    a = diagrams.block_layers(cifar_resnet(20, shortcut="A"), "conv3_block1")
    b = diagrams.block_layers(cifar_resnet(20, shortcut="B"), "conv3_block2")
    c = diagrams.block_layers(cifar_resnet(20, shortcut="C"), "conv3_block2")
    plain = diagrams.block_layers(cifar_resnet(20, residual=False), "conv3_block1")
    assert [diagrams.layer_label(l) for l in a["shortcut"]] == ["subsample /2,\nzero-pad to 32"]  # option A
    assert b["shortcut"] == []  # B: identity where the shape stays
    assert [diagrams.layer_label(l) for l in c["shortcut"]] == ["1x1 conv, 32", "BN"]  # C: projections everywhere
    assert plain["add"] is None and plain["shortcut"] == []
    assert tuple(a["input"].shape[1:]) == (32, 32, 16)  # the block's input, before the strided conv's padding


def test_figures_fit_the_page_and_show_the_layers():
    figure = diagrams.block_diagrams({"basic": (imagenet_resnet(34), "conv2_block2"),
                                      "bottleneck": (imagenet_resnet(50), "conv2_block2")})
    assert _width_px(figure) <= 100 * PAGE_WIDTH + 2
    texts = _texts(figure)
    assert texts.count("+") == 2 and "1x1 conv, 256" in texts and texts.count("identity") == 2
    figure = diagrams.stage_diagram(cifar_resnet(20))
    assert _width_px(figure) <= 100 * PAGE_WIDTH + 2
    texts = _texts(figure)
    assert any("conv3_x: 3 x basic block (32-32)" in t for t in texts) and "8x8x64" in texts
    assert any("conv3_x: 4 x bottleneck block (128-128-512)" in t for t in _texts(diagrams.stage_diagram(imagenet_resnet(50))))


def test_an_unknown_block_names_the_blocks_there_are():
    with pytest.raises(ValueError, match="conv9_block1.*has no such block.*conv2_block1"):
        diagrams.block_layers(cifar_resnet(20), "conv9_block1")
