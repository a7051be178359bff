"""What an import request may name, checked before any file is read: the layers and a text encoding."""

from __future__ import annotations

from app.errors import InvalidInput
from geo.io.dbf import checked_user_encoding
from geo.io.errors import SourceEncodingError
from geo.layers import LAYERS

LAYER_NAMES: tuple[str, ...] = tuple(LAYERS)


def text_encoding(value: str | None) -> str | None:
    """The encoding field, if it names a text encoding (not rot13, base64, zlib or an unknown name)."""
    if value is None:
        return None
    try:
        checked_user_encoding(value)
    except SourceEncodingError as exc:
        raise InvalidInput(str(exc), field="encoding") from None
    return value
