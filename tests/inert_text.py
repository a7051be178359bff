"""Shared checks that community text is data, never template source or markup (docs/SECURITY.md, text).

Used by the map tests in tests/geo and the page, API and CLI tests in tests/app.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import jinja2

from geo.escape import escape_text

# Template syntax of every kind a server or browser might evaluate: "EVALUATED" (or a loop's output) appearing in
# a page means a template ran. The unterminated raw block and the lone block tag would stop a compile with a 500.
TEMPLATE_PAYLOADS = (
    "{{ 'evaluated'|upper }}",
    "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    "{% for x in range(3) %}loop{% endfor %}",
    "{% if 1 %}",
    "{# hidden #}",
    "{% raw %}",
    "{% endraw %}",
    "${'evalu'+'ated'.toUpperCase()}",
    "<%= 'evaluated'.upcase %>",
    "#{'evaluated'.upcase}",
    "{0.__class__}",
    "{name}",
    "%(name)s",
    "[bold]loud[/bold] [/nope] :smile:",
    "$x^2$",
)
EVALUATED = ("EVALUATED", "looploop", "uid=", "<class ")


@contextmanager
def compiled_template_sources() -> Iterator[list[str]]:
    """Record the source of every Jinja template compiled, in any thread, while the block runs."""
    sources: list[str] = []
    lock = threading.Lock()
    original = jinja2.Environment.compile

    def recording(self: jinja2.Environment, source: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(source, str):
            with lock:
                sources.append(source)
        return original(self, source, *args, **kwargs)

    jinja2.Environment.compile = recording  # type: ignore[method-assign]
    try:
        yield sources
    finally:
        jinja2.Environment.compile = original  # type: ignore[method-assign]


def forms_of(text: str) -> set[str]:
    """The ways `text` could be written into a page: as is, HTML-escaped, or as a JSON string's body."""
    return {text, escape_text(text), json.dumps(text)[1:-1], json.dumps(text, ensure_ascii=False)[1:-1]}


def assert_not_in_templates(sources: list[str], texts: list[str]) -> None:
    """No compiled template source holds any form of any of `texts`."""
    assert sources, "no template was compiled: the check saw nothing"
    for text in texts:
        for form in forms_of(text):
            for source in sources:
                assert form not in source, f"{text!r} was compiled as template source:\n{source[:400]}"


_TEXT_BLOCK = re.compile(
    r'<script type="application/json" id="assetmap-map-text">(.*?)</script>', re.DOTALL | re.IGNORECASE
)
_TITLE = re.compile(r"<title>(.*?)</title>", re.DOTALL | re.IGNORECASE)


def map_text_block(page: str) -> dict[str, Any]:
    """The parsed JSON block of community text of a map page."""
    found = _TEXT_BLOCK.findall(page)
    assert len(found) == 1, f"a map page has exactly one text block, found {len(found)}"
    assert "<" not in found[0] and ">" not in found[0], "the text block must not hold a raw '<' or '>'"
    return json.loads(found[0])  # type: ignore[no-any-return]


def strings_in(value: Any) -> Iterator[str]:
    """Every string anywhere inside a JSON value."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings_in(item)


def assert_map_shows_as_text(page: str, payload: str) -> None:
    """`payload` is in the map's JSON text block unchanged, and nowhere else but the escaped <title>."""
    block = map_text_block(page)
    assert any(payload in text for text in strings_in(block)), f"{payload!r} is not shown at all"
    rest = _TITLE.sub("", _TEXT_BLOCK.sub("", page))
    for form in forms_of(payload):
        assert form not in rest, f"{payload!r} appears outside the text block as {form!r}"
    for product in EVALUATED:
        assert product not in page, f"{product!r} in the page: a template ran"
