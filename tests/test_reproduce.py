"""python -m resnet_lib.reproduce table6: records from run directories, the book's table from them.

Paper-scale runs need a GPU; here the records are written from small run directories made by
hand, and (with the shared data folder) a --smoke run goes through the real command: children,
time limit, resume, records.
"""

import csv
import json

import pytest

from resnet_lib import reproduce
from resnet_lib.book import recorded
from resnet_lib.reference import TABLE6

pytestmark = pytest.mark.one_backend

FIELDS = ["epoch", "iteration", "lr", "loss", "train_error", "val_error", "test_error",
          "train_seconds", "seconds"]


def _run_dir(root, net, rows, *, epochs=182):
    run = root / net
    run.mkdir(parents=True)
    with open(run / "history.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=FIELDS)
        writer.writeheader()
        for i, (train, val, test) in enumerate(rows, 1):
            writer.writerow({"epoch": i, "iteration": 352 * i, "lr": 0.1, "loss": 1.0,
                             "train_error": train, "val_error": val, "test_error": test,
                             "train_seconds": 2.0, "seconds": 2.5})
    config = {"config": {"epochs": epochs, "batch_size": 128},
              "runtime": {"dtype_policy": "mixed_bfloat16", "jit_compile": True, "backend": "jax",
                          "data": {"source": "cifar10-jpeg.tar.gz", "form": "image-tree-archive",
                                   "sha256": "ab" * 32, "train_images": 50000,
                                   "test_images": 10000, "dropped": []}}}
    (run / "config.json").write_text(json.dumps(config))


def test_records_and_table6_are_computed_from_the_runs(tmp_path):
    runs, out = tmp_path / "runs", tmp_path / "records"
    _run_dir(runs, "resnet20", [(0.5, 0.4, 0.41), (0.2, 0.10, 0.12), (0.1, 0.11, 0.09)], epochs=3)
    _run_dir(runs, "plain20", [(0.6, 0.5, 0.5), (0.3, 0.2, 0.21)], epochs=3)
    result = reproduce.write_records(nets=["resnet20", "plain20"], runs=runs, out=out,
                                     commit="abc123def4")
    s = result["nets"]["resnet20"]
    assert s["complete"] and s["epochs_done"] == 3 and s["iterations"] == 1056
    assert s["final_test_error"] == 0.09 and s["best_epoch"] == 2
    assert s["best_val_test_error"] == 0.12  # chosen on validation, not on test
    assert s["train_images_per_second"] == pytest.approx(352 * 128 / 2.0)
    assert not result["nets"]["plain20"]["complete"]
    (row,) = json.loads((out / "table6.json").read_text())
    assert row["paper_test_error"] == TABLE6[20].value["test_error"] == 8.75
    assert row["resnet_final_test_error"] == 9.0 and row["resnet_best_val_test_error"] == 12.0
    assert row["plain_final_train_error"] == 30.0 and row["plain_epochs"] == "2/3"
    assert not row["complete"]
    provenance = json.loads((out / "provenance.json").read_text())
    assert provenance["commit"] == "abc123def4" and provenance["dataset"]["sha256"] == "ab" * 32
    assert (out / "resnet20" / "history.csv").read_text() == (runs / "resnet20" / "history.csv").read_text()


def test_the_book_shows_the_table_computed_from_the_committed_records(tmp_path, capsys):
    runs, out = tmp_path / "runs", tmp_path / "records"
    _run_dir(runs, "resnet56", [(0.3, 0.2, 0.2), (0.05, 0.07, 0.0703)])
    reproduce.write_records(nets=["resnet56"], runs=runs, out=out, commit="0123456789abc")
    shown = recorded.show_recorded_table6(out)
    assert shown == reproduce.table6_rows(out)
    text = capsys.readouterr().out
    assert "7.03%" in text and "6.97%" in text and "commit 0123456789" in text
    assert recorded.show_recorded_curves(out) is not None


def test_the_book_says_plainly_when_nothing_is_recorded(tmp_path, capsys):
    assert recorded.show_recorded_table6(tmp_path / "none") is None
    assert recorded.show_recorded_curves(tmp_path / "none") is None
    text = capsys.readouterr().out
    assert "Table 6 cannot be shown" in text and "curves (Fig. 6) cannot be shown" in text
    assert "nothing yet" in text and "python -m resnet_lib.reproduce table6" in text


def test_the_committed_records_if_any_match_their_histories():
    """Whatever is committed under resnet_lib/records/table6 was computed from its histories."""
    if not (reproduce.RECORDS / "table6.json").exists():
        pytest.skip("no paper-scale records are committed yet")
    committed = json.loads((reproduce.RECORDS / "table6.json").read_text())
    assert committed == json.loads(json.dumps(reproduce.table6_rows(reproduce.RECORDS)))
    for net, record in reproduce.read_records(reproduce.RECORDS).items():
        with open(record["history"], newline="") as f:
            rows = list(csv.DictReader(f))
        assert record["summary"]["epochs_done"] == len(rows), net


def test_depths_must_be_6n_plus_2():
    assert reproduce.table6_nets([20, 56], plain=True) == ["resnet20", "resnet56", "plain20", "plain56"]
    with pytest.raises(ValueError, match="6n\\+2"):
        reproduce.table6_nets([21], plain=False)


@pytest.mark.slow
def test_smoke_run_stops_at_the_time_limit_and_resumes(tmp_path):
    from real_data import shared_data

    archive = shared_data("cifar10-jpeg.tar.gz")
    options = dict(depths=[8], plain=False, out=tmp_path / "records", runs=tmp_path / "runs",
                   data_source=archive, parallel=1, smoke=True, steps_per_execution=1)
    first = reproduce.run_table6(time_limit=5, **options)  # killed while loading the data
    assert not first["nets"]["resnet8"]["complete"]
    done = reproduce.run_table6(**options)
    assert done["nets"]["resnet8"]["complete"] and done["nets"]["resnet8"]["returncode"] == 0
    assert json.loads((tmp_path / "records" / "provenance.json").read_text())["smoke"] is True
