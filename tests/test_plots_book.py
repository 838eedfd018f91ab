"""The figures that chapters 1, 5, 6 and 7 draw, built by resnet_lib.plots from given numbers."""

import types

import numpy as np
import pytest

from resnet_lib.plots import cost_time_figure, per_class_ap_figure, stage_costs_figure, voc_statistics_figure

pytestmark = pytest.mark.one_backend  # backend-independent: the TensorFlow pass runs it


def _heights(axis):
    return [patch.get_height() for patch in axis.patches]


def test_voc_statistics_figure_draws_the_counts_sorted_by_frequency():
    stats = types.SimpleNamespace(
        images_per_class={"cat": 3, "dog": 7, "bird": 5},
        single_label_images_per_class={"cat": 1, "dog": 6, "bird": 2},
        classes_per_image=np.array([1, 1, 2, 3, 1]),
        box_relative_areas=np.array([0.1, 0.5, 0.2]),
    )
    per_class, per_image, areas = voc_statistics_figure(stats).axes
    assert [t.get_text() for t in per_class.get_xticklabels()] == ["dog", "bird", "cat"]
    assert _heights(per_class) == [7, 5, 3, 6, 2, 1]
    assert _heights(per_image) == [3, 1, 1]  # one, two and three classes per image
    assert sum(_heights(areas)) == 3


def test_cost_time_figure_places_each_network_and_checks_the_keys():
    figure = cost_time_figure({"a": 2e9, "b": 4e9}, {"a": 0.1, "b": 0.25}, image_size=32, batch_size=8)
    points = sorted(tuple(line.get_xydata()[0]) for line in figure.axes[0].lines)
    assert points == [(2.0, 100.0), (4.0, 250.0)]
    assert "batch 8" in figure.axes[0].get_ylabel() and "32px" in figure.axes[0].get_xlabel()
    with pytest.raises(ValueError, match="same networks"):
        cost_time_figure({"a": 1.0}, {"b": 1.0}, image_size=32, batch_size=8)


def test_stage_costs_figure_stacks_the_stages():
    per_stage = {18: {"conv1": (1e9, 2e6), "conv2_x": (3e9, 4e6)}, 50: {"conv1": (2e9, 1e6), "conv2_x": (2e9, 8e6)}}
    macs, params = stage_costs_figure(per_stage, paper_flops={18: 4e9}).axes
    assert _heights(macs) == pytest.approx([1, 2, 3, 2])
    assert [p.get_y() for p in macs.patches] == pytest.approx([0, 0, 1, 2])  # conv2_x stacked on conv1
    assert _heights(params) == pytest.approx([2, 1, 4, 8])
    assert macs.lines[0].get_ydata()[0] == pytest.approx(4.0)  # Table 1's mark


def test_per_class_ap_figure_draws_percent_and_nan_as_zero():
    figure = per_class_ap_figure([0.5, np.nan, 0.25], ["a", "b", "c"], mean_ap=0.375, chance=0.1)
    axis = figure.axes[0]
    assert _heights(axis) == pytest.approx([50, 0, 25])
    assert sorted(line.get_ydata()[0] for line in axis.lines) == pytest.approx([10, 37.5])
    with pytest.raises(ValueError, match="one AP per class"):
        per_class_ap_figure([0.5], ["a", "b"], mean_ap=0.5)


def test_every_chapter_figure_fits_the_page_width():
    """Rendered as show_figure renders them (100 dpi, tight), none is wider than the text column."""
    import io

    import PIL.Image

    from resnet_lib.plots import PAGE_WIDTH

    stats = types.SimpleNamespace(images_per_class={"cat": 3, "dog": 7}, single_label_images_per_class={"cat": 1, "dog": 6},
                                  classes_per_image=np.array([1, 2]), box_relative_areas=np.array([0.1, 0.5]))
    classes = [f"class{i}" for i in range(20)]
    per_stage = {d: {s: (1e9, 1e6) for s in ("conv1", "conv2_x", "conv3_x", "conv4_x", "conv5_x", "fc")}
                 for d in (18, 34, 50, 101, 152)}
    figures = {
        "voc_statistics_figure": voc_statistics_figure(stats),
        "cost_time_figure": cost_time_figure({"ResNet-18": 1e9, "ResNet-152": 11e9}, {"ResNet-18": 0.1, "ResNet-152": 0.9},
                                             image_size=96, batch_size=8),
        "stage_costs_figure": stage_costs_figure(per_stage, paper_flops={18: 1.8e9, 152: 11.3e9}),
        "per_class_ap_figure": per_class_ap_figure(np.linspace(0, 1, 20), classes, mean_ap=0.5, chance=0.1),
    }
    for name, figure in figures.items():
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
        width = PIL.Image.open(buffer).size[0]
        assert width <= 100 * PAGE_WIDTH + 2, f"{name}: {width} px, wider than the page"
