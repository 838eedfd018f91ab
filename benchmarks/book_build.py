"""How long each chapter takes to execute in `make book`, read from the build's own log.

Jupyter Book prints "<notebook>: Executed notebook in <s> seconds" for every chapter it runs.
This script reads those lines from a saved log of `make book` and appends one run to
``benchmarks/book_build.json``, which the introduction reads (``resnet_lib.benchmarks``)
to say how long the cpu profile takes. Timings from an incremental build (where unchanged
chapters were not executed) are refused: every chapter of ``book/_toc.yml`` must appear.

    make book 2>&1 | tee /tmp/book.log
    python benchmarks/book_build.py /tmp/book.log --wall 612 --commit 17d8ca4 --machine "2-core VM"

A build whose runs were already in ``book/runs`` re-opens them instead of training: time a
fresh clone, as the figures recorded here were.
"""

from __future__ import annotations

import argparse
import datetime
import json
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
LINE = re.compile(r"(?P<path>[^\s:]+\.ipynb): Executed notebook in (?P<seconds>[\d.]+) seconds")


def chapter_times(log_text: str) -> dict[str, float]:
    """``{"02_degradation": 121.08, ...}`` from a build log; the last time wins for a repeated notebook."""
    return {pathlib.Path(m["path"]).stem: float(m["seconds"]) for m in LINE.finditer(log_text)}


def toc_chapters(toc: pathlib.Path) -> list[str]:
    """The notebooks the book's table of contents lists (``root`` and every ``file``)."""
    text = toc.read_text(encoding="utf-8")
    return re.findall(r"^root:\s*(\S+)", text, re.M) + re.findall(r"-\s*file:\s*(\S+)", text)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("log", help="a saved log of `make book`")
    parser.add_argument("--wall", type=float, required=True, help="the build's wall time in seconds")
    parser.add_argument("--commit", required=True)
    parser.add_argument("--machine", required=True, help="e.g. '2-core AMD EPYC VM, idle'")
    parser.add_argument("--profile", default="cpu")
    parser.add_argument("--json", default=str(ROOT / "benchmarks" / "book_build.json"))
    parser.add_argument("--toc", default=str(ROOT / "book" / "_toc.yml"),
                        help="the _toc.yml of the commit that was built (default: this checkout's)")
    args = parser.parse_args(argv)
    times = chapter_times(pathlib.Path(args.log).read_text(encoding="utf-8", errors="replace"))
    missing = [c for c in toc_chapters(pathlib.Path(args.toc)) if c not in times and c != "references"]
    if missing:
        print(f"{args.log}: no execution time for {missing}: an incremental build? "
              "Time a clean one (rm -rf book/_build first)", file=sys.stderr)
        return 1
    run = {"date": datetime.date.today().isoformat(), "machine": args.machine, "commit": args.commit,
           "profile": args.profile, "wall_s": args.wall, "chapter_s": times}
    path = pathlib.Path(args.json)
    runs = json.loads(path.read_text()) if path.exists() else []
    runs.append(run)
    path.write_text(json.dumps(runs, indent=2) + "\n")
    print(f"{path}: {len(times)} chapters, {sum(times.values()):.0f} s executing, {args.wall:.0f} s in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())
