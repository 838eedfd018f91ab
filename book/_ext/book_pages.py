"""A Sphinx hook for the built pages: each script once.

sphinx-thebe's inline configuration (``const THEBE_JS_URL = ...``) reached every page twice
(seen with sphinx-thebe 0.3.1 under Jupyter Book 1.0.4), and the second declaration of the
constant logged "Identifier 'THEBE_JS_URL' has already been declared". The copy is dropped
here, before the page is written; ``scripts/check_book_browser.py`` fails on any such error.
"""


def one_copy_of_each_script(app, pagename, templatename, context, doctree):
    """Keep the first of identical ``script_files`` entries (same file or inline body, same attributes)."""
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, kept = set(), []
    for script in scripts:
        attributes = getattr(script, "attributes", {}) or {}
        filename = getattr(script, "filename", script) or ""  # an inline script: None or ""
        key = (str(filename), tuple(sorted((k, str(v)) for k, v in attributes.items())))
        if key not in seen:
            seen.add(key)
            kept.append(script)
    scripts[:] = kept


def setup(app):
    app.connect("html-page-context", one_copy_of_each_script, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
