"""The recorded paper-scale CIFAR-10 runs, shown beside a chapter's live run.

``python -m resnet_lib.reproduce table6`` writes small records (CSV, JSON) into
``resnet_lib/records/table6``; chapters Degradation, Residual learning and Training show
them, labelled with where and when they ran, next to what this run computed. Where nothing is
recorded yet, they say so plainly. Everything shown is computed from the records by
``resnet_lib.reproduce.table6_rows``; nothing here types a result.
"""

from __future__ import annotations

import json
from pathlib import Path

from resnet_lib.book.display import markdown_table, show_figure, show_markdown

__all__ = ["recorded_label", "recorded_table6", "show_recorded_table6", "show_recorded_curves"]

COMMAND = ("python -m resnet_lib.reproduce table6 --depths 20 56 --plain "
           "--data-source PATH --time-limit 540")


def _records_dir(records=None) -> Path:
    from resnet_lib.reproduce import RECORDS

    return Path(records) if records is not None else RECORDS


def recorded_label(records=None) -> str | None:
    """ "recorded on <GPU>, <date>, commit <sha>, <dataset>", or None without records."""
    path = _records_dir(records) / "provenance.json"
    if not path.exists():
        return None
    p = json.loads(path.read_text())
    gpu = ", ".join(d.split(": ", 1)[-1] for d in p.get("devices", []) if not d.startswith("cpu")) or "CPU"
    smoke = " (smoke run: not a result)" if p.get("smoke") else ""
    return (f"recorded on {gpu}, {p.get('date')}, commit {str(p.get('commit'))[:10]}, "
            f"{p.get('dataset', {}).get('name', 'CIFAR-10')}{smoke}")


def recorded_table6(records=None):
    """(rows, label) of the recorded Table 6, or (None, None) when nothing is recorded."""
    from resnet_lib.reproduce import table6_rows

    records = _records_dir(records)
    if not (records / "provenance.json").exists():
        return None, None
    return table6_rows(records), recorded_label(records)


def _nothing_recorded(what: str) -> None:
    show_markdown(
        f"**Recorded at paper scale: nothing yet.** No paper-scale CIFAR-10 run is recorded in "
        f"this copy of the library, so {what} cannot be shown here. On a GPU, "
        f"`{COMMAND}` trains them with the paper's recipe and writes the records this cell "
        f"reads (`resnet_lib/records/table6`).")


def _fmt(value, suffix="%"):
    return "–" if value is None else f"{value:.2f}{suffix}"


def show_recorded_table6(records=None, *, live: dict | None = None) -> list | None:
    """Table 6 as the paper has it beside the recorded run (and ``live``: {depth: error %}).

    Returns the rows shown (``table6_rows``), or None when nothing is recorded.
    """
    rows, label = recorded_table6(records)
    if rows is None:
        _nothing_recorded("the paper-vs-this-run Table 6")
        return None
    headers = ["depth", "paper (Table 6)", "public rerun", "recorded: last epoch",
               "recorded: best on val.", "epochs", "plain net: train error"]
    table = [[r["depth"], _fmt(r["paper_test_error"]), _fmt(r["rerun_test_error"]),
              _fmt(r["resnet_final_test_error"]), _fmt(r["resnet_best_val_test_error"]),
              r["resnet_epochs"], _fmt(r["plain_final_train_error"])] for r in rows]
    if live:
        headers.append("this run")
        for row, r in zip(table, rows):
            row.append(_fmt(live.get(r["depth"])))
    show_markdown(f"Test error of CIFAR-10 ResNets, {label}. Paper: {rows[0]['sources']['paper']}; "
                  f"public rerun: {rows[0]['sources']['rerun']}.\n\n" + markdown_table(headers, table))
    return rows


def show_recorded_curves(records=None, *, nets=None, title="Fig. 6, recorded") -> dict | None:
    """Fig. 6 from the recorded histories: training (bold) and test (dashed) error by epoch."""
    from resnet_lib.metrics import read_history
    from resnet_lib.plots import training_curves
    from resnet_lib.reproduce import read_records

    records = _records_dir(records)
    found = {net: r for net, r in read_records(records).items() if r["history"] is not None}
    if nets is not None:
        found = {net: found[net] for net in nets if net in found}
    if not found:
        _nothing_recorded("the recorded training curves (Fig. 6)")
        return None
    histories = {_pretty(net): read_history(r["history"]) for net, r in found.items()}
    figure = training_curves(histories, ylim=(0, 20), title=f"{title}: {recorded_label(records)}")
    show_figure(figure)
    return histories


def _pretty(net: str) -> str:
    return net.replace("resnet", "ResNet-").replace("plain", "plain-")
