"""Check the built book's pages as a reader meets them: no noise, widgets that read, sizes that fit.

``make book`` runs it on ``book/_build/html`` after the build; it exits 1 and lists every
problem it finds on the chapter pages:

- stderr output or a Python traceback in a cell's output;
- a cell with more than one widget (a widget displayed and returned shows twice);
- a widget whose cell shows no static view beside it (the page has no kernel, so the widget
  is blank there: ``resnet_lib.book.explorer`` draws the static view first);
- an image wider than the text column (it would be shrunk, its labels unreadable);
- a table whose narrowest layout is wider than the text column: its longest unbreakable
  words, column by column, at about 7 px per character (an estimate, not a browser's layout);
- a code line longer than 79 characters: in the book's 13 px code font (book/_static/book.css)
  79 fit the text column at 1280 px; a longer line is clipped and scrolls sideways.

The text column is ``resnet_lib.plots.PAGE_WIDTH`` at 100 dpi, the size figures are drawn for.
``scripts/check_book_browser.py`` measures the same things in a real browser.

    python scripts/check_book_html.py [book/_build/html]
"""

from __future__ import annotations

import argparse
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from resnet_lib.plots import PAGE_WIDTH  # noqa: E402

WIDGET = "application/vnd.jupyter.widget-view+json"
CHAR_PX, CELL_PADDING_PX = 7.0, 16.0
LONG_CODE_LINE = 79
NOT_CHAPTERS = {"genindex.html", "search.html", "py-modindex.html"}


def _table_min_width(table) -> float:
    """Estimated narrowest width of an HTML table: per column, its longest unbreakable word."""
    widths: dict[int, float] = {}
    for row in table.find_all("tr"):
        for column, cell in enumerate(row.find_all(["td", "th"])):
            words = cell.get_text(" ", strip=True).split() or [""]
            widths[column] = max(widths.get(column, 0.0), max(len(w) for w in words) * CHAR_PX + CELL_PADDING_PX)
    return sum(widths.values())


def check_page(path: pathlib.Path, *, max_width_px: float) -> list[str]:
    """The problems on one page."""
    from bs4 import BeautifulSoup
    from PIL import Image

    soup = BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")
    name = path.name
    problems = []
    for output in soup.select("div.output.stderr"):
        problems.append(f"{name}: stderr in a cell's output: {output.get_text()[:160].strip()!r}")
    for output in soup.select("div.cell_output"):
        if "Traceback (most recent call last)" in output.get_text():
            problems.append(f"{name}: a traceback in a cell's output")
    for number, cell in enumerate(soup.select("div.cell"), 1):
        outputs = cell.select_one("div.cell_output")
        if outputs is None:
            continue
        widgets = outputs.find_all("script", attrs={"type": WIDGET})
        if len(widgets) > 1:
            problems.append(f"{name}: code cell {number} shows {len(widgets)} widgets (one displayed twice?)")
        if widgets and not (outputs.find("img") or outputs.find("table")):
            problems.append(f"{name}: code cell {number} has a widget but no static figure or table beside it")
    for image in soup.find_all("img"):
        source = (path.parent / image.get("src", "")).resolve()
        if source.suffix.lower() == ".png" and source.is_file():
            with Image.open(source) as opened:
                width = opened.size[0]
            if width > max_width_px:
                problems.append(f"{name}: image {source.name} is {width} px wide; the text column is "
                                f"{max_width_px:.0f} px")
    for number, table in enumerate(soup.find_all("table"), 1):
        width = _table_min_width(table)
        if width > max_width_px:
            headers = " | ".join(th.get_text(" ", strip=True) for th in table.find_all("th"))[:100]
            problems.append(f"{name}: table {number} ({headers}) needs about {width:.0f} px; the text column is "
                            f"{max_width_px:.0f} px")
    for block in soup.select("div.cell_input pre"):
        for line in block.get_text().splitlines():
            if len(line) > LONG_CODE_LINE:
                problems.append(f"{name}: a code line of {len(line)} characters (at most {LONG_CODE_LINE} fit): "
                                f"{line[:60]!r}...")
    return problems


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("html", nargs="?", default=str(ROOT / "book" / "_build" / "html"),
                        help="the built book's html folder (default: book/_build/html)")
    parser.add_argument("--max-width", type=float, default=100 * PAGE_WIDTH + 10,
                        help="the text column in px (default: resnet_lib.plots.PAGE_WIDTH at 100 dpi, plus 10)")
    args = parser.parse_args(argv)
    folder = pathlib.Path(args.html)
    pages = sorted(p for p in folder.glob("*.html") if p.name not in NOT_CHAPTERS)
    if not pages:
        print(f"check_book_html: no pages in {folder}: build the book first (make book)", file=sys.stderr)
        return 2
    problems = [p for page in pages for p in check_page(page, max_width_px=args.max_width)]
    for problem in problems:
        print(problem)
    print(f"check_book_html: {len(pages)} pages, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
