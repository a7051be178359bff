"""What every command shares: the two consoles, the one error line and loading the settings."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.text import Text

from app.settings import Settings, get_settings

# Output holds names people typed (cities, neighbourhoods, assets, files): never read it as rich markup or emoji
# codes, so "[bold]" or ":smile:" in a name is printed as typed. Colour comes from `style=` instead.
console = Console(markup=False, emoji=False)
err = Console(stderr=True, markup=False, emoji=False)


def load_settings() -> Settings:
    """The settings from the environment; bad ones end the command with exit code 2."""
    try:
        return get_settings()
    except ValueError as exc:
        err.print(Text.assemble(("settings error:", "red"), f" {exc}"))
        raise typer.Exit(2) from None


def fail(message: str) -> typer.Exit:
    """Print one line (never wrapped, never read as markup) and return the exit with code 1 to raise."""
    err.print(Text.assemble(("error:", "red"), " ", message), soft_wrap=True, highlight=False)
    return typer.Exit(1)
