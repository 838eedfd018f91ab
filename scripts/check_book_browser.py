"""The built book in a real browser: each page laid out by headless Chromium, as a reader sees it.

    python scripts/check_book_browser.py book/_build/html [--widths 1280,390] [--screenshots DIR]

``check_book_html.py`` reads the HTML; this script renders it. The folder is served on
localhost and every page of the book is opened at a desktop width (1280 px) and a phone width
(390 px). A problem is printed as ``page @ width: what`` and makes the exit status 1:

- a JavaScript error on the page (an exception, or ``console.error`` other than a resource
  that could not load);
- a local file the page asks for that is missing (``favicon.ico`` aside: Chromium asks for it
  on every page, unprompted);
- the page wider than the window (a reader has to scroll sideways);
- at the desktop width: a code line clipped in its cell, an output line clipped, a figure
  shrunk below its drawn size, a table wider than the text column;
- a cell showing more than one widget, or a widget without its static view (a figure or a
  table) in the same cell, and stderr or a traceback in an output.

Resources on other hosts (the Colab badge, MathJax, the widget manager) cannot load without
internet; they are counted and reported, not failed. Chromium comes from the system
(``scripts/install_browser.sh``: Debian's ``chromium``); ``--browser`` or ``$RESNET_BROWSER``
names another binary. Playwright drives it (``pip install playwright``, no browser download).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import http.server
import os
import pathlib
import shutil
import sys
import threading
import urllib.parse

DESKTOP, PHONE = 1280, 390
SKIP_PAGES = {"genindex.html", "search.html", "py-modindex.html"}
UNPROMPTED = {"/favicon.ico"}  # the browser asks for these itself
SHRINK_TOLERANCE = 0.98  # a figure shown at under 98% of its drawn width is shrunk
# Flags for a closed network: no background connections, no sandbox (root in CI), no GPU.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

# What the page measures of itself, in the browser: one object per page and width.
MEASURE = """(desktop) => {
  const clipped = (el) => el.scrollWidth > el.clientWidth + 1;
  const text = (el) => (el.innerText || '').split('\\n');
  const out = {pageWidth: document.scrollingElement.scrollWidth, windowWidth: window.innerWidth,
               wide: [], code: [], output: [], images: [], tables: [], widgets: [], streams: []};
  if (out.pageWidth > out.windowWidth + 1) {
    const content = document.querySelector('main') || document.body;
    for (const el of content.querySelectorAll('*')) {
      const r = el.getBoundingClientRect();
      if (r.right > out.windowWidth + 1 && !el.closest('pre, .highlight, table, .table-wrapper')) {
        out.wide.push(`${el.tagName.toLowerCase()}.${[...el.classList].join('.')} ends at ${Math.round(r.right)} px`);
        if (out.wide.length >= 3) break;
      }
    }
  }
  document.querySelectorAll('div.cell').forEach((cell, i) => {
    const n = i + 1;
    const widgets = cell.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]').length;
    if (widgets) out.widgets.push({cell: n, widgets,
      statics: cell.querySelectorAll('.cell_output img, .cell_output table').length});
    cell.querySelectorAll('.cell_output .stderr, .cell_output .traceback, .cell_output .output.error')
      .forEach(() => out.streams.push(n));
    if (!desktop) return;
    cell.querySelectorAll('.cell_input pre').forEach((pre) => {
      if (clipped(pre)) out.code.push({cell: n, width: pre.scrollWidth, shown: pre.clientWidth,
        line: text(pre).reduce((a, b) => (b.length > a.length ? b : a), '')});
    });
    cell.querySelectorAll('.cell_output pre').forEach((pre) => {
      if (clipped(pre)) out.output.push({cell: n, width: pre.scrollWidth, shown: pre.clientWidth,
        line: text(pre).reduce((a, b) => (b.length > a.length ? b : a), '')});
    });
    cell.querySelectorAll('.cell_output img').forEach((img) => {
      const shown = img.getBoundingClientRect().width;
      if (img.naturalWidth && shown < img.naturalWidth * %(tolerance)s)
        out.images.push({cell: n, drawn: img.naturalWidth, shown: Math.round(shown)});
    });
  });
  if (desktop) document.querySelectorAll('main table').forEach((t) => {
    const column = (t.closest('.cell_output, section, article') || t.parentElement).clientWidth;
    if (t.scrollWidth > column + 1) out.tables.push({width: t.scrollWidth, column,
      head: (t.querySelector('tr') || t).innerText.replace(/\\s+/g, ' ').slice(0, 60)});
  });
  return out;
}""" % {"tolerance": SHRINK_TOLERANCE}


def book_pages(html_dir: pathlib.Path) -> list[pathlib.Path]:
    """The book's pages: every top-level ``*.html`` but Sphinx's index and search pages."""
    pages = sorted(p for p in html_dir.glob("*.html") if p.name not in SKIP_PAGES)
    if not pages:
        raise FileNotFoundError(f"{html_dir}: no *.html pages; build the book first (make book)")
    return pages


def problems_of(measured: dict, *, width: int) -> list[str]:
    """The problems in one page's measurements (``MEASURE``'s object plus the logged events)."""
    found = [f"JavaScript error: {e}" for e in measured.get("errors", [])]
    found += [f"missing local file: {path}" for path in measured.get("missing", [])]
    if measured["pageWidth"] > measured["windowWidth"] + 1:
        culprits = "; ".join(measured["wide"]) or "no single element found"
        found.append(f"page is {measured['pageWidth']} px wide in a {measured['windowWidth']} px window ({culprits})")
    for c in measured["code"]:
        found.append(f"cell {c['cell']}: code clipped ({c['width']} px in {c['shown']} px): {c['line'][:90]!r}")
    for c in measured["output"]:
        found.append(f"cell {c['cell']}: output clipped ({c['width']} px in {c['shown']} px): {c['line'][:90]!r}")
    for c in measured["images"]:
        found.append(f"cell {c['cell']}: figure drawn {c['drawn']} px wide, shown at {c['shown']} px "
                     f"({100 * c['shown'] / c['drawn']:.0f}%)")
    for t in measured["tables"]:
        found.append(f"table {t['head']!r} is {t['width']} px wide in a {t['column']} px column")
    for w in measured["widgets"]:
        if w["widgets"] > 1:
            found.append(f"cell {w['cell']}: {w['widgets']} widgets in one cell (shown twice?)")
        if not w["statics"]:
            found.append(f"cell {w['cell']}: a widget without its static view (figure or table) in the cell")
    found += [f"cell {n}: stderr or a traceback in the output" for n in sorted(set(measured["streams"]))]
    return found


@contextlib.contextmanager
def serve(html_dir: pathlib.Path):
    """Serve ``html_dir`` on 127.0.0.1 (a free port) for the duration; yields the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(html_dir))
    server = _QuietServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # one line per request would bury the report
        pass


