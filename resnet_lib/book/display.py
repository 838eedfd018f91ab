"""Tables, figures and widgets in a notebook, each readable in the static HTML book too.

Widgets come with a static rendering shown first (``explorer``), because the built book has no
kernel: the static view carries everything the widget can show, and the built book
(``$RESNET_BOOK_STATIC``, set by ``make book``) shows only that view, not a widget that could
not respond. Only APIs present in both ipywidgets 7 and 8 are used: ``interactive_output``,
``Dropdown``, ``IntSlider``, ``HBox``, ``VBox``.
"""

from __future__ import annotations

import os

__all__ = ["display_bundle", "explorer", "explorer_widget", "markdown_table", "show_figure", "show_markdown"]


def display_bundle(bundle: dict) -> None:
    """Display a MIME bundle (``{"text/plain": ..., "text/markdown": ...}``), or print its text."""
    try:
        from IPython.display import display

        display(bundle, raw=True)
    except ImportError:
        print(bundle["text/plain"])


def markdown_table(headers, rows, *, align=None) -> str:
    """A Markdown table; cells are formatted with ``str``; ``align`` is a string of l/r/c per column."""
    headers = [str(h) for h in headers]
    rows = [[str(c) for c in row] for row in rows]
    for i, row in enumerate(rows):
        if len(row) != len(headers):
            raise ValueError(f"row {i} has {len(row)} cells; expected {len(headers)} (the headers)")
    align = align or "l" + "r" * (len(headers) - 1)
    if len(align) != len(headers):
        raise ValueError(f"align={align!r} has {len(align)} letters; expected {len(headers)}")
    rules = {"l": ":---", "r": "---:", "c": ":---:"}
    escape = lambda s: s.replace("|", "\\|")  # noqa: E731
    lines = ["| " + " | ".join(map(escape, headers)) + " |",
             "|" + "|".join(rules[a] for a in align) + "|"]
    lines += ["| " + " | ".join(map(escape, row)) + " |" for row in rows]
    return "\n".join(lines)


def show_markdown(text: str) -> None:
    """Display Markdown (a table, a note) in a notebook; print it elsewhere."""
    display_bundle({"text/plain": text, "text/markdown": text})


def show_figure(figure, *, dpi: int = 100) -> None:
    """Display a matplotlib ``Figure`` as a PNG, whatever the matplotlib backend.

    ``resnet_lib.plots`` builds figures without pyplot; under ``MPLBACKEND=Agg`` (as ``make``
    sets it) a bare ``Figure`` has no notebook renderer, so this draws it explicitly.
    """
    import io

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    try:
        from IPython.display import Image, display

        display(Image(data=buffer.getvalue()))
    except ImportError:
        print(f"<figure: {len(buffer.getvalue())} bytes of PNG>")


def explorer(render, *, static, **controls) -> None:
    """Interactive controls over ``render(**values)``, after a static rendering of every value.

    static: a callable that renders the all-values view (a table or a figure) without a kernel.
        It is required: the built HTML book has no kernel, so the widget shows nothing there,
        and a reader of the page sees only what ``static`` draws. It is called once, first.
    controls: name -> a list of options (a dropdown) or a ``(min, max, step)`` tuple of ints
        (a slider); the first option (or min) is the initial value.

    Displays the widget and returns None, so that a cell ending in ``explorer(...)`` shows one
    copy (a returned widget would be displayed a second time as the cell's value). Without
    ipywidgets only ``static`` shows, and a line says so. ``explorer_widget`` builds the same
    widget without displaying it.

    With ``$RESNET_BOOK_STATIC`` set (``make book``) no widget is made: on the built page it
    would be blank offline and, online, show its first value without responding (there is no
    kernel), and its JavaScript would be loaded for nothing. A line names the controls that
    the notebook offers instead.
    """
    if not callable(static):
        raise TypeError(f"explorer(static=...) must be a callable that draws the all-values view; got {static!r}")
    if not controls:
        raise ValueError("explorer() needs at least one control")
    static()
    from resnet_lib.book.runs import STATIC_ENV

    if os.environ.get(STATIC_ENV):
        print(f"(in Jupyter or Colab, controls for {', '.join(controls)} appear here; this page shows "
              f"every value above)")
        return None
    try:
        from IPython.display import display

        box = explorer_widget(render, **controls)
    except ImportError:
        print("(ipywidgets is not installed: the interactive explorer is replaced by the view above)")
        return None
    display(box)
    return None


def explorer_widget(render, **controls):
    """The widget of ``explorer``, not displayed: a ``VBox`` of the controls over ``render``'s output.

    Uses only ``interactive_output``, ``Dropdown``, ``IntSlider``, ``HBox``, ``VBox``, which
    ipywidgets 7 and 8 both have. Raises ImportError without ipywidgets.
    """
    import ipywidgets as widgets

    if not controls:
        raise ValueError("explorer_widget() needs at least one control")
    made = {}
    for name, spec in controls.items():
        if isinstance(spec, tuple) and len(spec) == 3 and all(isinstance(v, int) for v in spec):
            low, high, step = spec
            made[name] = widgets.IntSlider(value=low, min=low, max=high, step=step, description=name,
                                           continuous_update=False)
        else:
            options = list(spec)
            if not options:
                raise ValueError(f"explorer control {name!r} has no options")
            made[name] = widgets.Dropdown(options=options, value=options[0], description=name)
    output = widgets.interactive_output(render, made)
    return widgets.VBox([widgets.HBox(list(made.values())), output])
