"""`assetmap serve`: the API and the maps under uvicorn."""

from __future__ import annotations

from typing import Annotated

import typer

from app.cli.base import load_settings

app = typer.Typer()


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port")] = 8000,
    workers: Annotated[int, typer.Option(help="worker processes")] = 1,
    reload: Annotated[bool, typer.Option(help="reload on code changes (development)")] = False,
) -> None:
    """Serve the API and the maps with uvicorn."""
    import uvicorn

    load_settings()  # refuse to start with bad settings (e.g. a default secret in production)
    uvicorn.run("app.main:create_app", factory=True, host=host, port=port, workers=workers, reload=reload)