class _QuietServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        """A page closed before its last image arrived is not the book's fault: say nothing."""
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


def find_browser(explicit: str | None = None) -> str:
    """``--browser``, ``$RESNET_BROWSER``, or Chromium on the PATH; a clear error without one."""
    for candidate in (explicit, os.environ.get("RESNET_BROWSER"), shutil.which("chromium"),
                      shutil.which("chromium-browser"), shutil.which("google-chrome")):
        if candidate and pathlib.Path(candidate).exists():
            return candidate
    raise FileNotFoundError("no Chromium found: run scripts/install_browser.sh (Debian's chromium), "
                            "or pass --browser /path/to/chrome or set RESNET_BROWSER")


def measure_pages(html_dir: pathlib.Path, *, widths=(DESKTOP, PHONE), browser: str | None = None,
                  screenshots: pathlib.Path | None = None) -> dict[tuple[str, int], dict]:
    """Open every page at every width; ``{(page name, width): measurements}``."""
    from playwright.sync_api import sync_playwright

    results = {}
    with serve(html_dir) as base, sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=find_browser(browser), args=CHROMIUM_ARGS)
        try:
            for page_path in book_pages(html_dir):
                for width in widths:
                    results[page_path.name, width] = _measure_one(chromium, base + page_path.name, width=width,
                                                                  screenshots=screenshots)
        finally:
            chromium.close()
    return results


def _measure_one(chromium, url: str, *, width: int, screenshots: pathlib.Path | None) -> dict:
    context = chromium.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    errors, missing, offline = [], [], []
    local = urllib.parse.urlsplit(url).netloc
    page.on("pageerror", lambda error: errors.append(str(error).splitlines()[0]))

    def on_console(message):
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            errors.append(message.text.splitlines()[0])

    def on_response(response):
        path = urllib.parse.urlsplit(response.url).path
        if response.status >= 400 and path not in UNPROMPTED:
            missing.append(path)

    def on_failed(request):
        if urllib.parse.urlsplit(request.url).netloc != local:
            offline.append(request.url)

    page.on("console", on_console)
    page.on("response", on_response)
    page.on("requestfailed", on_failed)
    page.goto(url, wait_until="load")
    page.wait_for_timeout(300)  # the theme's scripts lay the page out after load
    measured = page.evaluate(MEASURE, width >= DESKTOP)
    if screenshots:
        screenshots.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(screenshots / f"{pathlib.Path(url).stem}-{width}.png"), full_page=True)
    context.close()
    measured.update(errors=errors, missing=missing, offline=offline)
    return measured


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("html_dir", type=pathlib.Path)
    parser.add_argument("--widths", default=f"{DESKTOP},{PHONE}",
                        help="window widths in px, comma-separated; the first >= 1280 gets the desktop checks")
    parser.add_argument("--browser", help="the Chromium binary (default: $RESNET_BROWSER or chromium on the PATH)")
    parser.add_argument("--screenshots", type=pathlib.Path, help="save a full-page PNG per page and width here")
    parser.add_argument("--if-browser", action="store_true",
                        help="without Chromium or Playwright, say so and exit 0 (make book) instead of failing")
    args = parser.parse_args(argv)
    if args.if_browser:
        try:
            find_browser(args.browser)
            import playwright  # noqa: F401
        except (FileNotFoundError, ImportError) as err:
            print(f"check_book_browser: skipped, {err} (make test installs Chromium: scripts/install_browser.sh)")
            return 0
    try:
        widths = tuple(int(w) for w in args.widths.split(","))
    except ValueError:
        parser.error(f"--widths={args.widths!r}: expected integers separated by commas, e.g. 1280,390")
    results = measure_pages(args.html_dir, widths=widths, browser=args.browser, screenshots=args.screenshots)
    problems = [f"{name} @ {width} px: {p}" for (name, width), m in results.items()
                for p in problems_of(m, width=width)]
    offline = sorted({url for m in results.values() for url in m["offline"]})
    for line in problems:
        print(line)
    pages = len({name for name, _ in results})
    print(f"{len(problems)} problems on {pages} pages at {', '.join(f'{w} px' for w in widths)} (headless Chromium)")
    if offline:
        hosts = sorted({urllib.parse.urlsplit(u).netloc for u in offline})
        print(f"not loaded (other hosts, expected without internet): {len(offline)} resources from {', '.join(hosts)}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
