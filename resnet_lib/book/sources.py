"""The book's "Sources of the numbers" page: every entry of ``resnet_lib.reference`` with its source.

The page is generated, so it lists exactly what the chapters and tests import; a chapter that
cites a number links to it (``SOURCES_PAGE``).
"""

from __future__ import annotations

from resnet_lib.book.display import markdown_table, show_markdown

__all__ = ["SOURCES_PAGE", "format_value", "show_sources", "sources_markdown"]

SOURCES_PAGE = "sources.ipynb"  # the page, relative to book/ (Markdown links from chapters)


def format_value(value) -> str:
    """A reference value as one line: numbers with thousands separators, dicts as ``key: value``,
    web addresses as Markdown links named by their last part."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if abs(value) < 1e6:
            return f"{value:g}"
        exponent = len(str(int(abs(value)))) - 1
        exponent -= exponent % 3  # engineering notation, as the chapters write it: 11.282e9
        return f"{value / 10**exponent:g}e{exponent}"
    if isinstance(value, tuple):
        return ", ".join(format_value(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{key}: " + (f"({format_value(v)})" if isinstance(v, dict) else format_value(v))
                         for key, v in value.items())
    if isinstance(value, str) and value.startswith(("http://", "https://")):
        # a link named by its last part: a long address would widen the page's table
        return f"[{value.rstrip('/').rsplit('/', 1)[-1]}]({value})"
    return str(value)


def sources_markdown() -> str:
    """One Markdown table: the entry's name in ``resnet_lib.reference``, then its value and source.

    Value and source share a column, so that long names in both still fit the page's width.
    """
    from resnet_lib.reference import entries

    rows = [[f"`{name}`", f"{format_value(cited.value)} (source: *{cited.source}*)"]
            for name, cited in entries().items()]
    return markdown_table(["entry (resnet_lib.reference)", "value (source)"], rows, align="ll")


def show_sources() -> None:
    """Display ``sources_markdown()`` (the page's one table)."""
    show_markdown(sources_markdown())
