"""Run-directory states the tests put a run in, as a kill would leave it."""

import json


def interrupt_after(run_dir, epoch):
    """Put ``run_dir`` in the state a kill just after epoch ``epoch``'s commit leaves: later
    history rows, checkpoints, best record and final.json gone."""
    lines = (run_dir / "history.csv").read_text().splitlines()
    (run_dir / "history.csv").write_text("\n".join(lines[: epoch + 1]) + "\n")
    for path in (run_dir / "checkpoints").glob("epoch_*.keras"):
        if int(path.stem.split("_")[1]) > epoch:
            path.unlink()
    (run_dir / "final.json").unlink(missing_ok=True)
    if json.loads((run_dir / "best.json").read_text())["epoch"] > epoch:
        (run_dir / "best.json").unlink()
        (run_dir / "best.weights.h5").unlink()
