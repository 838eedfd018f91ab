"""Figures of the book, each a function that returns a ``matplotlib.figure.Figure``.

- ``training_curves``: error vs epochs or iterations in the paper's style (He et al. 2015,
  Fig. 1, 4, 6: "dashed lines denote test error, and bold lines denote training error").
- ``fig6_figure``: He et al. 2015, Fig. 6: plain nets and ResNets side by side.
- ``table1_figure``: Table 1 (architectures, FLOPs) from ``resnet_lib.complexity.table1()``.
- ``lesion_figure``: Veit et al. 2016, Fig. 3 and 5 (delete one block, k blocks, swap k pairs).
- ``response_std_figure``: He et al. 2015, Fig. 7 (std of layer responses, also sorted).
- ``gradient_norm_figure``, ``gradient_history_figure``: per-layer gradient norms.
- ``path_length_figure``: Veit et al. 2016, Fig. 6a (binomial path lengths).
- ``voc_statistics_figure``: images per class, classes per image and box sizes of a VOC split
  (``resnet_lib.data.voc.stats.split_statistics``).
- ``cost_time_figure``: multiply-adds counted against training-step time measured (Section 4.1).
- ``stage_costs_figure``: multiply-adds and parameters per stage of each depth (Table 1).
- ``per_class_ap_figure``: VOC average precision per class, with the mAP and a chance line.

Figures are built with the object-oriented API (``Figure()``, no ``pyplot``): nothing is
shown or kept in global state, and they work on the Agg backend, in scripts and in notebooks
(a Jupyter cell displays a returned Figure). Inputs are plain arrays and the result objects of
``resnet_lib.analysis``; this module imports neither Keras nor the training code.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

__all__ = [
    "PAGE_WIDTH",
    "FIGURE_WIDTH",
    "training_curves",
    "fig6_figure",
    "table1_figure",
    "lesion_figure",
    "response_std_figure",
    "gradient_norm_figure",
    "gradient_history_figure",
    "path_length_figure",
    "voc_statistics_figure",
    "cost_time_figure",
    "stage_costs_figure",
    "per_class_ap_figure",
]

# Every figure fits the book's text column: at ``show_figure``'s 100 dpi, 6.8 inches are 680 px,
# so a figure is shown at its own size, never shrunk (labels stay readable). Panels that would
# not fit side by side are stacked; legends sit below the axes, not over the curves.
PAGE_WIDTH = 6.8
FIGURE_WIDTH = PAGE_WIDTH - 0.2  # show_figure's tight bounding box pads 0.1 inch on each side

# Keys tried, in order, for each curve. Errors and accuracies are fractions in [0, 1].
TRAIN_KEYS = (("train_error", False), ("error", False), ("accuracy", True))
TEST_KEYS = (
    ("test_error", False),
    ("val_error", False),
    ("test_accuracy", True),
    ("val_accuracy", True),
)


def _legend_below(figure, handles, labels, **options):
    """One legend under the axes, in as many columns as fit the page (about 6 px per character)."""
    widest = max(len(label) for label in labels) * 6.0 + 45  # text plus the line sample, in px
    ncols = max(1, min(len(labels), int(100 * FIGURE_WIDTH // widest)))
    return figure.legend(handles, labels, loc="outside lower center", ncols=ncols, fontsize="small", **options)


def _error_percent(history, keys, label, argument):
    for key, is_accuracy in keys:
        if key in history:
            values = np.asarray(history[key], dtype=float)
            return key, 100 * (1 - values if is_accuracy else values)
    if argument is None:
        return None, None
    raise ValueError(
        f"{argument}: run {label!r} has none of the keys {[k for k, _ in keys]}; "
        f"it has {list(history)}."
    )


def training_curves(
    runs: Mapping[str, Mapping],
    *,
    iterations_per_epoch: int | None = None,
    split: bool = False,
    ylim: tuple | None = (0, 20),
    title: str | None = None,
) -> Figure:
    """Training (bold) and test (thin, dashed) error in %, one colour per run.

    Args:
        runs: ``{"plain-20": history, "plain-56": history, ...}``; a history is a dict of
            arrays (or a DataFrame) with an error column per curve: ``train_error`` /
            ``error`` / ``accuracy`` for training, ``test_error`` / ``val_error`` /
            ``test_accuracy`` / ``val_accuracy`` for the dashed curve (the first one found;
            the legend names it). Values are fractions. ``epoch`` (0- or 1-based epochs
            completed) is the x axis if present, else 1..N.
        iterations_per_epoch: plot against iterations (in units of 1e4, as the paper does)
            instead of epochs.
        split: two panels, training error left and test error right (Fig. 1); otherwise
            both on one axis (Fig. 6).
        ylim: error range in % (the paper's CIFAR plots use 0-20); ``None`` for automatic.
    """
    if not runs:
        raise ValueError("runs: expected at least one {label: history}, got none.")
    figure = Figure(figsize=(FIGURE_WIDTH, 3.9) if split else (FIGURE_WIDTH, 4.6), layout="constrained")
    axes = figure.subplots(1, 2, sharey=True) if split else [figure.subplots()]
    colors = [f"C{i}" for i in range(10)]
    for i, (label, history) in enumerate(runs.items()):
        _, train = _error_percent(history, TRAIN_KEYS, label, "runs")
        test_key, test = _error_percent(history, TEST_KEYS, label, None)
        epochs = (
            np.asarray(history["epoch"], float) if "epoch" in history
            else np.arange(1, len(train) + 1, dtype=float)
        )
        if epochs.size and epochs[0] == 0:  # 0-based epoch index: plot epochs completed
            epochs = epochs + 1
        x = epochs * iterations_per_epoch / 1e4 if iterations_per_epoch else epochs
        color = colors[i % len(colors)]
        axes[0].plot(x, train, color=color, linewidth=2.2, label=label)
        if test is not None:
            test_axis = axes[1] if split else axes[0]
            test_name = "test" if test_key.startswith("test") else "val"
            test_axis.plot(
                x, test, color=color, linewidth=0.9, linestyle="--",
                label=f"{label} ({test_name})" if not split else label,
            )
    for axis in axes:
        axis.set_xlabel("iter. (1e4)" if iterations_per_epoch else "epoch")
        if not iterations_per_epoch:  # epochs are whole numbers
            axis.xaxis.set_major_locator(MaxNLocator(integer=True))
        if ylim is not None:
            axis.set_ylim(*ylim)
        axis.grid(alpha=0.3)
    # one legend, below the axes, so that it never covers a curve (Fig. 6's legend sits outside)
    handles, labels = axes[0].get_legend_handles_labels()
    if handles:  # split panels lose the line styles' meaning from the labels: the title gives it
        key = {"title": "bold: training error; dashed: test error", "title_fontsize": "small"} if split else {}
        _legend_below(figure, handles, labels, **key)
    axes[0].set_ylabel("error (%)")
    if split:
        axes[0].set_title("training error")
        axes[1].set_title("test error")
    if title:
        figure.suptitle(title)
    return figure


def fig6_figure(plain: Mapping[str, Mapping], residual: Mapping[str, Mapping], *,
                title: str | None = None, ylim: tuple | None = None) -> Figure:
    """Fig. 6 (left and middle) as the paper draws it: plain nets in one panel, ResNets in the
    other, training error bold and test error dashed, one colour per depth, by epoch.

    ``plain``, ``residual``: ``{"plain-20": history, ...}`` as ``training_curves`` takes them.
    The y range is shared and, by default, fits every curve (a short run does not reach the
    paper's 0-20%).
    """
    if not plain or not residual:
        raise ValueError("fig6_figure: expected plain and residual histories, got "
                         f"{len(plain)} and {len(residual)}")
    figure = Figure(figsize=(FIGURE_WIDTH, 3.9), layout="constrained")
    axes = figure.subplots(1, 2, sharey=True)
    top = 0.0
    for axis, runs, name in ((axes[0], plain, "plain"), (axes[1], residual, "ResNet")):
        for i, (label, history) in enumerate(runs.items()):
            _, train = _error_percent(history, TRAIN_KEYS, label, name)
            _, test = _error_percent(history, TEST_KEYS, label, None)
            x = np.arange(1, len(train) + 1)
            axis.plot(x, train, color=f"C{i}", linewidth=2.2, label=f"{label} (train)")
            if test is not None:
                axis.plot(x, test, color=f"C{i}", linewidth=0.9, linestyle="--", label=f"{label} (test)")
                top = max(top, float(np.max(test)))
            top = max(top, float(np.max(train)))
        axis.set(xlabel="epoch", title=f"{name} nets")
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))
        axis.grid(alpha=0.3)
        axis.legend(fontsize="small")
    axes[0].set_ylabel("error (%)")
    axes[0].set_ylim(*(ylim or (0, min(100.0, 5 * np.ceil(top / 5) + 5))))
    if title:
        figure.suptitle(title, fontsize="medium")
    return figure


def table1_figure(columns: Sequence) -> Figure:
    """Table 1 of the paper drawn as a figure, from ``resnet_lib.complexity.table1()``.

    Rows are stages (``conv1``, ``conv2_x`` .. ``conv5_x``) with the output size and each
    depth's layers, then this code's multiply-adds, the paper's FLOPs and the parameters.
    """
    if not columns:
        raise ValueError("columns: expected the list returned by complexity.table1(), got none.")
    stages = list(columns[0].stage_output_sizes)
    header = ["layer name", "output\nsize"] + [f"{c.depth}-layer" for c in columns]

    def wrap(text):  # short lines, so that five depth columns fit the page
        return text.replace("; ", "\n").replace(", stride", ",\nstride")

    rows = []
    for stage in stages:
        size = "x".join(str(s) for s in columns[0].stage_output_sizes[stage])
        rows.append([stage, size] + [wrap(c.stage_layers[stage]) for c in columns])
    rows.append(["", "1x1", *["average pool,\n1000-d fc,\nsoftmax"] * len(columns)])
    rows.append(["FLOPs\n(this code)", ""] + [f"{c.multiply_adds / 1e9:.2f}e9" for c in columns])
    rows.append(["FLOPs\n(paper)", ""] + [f"{c.paper_flops / 1e9:.1f}e9" for c in columns])
    rows.append(["parameters", ""] + [f"{c.parameters / 1e6:.1f}M" for c in columns])

    lines = [max(cell.count("\n") + 1 for cell in row) for row in [header] + rows]
    width = min(FIGURE_WIDTH, 1.5 + 1.0 * len(columns))
    figure = Figure(figsize=(width, 0.2 + 0.17 * sum(lines)))
    axis = figure.add_axes((0, 0, 1, 1))  # the table fills the figure
    axis.axis("off")
    first = (0.15, 0.11)  # "layer name" and "output size", as fractions of the width
    depth_width = (1 - sum(first)) / len(columns)
    table = axis.table(cellText=rows, colLabels=header, cellLoc="center", bbox=[0, 0, 1, 1],
                       colWidths=[*first, *[depth_width] * len(columns)])
    table.auto_set_font_size(False)
    table.set_fontsize(7.5)
    unit = 1.0 / sum(lines)
    for (row, _), cell in table.get_celld().items():
        cell.set_height(unit * lines[row])
        if row == 0:
            cell.set_text_props(weight="bold")
    return figure


def _as_list(results):
    return list(results.values()) if isinstance(results, Mapping) else list(results)


def lesion_figure(results) -> Figure:
    """Veit et al.'s lesion plots from ``analysis.lesion_study.lesion_study``'s results (ResNet vs plain).

    Left: test error with each single block deleted (dotted: the intact network; blocks a
    plain net cannot lose are left out). Middle: error vs number of random blocks deleted.
    Right: error vs number of random pairs swapped. Means over trials, bars one std.
    """
    results = _as_list(results)
    figure = Figure(figsize=(FIGURE_WIDTH, 6.6), layout="constrained")
    panels = figure.subplot_mosaic([["single", "single"], ["deleted", "swapped"]])
    single, deleted, swapped = panels["single"], panels["deleted"], panels["swapped"]
    for i, r in enumerate(results):
        color = f"C{i}"
        index = np.arange(1, len(r.block_names) + 1)
        ok = np.isfinite(r.single_block_error)
        single.plot(index[ok], 100 * r.single_block_error[ok], "o-", color=color,
                    markersize=3, label=r.label)
        single.axhline(100 * r.baseline_error, color=color, linestyle=":", linewidth=1)
        for axis, counts, errors in (
            (deleted, r.deleted_counts, r.deleted_error),
            (swapped, r.swapped_counts, r.swapped_error),
        ):
            if len(counts):
                x = np.concatenate([[0], counts])
                mean = np.concatenate([[r.baseline_error], errors.mean(1)])
                std = np.concatenate([[0.0], errors.std(1)])
                axis.errorbar(x, 100 * mean, yerr=100 * std, fmt="o-", color=color,
                              capsize=3, markersize=4, label=r.label)
    single.set(xlabel="block deleted (data-flow order)", ylabel="test error (%)",
               title="deleting one block")
    deleted.set(xlabel="number of blocks deleted", ylabel="test error (%)",
                title="deleting random blocks")
    swapped.set(xlabel="number of pairs swapped", ylabel="test error (%)",
                title="swapping random pairs")
    for axis in (single, deleted, swapped):
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))
        axis.grid(alpha=0.3)
    if single.get_legend_handles_labels()[0]:
        single.legend(fontsize="small")
    return figure


def response_std_figure(responses) -> Figure:
    """Fig. 7: std of layer responses by layer index (top) and sorted by magnitude (bottom)."""
    responses = _as_list(responses)
    figure = Figure(figsize=(FIGURE_WIDTH, 6), layout="constrained")
    original, ordered = figure.subplots(2, 1)
    # nets whose responses nearly coincide stay apart: each has its own dash and marker too
    styles = [("-", "o"), ("--", "s"), ("-.", "^"), (":", "D")]
    for i, r in enumerate(responses):
        index = np.arange(1, len(r.std) + 1)
        dash, marker = styles[i % len(styles)]
        style = dict(linestyle=dash, marker=marker, markersize=3.5, markevery=max(1, len(index) // 12),
                     color=f"C{i}", linewidth=1.2, label=r.model_name)
        original.plot(index, r.std, **style)
        ordered.plot(index, r.sorted(), **style)
    original.set(xlabel="layer index (original)", ylabel="std")
    ordered.set(xlabel="layer index (sorted by magnitude)", ylabel="std")
    for axis in (original, ordered):
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))
        axis.grid(alpha=0.3)
        axis.legend(fontsize="small")
    return figure


def gradient_norm_figure(norms, *, relative: bool = False, log: bool = True) -> Figure:
    """Gradient norm of each conv kernel vs layer index, one line per network.

    ``norms``: ``GradientNorms`` results (a list, or a dict of them). ``relative`` divides
    by the kernel's norm (how far one SGD step moves the layer).
    """
    norms = _as_list(norms)
    figure = Figure(figsize=(FIGURE_WIDTH, 4), layout="constrained")
    axis = figure.subplots()
    for i, n in enumerate(norms):
        values = n.gradient_norm / n.weight_norm if relative else n.gradient_norm
        axis.plot(np.arange(1, len(values) + 1), values, "o-", color=f"C{i}",
                  markersize=3, linewidth=1, label=n.model_name)
    axis.xaxis.set_major_locator(MaxNLocator(integer=True))
    if log:
        axis.set_yscale("log")
    axis.set(xlabel="conv layer (data-flow order)",
             ylabel="||dL/dW|| / ||W||" if relative else "||dL/dW||")
    axis.grid(alpha=0.3, which="both")
    axis.legend(fontsize="small")
    return figure


def gradient_history_figure(history, *, title: str | None = None) -> Figure:
    """Gradient norms during training as a heat map, conv layers by epochs (log colour).

    ``history``: a ``GradientNormHistory`` callback after ``fit`` (or anything with
    ``epochs``, ``layer_names`` and a ``gradient_norm`` array of shape (epochs, layers)).
    """
    values = np.asarray(history.gradient_norm, dtype=float)
    if values.ndim != 2 or values.shape[0] == 0:
        raise ValueError(
            f"history: expected gradient_norm of shape (epochs, layers), got {values.shape}."
        )
    figure = Figure(figsize=(FIGURE_WIDTH, 4.5), layout="constrained")
    axis = figure.subplots()
    positive = values[values > 0]
    image = axis.imshow(
        values.T, aspect="auto", origin="lower", interpolation="nearest",
        norm=LogNorm(positive.min(), positive.max()) if positive.size else None,
    )
    epochs = list(history.epochs)
    axis.set_xticks(range(len(epochs)), ["init" if e < 0 else str(e + 1) for e in epochs])
    axis.set(xlabel="epoch", ylabel="conv layer (data-flow order)")
    figure.colorbar(image, ax=axis, label="||dL/dW||")
    if title:
        axis.set_title(title)
    return figure


def path_length_figure(num_blocks: int, *, gradient_per_path=None) -> Figure:
    """Veit Fig. 6a: share of the 2^n paths through k residual branches; with
    ``gradient_per_path`` (one magnitude per length), also the share of the gradient (6c)."""
    from resnet_lib.analysis.paths import effective_path_distribution, path_length_distribution

    paths = path_length_distribution(num_blocks)
    figure = Figure(figsize=(FIGURE_WIDTH, 4), layout="constrained")
    axis = figure.subplots()
    axis.bar(paths.lengths, paths.fraction, width=0.8, color="C0", alpha=0.7,
             label=f"paths ({num_blocks} blocks, 2^{num_blocks} in all)")
    if gradient_per_path is not None:
        shares = effective_path_distribution(num_blocks, gradient_per_path)
        axis.plot(paths.lengths, shares, "o-", color="C3", markersize=3,
                  label="share of total gradient")
    axis.set(xlabel="path length (residual branches on the path)", ylabel="fraction")
    axis.grid(alpha=0.3)
    axis.legend(fontsize="small")
    return figure


def voc_statistics_figure(stats) -> Figure:
    """Three panels of a VOC split: images per class, classes per image, box sizes.

    ``stats`` is ``resnet_lib.data.voc.stats.split_statistics(records)``. The first panel puts
    the images that hold a class beside those whose *largest* object is of that class (what
    one folder per image keeps), classes sorted by frequency.
    """
    figure = Figure(figsize=(FIGURE_WIDTH, 6.6), layout="constrained")
    panels = figure.subplot_mosaic([["per_class", "per_class"], ["per_image", "areas"]])
    per_class, per_image, areas = panels["per_class"], panels["per_image"], panels["areas"]
    order = sorted(stats.images_per_class, key=lambda c: -stats.images_per_class[c])
    per_class.bar(order, [stats.images_per_class[c] for c in order], color="C0", label="holds the class")
    per_class.bar(order, [stats.single_label_images_per_class[c] for c in order], color="C1", alpha=0.8,
                  label="its largest object (one folder per image)")
    per_class.tick_params(axis="x", rotation=70)
    per_class.set(ylabel="images", title="images per class")
    per_class.legend(fontsize="small")
    classes, counts = np.unique(np.asarray(stats.classes_per_image), return_counts=True)
    per_image.bar(classes, counts, color="C2")
    per_image.set(xlabel="classes in the image", ylabel="images", title="labels per image")
    per_image.xaxis.set_major_locator(MaxNLocator(integer=True))
    areas.hist(np.asarray(stats.box_relative_areas), bins=30, color="C3")
    areas.set(xlabel="box area / image area", ylabel="objects", title="box sizes")
    return figure


def cost_time_figure(multiply_adds: Mapping[str, float], seconds: Mapping[str, float], *,
                     image_size: int, batch_size: int) -> Figure:
    """Each network's multiply-adds per image (x, 1e9) against its median training step (y, ms).

    ``multiply_adds`` and ``seconds`` are keyed by the same network names (e.g. from
    ``resnet_lib.complexity.multiply_adds`` and ``resnet_lib.benchmarks.compare_step_times``).
    """
    if set(multiply_adds) != set(seconds):
        raise ValueError(f"multiply_adds and seconds: expected the same networks, got "
                         f"{sorted(multiply_adds)} and {sorted(seconds)}")
    figure = Figure(figsize=(5.5, 3.8), layout="constrained")
    axis = figure.subplots()
    for name, s in seconds.items():
        axis.plot(multiply_adds[name] / 1e9, 1000 * s, "o", markersize=8)
        axis.annotate(name, (multiply_adds[name] / 1e9, 1000 * s), textcoords="offset points", xytext=(6, -3))
    axis.set(xlabel=f"multiply-adds per image at {image_size}px (1e9)",
             ylabel=f"median training step (ms, batch {batch_size})",
             title="cost counted vs time measured (this run)")
    axis.grid(alpha=0.3)
    return figure


def stage_costs_figure(per_stage: Mapping[int, Mapping[str, Sequence[float]]], *,
                       paper_flops: Mapping[int, float] | None = None) -> Figure:
    """Multiply-adds (left) and parameters (right) per stage, stacked, one bar per depth.

    ``per_stage[depth][stage] = (multiply_adds, parameters)``, e.g. from
    ``resnet_lib.complexity.stage_costs(model)``; ``paper_flops[depth]`` (Table 1) is marked
    on the left panel where given.
    """
    depths = list(per_stage)
    if not depths:
        raise ValueError("per_stage: expected {depth: {stage: (multiply_adds, parameters)}}, got none")
    stages = list(per_stage[depths[0]])
    labels = [str(d) for d in depths]
    figure = Figure(figsize=(FIGURE_WIDTH, 4.0), layout="constrained")
    for index, axis in enumerate(figure.subplots(1, 2)):
        scale = 1e9 if index == 0 else 1e6
        bottom = np.zeros(len(depths))
        for k, stage in enumerate(stages):
            values = np.array([per_stage[d][stage][index] for d in depths], float) / scale
            axis.bar(labels, values, bottom=bottom, label=stage, color=f"C{k}")
            bottom += values
        if index == 0 and paper_flops:
            marked = [d for d in depths if d in paper_flops]
            axis.plot([str(d) for d in marked], [paper_flops[d] / 1e9 for d in marked], "k_",
                      markersize=30, markeredgewidth=2, label="Table 1 (cited)")
        axis.set(xlabel="depth", ylabel="multiply-adds (1e9)" if index == 0 else "parameters (1e6)",
                 title=("multiply-adds" if index == 0 else "parameters") + " by stage (this run)")
    handles, labels = axis.get_legend_handles_labels()
    _legend_below(figure, handles, labels)
    return figure


def per_class_ap_figure(per_class_ap, classes: Sequence[str], *, mean_ap: float, chance: float | None = None,
                        title: str = "average precision per class (this run)") -> Figure:
    """Average precision per class as bars (%), the mAP as a line, and a chance line if given.

    ``per_class_ap`` is a fraction per class, NaN where the test images hold no positive
    (drawn as 0, the mAP skips it); ``classes`` names them in the same order.
    """
    per_class_ap = np.asarray(per_class_ap, float)
    if per_class_ap.shape != (len(classes),):
        raise ValueError(f"per_class_ap: expected shape ({len(classes)},), one AP per class; got {per_class_ap.shape}")
    figure = Figure(figsize=(FIGURE_WIDTH, 3.8), layout="constrained")
    axis = figure.subplots()
    axis.bar(list(classes), 100 * np.nan_to_num(per_class_ap), color="C0")
    axis.axhline(100 * mean_ap, color="C3", label=f"mAP {100 * mean_ap:.1f}%")
    if chance is not None:
        axis.axhline(100 * chance, color="gray", linestyle=":", label=f"chance (mean class frequency) {100 * chance:.1f}%")
    axis.tick_params(axis="x", rotation=70)
    axis.set(ylabel="average precision (%)", title=title)
    axis.legend(fontsize="small")
    return figure
