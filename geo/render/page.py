"""The full HTML page of a folium map, and the hashes a Content-Security-Policy needs to allow its scripts."""

from __future__ import annotations

import base64
import hashlib
import re

import folium

# Folium writes every script inline. Scripts with a src, and the JSON block of community text (a data block the
# browser never runs), need no hash.
_INLINE_SCRIPT = re.compile(
    r"<script(?![^>]*\b(?:src=|type=\"application/json\"))[^>]*>(.*?)</script>", re.DOTALL | re.IGNORECASE
)


def render_html(m: folium.Map) -> str:
    """Return the complete HTML page of `m` (a standalone document with its scripts and styles)."""
    return m.get_root().render()


def inline_script_hashes(html: str) -> list[str]:
    """Return the CSP source expressions ('sha256-...') of the inline scripts of `html`, in page order."""
    hashes = []
    for body in _INLINE_SCRIPT.findall(html):
        digest = hashlib.sha256(body.encode("utf-8")).digest()
        hashes.append(f"'sha256-{base64.b64encode(digest).decode('ascii')}'")
    return hashes
