"""Imports of local files from the command line, in a session of their own for the length of the command."""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from app.db.session import session_scope
from app.errors import NotFound
from app.services.catalogue import resolve_city
from app.services.imports.pipeline import ImportRequest, ProgressHook, run_import
from app.services.imports.records import describe_import, user_id_by_name
from app.settings import Settings


def import_files(
    settings: Settings,
    request: ImportRequest,
    files: Sequence[Path],
    *,
    user: str | None = None,
    progress: ProgressHook | None = None,
) -> dict[str, Any]:
    """Import local files (recorded as `user`'s when given) and describe the import run with its report."""
    with session_scope(settings) as db:
        try:
            resolve_city(db, request.city)
        except NotFound:
            # At the terminal the way out is a command, not the API's /api/cities.
            raise NotFound(
                f"no city {request.city!r}: create it first: assetmap city add {shlex.quote(str(request.city))} "
                "--country CC (assetmap city list shows the cities there are)",
                field="city",
            ) from None
        user_id = user_id_by_name(db, user) if user else None
        run = run_import(
            db, settings, request, files, [p.name for p in files], user_id=user_id, progress=progress
        )
        return describe_import(db, run)
