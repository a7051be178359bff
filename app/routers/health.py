"""Liveness and readiness probes."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from app.routers.responses import media
from app.schemas.health import Liveness, Readiness
from app.services.health import readiness

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Liveness)
def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    response_model=Readiness,
    responses={
        503: media(
            "The database does not answer, or its schema is not at the newest migration",
            "application/json",
            schema={
                "type": "object",
                "required": ["status"],
                "properties": {"status": {"const": "not ready"}},
            },
        )
    },
)
async def readyz(request: Request) -> JSONResponse:
    """The database answers and its schema is at the newest migration (within ASSETMAP_READINESS_TIMEOUT_MS).

    An async route with its own connection: it needs neither a worker thread nor a connection of the shared pool,
    both of which may all be busy under load."""
    settings = request.app.state.settings
    ready, detail = await readiness(settings.database_url, settings.readiness_timeout_ms)
    return JSONResponse(
        {"status": "ready" if ready else "not ready", **detail}, status_code=200 if ready else 503
    )
