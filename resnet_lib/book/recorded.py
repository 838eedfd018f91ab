"""The recorded CIFAR-10 runs, shown beside a chapter's live run.

Two records ship with the package. ``resnet_lib/records/fig6-cpu`` (``python -m
resnet_lib.reproduce fig6``, ``resnet_lib.fig6``): plain-20/56 and ResNet-20/56 trained on a
CPU with the paper's recipe for a few epochs, with Fig. 7 and the lesion study computed from the
trained nets (``fig6_label``, ``show_fig6``, ``fig6_claims``, ``recorded_fig7``,
``recorded_lesion``, ``fig6_table6_rows``).

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

__all__ = ["recorded_label", "recorded_table6", "show_recorded_table6", "show_recorded_curves", "fig6_label",
           "fig6_provenance", "fig6_claims", "show_fig6", "recorded_fig7", "recorded_lesion", "fig6_table6_rows"]

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


# ---------------------------------------------------------------------- Fig. 6 on a CPU
FIG6_COMMAND = "python -m resnet_lib.reproduce fig6 --data-source PATH"


def _fig6_dir(records=None) -> Path:
    from resnet_lib.fig6 import RECORDS

    return Path(records) if records is not None else RECORDS


def fig6_provenance(records=None) -> dict | None:
    """The Fig. 6 record's provenance.json, or None when this copy holds no record."""
    path = _fig6_dir(records) / "provenance.json"
    return json.loads(path.read_text()) if path.exists() else None


def fig6_label(records=None) -> str | None:
    """ "recorded on <CPU>, <cores> cores, <date>, commit <sha>, <dataset>, N epochs = x% of the
    paper's schedule", or None without a record."""
    p = fig6_provenance(records)
    if p is None:
        return None
    smoke = " (smoke run: not a result)" if p.get("smoke") else ""
    return (f"recorded on {p['cpu']['model']}, {p['cpu']['cores']} cores, {p['date']}, commit "
            f"{str(p['trained_at'].get('commit', p['commit']))[:10]}, {p['dataset']['name']}, "
            f"{p['epochs']} epochs = {100 * p['fraction_of_paper_schedule']:.1f}% of the paper's "
            f"schedule{smoke}")


def _fig6_histories(records=None) -> dict:
    from resnet_lib.metrics import read_history
    from resnet_lib.reproduce import read_records

    return {net: read_history(r["history"]) for net, r in read_records(_fig6_dir(records)).items()
            if r["history"] is not None}


def fig6_claims(records=None, *, chance: float = 0.9) -> dict:
    """What the record shows, computed from it: each of Fig. 6's claims as a bool, with the
    numbers, and the sentence about ResNet-56 against ResNet-20 in the words its numbers allow."""
    h = _fig6_histories(records)
    last = {net: {k: float(v[-1]) for k, v in hist.items() if k in ("train_error", "test_error")}
            for net, hist in h.items()}
    claims = {"last": last, "epochs": len(h["plain56"]["train_error"])}
    claims["plain56_trained"] = last["plain56"]["train_error"] <= chance - 0.25
    claims["plain56_above_plain20_every_epoch"] = bool(
        (h["plain56"]["train_error"] > h["plain20"]["train_error"]).all())
    claims["resnet56_below_plain56"] = all(last["resnet56"][k] < last["plain56"][k]
                                           for k in ("train_error", "test_error"))
    claims["resnet20_learned"] = last["resnet20"]["test_error"] <= chance - 0.45
    deeper = last["resnet56"]["test_error"] <= last["resnet20"]["test_error"]
    claims["resnet56_at_or_below_resnet20"] = deeper
    r20, r56 = 100 * last["resnet20"]["test_error"], 100 * last["resnet56"]["test_error"]
    claims["resnet_depth_sentence"] = (
        f"ResNet-56 ends at {r56:.2f}% test error, at or below ResNet-20's {r20:.2f}%: the deeper "
        "ResNet is the better one, as in the paper's Table 6." if deeper else
        f"ResNet-56 ends at {r56:.2f}% test error, above ResNet-20's {r20:.2f}%: at "
        f"{claims['epochs']} epochs the deeper ResNet has not yet overtaken the shallower one, so "
        "this record does not show the paper's Table 6 order of the ResNets.")
    return claims


def _nothing_recorded_fig6(what: str) -> None:
    show_markdown(f"**Recorded on CIFAR-10: nothing yet.** This copy of the library holds no Fig. 6 "
                  f"record, so {what} cannot be shown. `{FIG6_COMMAND}` trains the four nets on a CPU "
                  f"and writes it (`resnet_lib/records/fig6-cpu`).")


def show_fig6(records=None) -> dict | None:
    """Fig. 6 from the record: plain nets (left) and ResNets (right), training error bold and
    test error dashed, labelled with the record's provenance. Returns ``fig6_claims``."""
    from resnet_lib.plots import fig6_figure

    h = _fig6_histories(records)
    if not {"plain20", "plain56", "resnet20", "resnet56"} <= set(h):
        _nothing_recorded_fig6("Fig. 6")
        return None
    dataset = fig6_provenance(records)["dataset"]["name"]
    figure = fig6_figure({_pretty(n): h[n] for n in ("plain20", "plain56")},
                         {_pretty(n): h[n] for n in ("resnet20", "resnet56")},
                         title=f"Fig. 6 on {dataset}, recorded")
    show_markdown(f"*Fig. 6, {fig6_label(records)}. Bold: training error; dashed: test error.*")
    show_figure(figure)
    return fig6_claims(records)


def recorded_fig7(records=None):
    """Fig. 7's responses of the recorded nets (``analysis.responses.LayerResponses``), or None."""
    import numpy as np

    from resnet_lib.analysis.responses import LayerResponses

    path = _fig6_dir(records) / "fig7.json"
    if not path.exists():
        return None
    nets = json.loads(path.read_text())["nets"]
    return {net: LayerResponses(_pretty(net), tuple(r["layers"]), np.array(r["std"])) for net, r in nets.items()}


def recorded_lesion(records=None):
    """The lesion study of the recorded ResNet-56 and plain-56 (``LesionResult`` by net), or None."""
    from resnet_lib.analysis.lesion_study import LesionResult

    path = _fig6_dir(records) / "lesion.json"
    if not path.exists():
        return None
    payload = json.loads(path.read_text())
    results = {net: LesionResult.from_json(r, label=_pretty(net)) for net, r in payload["nets"].items()}
    return results, payload["images"]


def fig6_table6_rows(records=None) -> list[dict] | None:
    """Table 6's rows of the Fig. 6 record (``reproduce.table6_rows``: the paper, the public
    rerun and the record, in %) for the depths with a ResNet recorded; None without a record."""
    from resnet_lib.reproduce import table6_rows

    if not _fig6_dir(records).exists():
        return None
    rows = [r for r in table6_rows(_fig6_dir(records)) if r["resnet_final_test_error"] is not None]
    return rows or None
