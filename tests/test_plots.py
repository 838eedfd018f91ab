"""Figures: each function returns a Figure that renders, with the data it was given."""

import io

import numpy as np
import PIL.Image
import pytest
from matplotlib.figure import Figure

from resnet_lib import plots
from resnet_lib.analysis.gradients import GradientNorms
from resnet_lib.analysis.lesion_study import LesionResult
from resnet_lib.analysis.paths import path_length_distribution
from resnet_lib.analysis.responses import LayerResponses
from resnet_lib.complexity import Table1Column

pytestmark = pytest.mark.one_backend  # backend-independent: the TensorFlow pass runs it


def _renders(figure):
    """The figure renders, as show_figure renders it, no wider than the book's text column."""
    assert isinstance(figure, Figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")  # as show_figure does
    assert buffer.tell() > 1000
    width, _ = PIL.Image.open(buffer).size
    assert width <= 100 * plots.PAGE_WIDTH + 2, f"{width} px is wider than the page ({100 * plots.PAGE_WIDTH:.0f} px)"


def _history(n, start):
    epoch = np.arange(n)
    train = start * np.exp(-epoch / 5)
    return {"epoch": epoch, "accuracy": 1 - train, "val_error": train + 0.05}


def test_training_curves_paper_style():
    runs = {"plain-20": _history(6, 0.5), "plain-56": _history(6, 0.6)}
    figure = plots.training_curves(runs, iterations_per_epoch=400)
    _renders(figure)
    lines = figure.axes[0].get_lines()
    assert len(lines) == 4
    train, test = lines[0], lines[1]
    assert train.get_label() == "plain-20" and test.get_label() == "plain-20 (val)"
    assert train.get_linewidth() > 2 * test.get_linewidth()  # bold training, thin test
    assert test.get_linestyle() == "--" and train.get_linestyle() == "-"
    assert train.get_color() == test.get_color()
    np.testing.assert_allclose(train.get_ydata(), 100 * (1 - runs["plain-20"]["accuracy"]))
    np.testing.assert_allclose(train.get_xdata(), np.arange(1, 7) * 400 / 1e4)
    assert figure.axes[0].get_xlabel() == "iter. (1e4)"


def test_training_curves_split_and_missing_key():
    figure = plots.training_curves({"resnet-20": {"train_error": [0.3, 0.2]}}, split=True)
    _renders(figure)
    assert len(figure.axes) == 2 and len(figure.axes[1].get_lines()) == 0
    np.testing.assert_allclose(figure.axes[0].get_lines()[0].get_xdata(), [1, 2])
    with pytest.raises(ValueError, match="'bad' has none of the keys"):
        plots.training_curves({"bad": {"loss": [1.0]}})


def test_table1_figure_shows_every_depth_and_flops():
    column = Table1Column(
        depth=18, block="basic", blocks_per_stage=(2, 2, 2, 2),
        stage_output_sizes={"conv1": (112, 112), "conv2_x": (56, 56), "conv3_x": (28, 28),
                            "conv4_x": (14, 14), "conv5_x": (7, 7)},
        stage_layers={"conv1": "7x7, 64, stride 2",
                      "conv2_x": "3x3 max pool, stride 2; [3x3, 64; 3x3, 64] x 2",
                      "conv3_x": "[3x3, 128; 3x3, 128] x 2", "conv4_x": "[3x3, 256; 3x3, 256] x 2",
                      "conv5_x": "[3x3, 512; 3x3, 512] x 2"},
        multiply_adds=1_814_073_344, paper_flops=1.8e9, parameters=11_689_512,
    )
    figure = plots.table1_figure([column, column])
    _renders(figure)
    texts = [cell.get_text().get_text() for cell in figure.axes[0].tables[0].get_celld().values()]
    assert texts.count("18-layer") == 2 and "56x56" in texts
    assert texts.count("1.81e9") == 2 and texts.count("1.8e9") == 2
    assert texts.count("11.7M") == 2


def test_table1_figure_from_complexity_table1():
    from resnet_lib.complexity import table1

    figure = plots.table1_figure(table1(depths=(18,), input_shape=(64, 64, 3)))
    _renders(figure)
    texts = [cell.get_text().get_text() for cell in figure.axes[0].tables[0].get_celld().values()]
    assert "18-layer" in texts and "2x2" in texts  # conv5_x at 64 px input


def _lesion(label, residual, single):
    return LesionResult(
        label=label, residual=residual, baseline_error=0.1, block_names=("a", "b", "c"),
        single_block_error=np.array(single), deleted_counts=np.array([1, 2]),
        deleted_error=np.array([[0.2, 0.3], [0.4, 0.5]]), swapped_counts=np.array([1]),
        swapped_error=np.array([[0.15, 0.25]]),
    )


def test_lesion_figure_plots_means_and_skips_undeletable_blocks():
    results = {"resnet": _lesion("resnet", True, [0.1, 0.3, 0.2]),
               "plain": _lesion("plain", False, [0.9, np.nan, 0.8])}
    figure = plots.lesion_figure(results)
    _renders(figure)
    single, deleted, swapped = figure.axes
    plain_line = [l for l in single.get_lines() if l.get_label() == "plain"][0]
    np.testing.assert_allclose(plain_line.get_xdata(), [1, 3])
    np.testing.assert_allclose(plain_line.get_ydata(), [90, 80])
    resnet_bars = [c for c in deleted.containers if c.get_label() == "resnet"][0]
    resnet_line = resnet_bars.lines[0]
    np.testing.assert_allclose(resnet_line.get_xdata(), [0, 1, 2])
    np.testing.assert_allclose(resnet_line.get_ydata(), [10, 25, 45])


def test_response_gradient_and_path_figures():
    responses = [LayerResponses("resnet8", ("a", "b", "c"), np.array([1.0, 3.0, 2.0])),
                 LayerResponses("plain8", ("a", "b", "c"), np.array([2.0, 1.0, 4.0]))]
    figure = plots.response_std_figure(responses)
    _renders(figure)
    np.testing.assert_allclose(figure.axes[1].get_lines()[0].get_ydata(), [3, 2, 1])
    np.testing.assert_allclose(figure.axes[0].get_lines()[1].get_ydata(), [2, 1, 4])
    # nets with nearly equal responses must stay distinguishable: a dash and a marker each
    lines = figure.axes[0].get_lines()
    assert len({(l.get_linestyle(), l.get_marker()) for l in lines}) == len(lines)

    norms = [GradientNorms("plain", ("c1", "c2"), np.array([4.0, 1.0]), np.array([2.0, 2.0]), 1.0)]
    figure = plots.gradient_norm_figure(norms, relative=True)
    _renders(figure)
    np.testing.assert_allclose(figure.axes[0].get_lines()[0].get_ydata(), [2.0, 0.5])
    assert figure.axes[0].get_yscale() == "log"

    class History:
        epochs = [-1, 0, 1]
        layer_names = ("c1", "c2")
        gradient_norm = np.array([[1.0, 2.0], [0.5, 1.0], [0.2, 0.4]])

    _renders(plots.gradient_history_figure(History()))

    figure = plots.path_length_figure(10, gradient_per_path=np.ones(11))
    _renders(figure)
    heights = [patch.get_height() for patch in figure.axes[0].patches]
    np.testing.assert_allclose(heights, path_length_distribution(10).fraction)
    np.testing.assert_allclose(figure.axes[0].get_lines()[0].get_ydata(), heights)
