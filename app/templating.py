"""The Jinja environment of the app's HTML pages: every printed value goes through the project's one escaping
helper (geo.escape, see docs/SECURITY.md), and `escape_text` for the few pages built without a template."""

from __future__ import annotations

from typing import Any

from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from app.settings import PROJECT_ROOT
from geo.escape import escape_text

__all__ = ["TEMPLATE_DIR", "escape_text", "templates"]

TEMPLATE_DIR = PROJECT_ROOT / "app" / "templates"


def _through_escape_text(value: Any) -> Any:
    """Every value a template prints goes through the project's one escaping helper (see docs/SECURITY.md)."""
    if isinstance(value, Markup):
        return value
    return Markup(escape_text(value))  # noqa: S704 - escape_text has just made it safe HTML


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        autoescape=select_autoescape(default=True, default_for_string=True),
        finalize=_through_escape_text,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env


templates = Jinja2Templates(env=_environment())
