"""The application factory: settings in, FastAPI app out; the engine lives in the lifespan."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from http import HTTPStatus
from typing import Any

import psycopg
from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import (
    DataError,
    DBAPIError,
    DisconnectionError,
    InterfaceError,
    InternalError,
    OperationalError,
    ProgrammingError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

from app import __version__
from app.db.session import create_db_engine, create_session_factory, reads_only
from app.errors import AssetmapError
from app.http_errors import error_headers, status_of
from app.middleware import BodyGuard, ErrorGuard, TrustedHosts
from app.routers import (
    analysis,
    analysis_maps,
    assets,
    auth,
    budget,
    budget_pages,
    capacity,
    case_import,
    case_pages,
    cases,
    catalogue,
    directory,
    exports,
    health,
    hsds,
    imports,
    links,
    match_pages,
    matches,
    needs,
    neighbourhoods,
    ogc,
    ogc_edit,
    pages,
    resources,
    streets,
    tiles,
    venues,
)
from app.routers.responses import document_edge_answers
from app.schemas.errors import ErrorBody, FieldProblem
from app.services.analysis import runs
from app.settings import PROJECT_ROOT, Settings, get_settings
from app.templating import templates
from geo.io import configure_gdal_safely
from geo.render import use_local_assets

log = logging.getLogger("assetmap")
STATIC_DIR = PROJECT_ROOT / "app" / "static"
RETRY_AFTER_S = 5
# Errors that say the database (or the way to it) is gone for now, not that the request was wrong.
DATABASE_UNAVAILABLE = (
    OperationalError,
    InterfaceError,
    DisconnectionError,
    PoolTimeoutError,
    psycopg.OperationalError,
    psycopg.InterfaceError,
)
# Errors of a database role that may only read (docs/OPERATIONS.md, read-only role): a write it cannot do.
READ_ONLY_REFUSALS = (psycopg.errors.InsufficientPrivilege, psycopg.errors.ReadOnlySqlTransaction)
READ_ONLY_DETAIL = (
    "this instance reads through a database role that may only read: send changes to the instance that writes "
    "(nothing was changed)"
)


def content_security_policy(settings: Settings, script_sources: Sequence[str] = ("'unsafe-inline'",)) -> str:
    """Scripts from this origin and `script_sources` (default: inline, for folium pages); tiles may be remote."""
    scripts = " ".join(("'self'", *script_sources))
    tile_origin = ""
    if settings.tiles_url and settings.tiles_url.startswith("https://"):
        host = settings.tiles_url.split("/")[2].replace("{s}", "*")
        tile_origin = f" https://{host}"
    return (
        "default-src 'self'; "
        f"script-src {scripts}; "
        "style-src 'self' 'unsafe-inline'; "
        f"img-src 'self' data: blob:{tile_origin}; "
        "font-src 'self' data:; "
        "connect-src 'self'; "
        "object-src 'none'; base-uri 'self'; frame-ancestors 'self'; form-action 'self'"
    )


def _wants_page(request: Request) -> bool:
    """A browser opening a page (not the API) gets errors as a page; API clients always get JSON."""
    path = request.url.path
    if path.startswith(("/api/", "/docs", "/openapi")) or request.method not in ("GET", "HEAD"):
        return False
    return "text/html" in request.headers.get("accept", "")


def _error_page(request: Request, status_code: int, detail: str) -> Response:
    request.state.script_sources = ()  # the page runs no script
    try:
        title = HTTPStatus(status_code).phrase
    except ValueError:
        title = "Error"
    return templates.TemplateResponse(
        request,
        "error.html",
        {"viewer": None, "title": title, "detail": detail, "status_code": status_code},
        status_code=status_code,
    )


def add_exception_handlers(app: FastAPI) -> None:
    """Map the domain error tree to status codes; a 500 never carries SQL or a stack trace. Page requests from a
    browser get the same message as an HTML page."""

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if _wants_page(request):
            detail = "there is no such page" if exc.status_code == 404 else str(exc.detail)
            return _error_page(request, exc.status_code, detail)
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(AssetmapError)
    async def domain_error(request: Request, exc: AssetmapError) -> Response:
        status_code = status_of(exc)  # the one table in app.http_errors
        if _wants_page(request):
            return _error_page(request, status_code, exc.detail)
        body: dict[str, object] = {"detail": exc.detail}
        if exc.field:
            body["field"] = exc.field
        body.update(exc.extra)
        return JSONResponse(body, status_code=status_code, headers=error_headers(exc) or None)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        # The body is an ErrorBody, as /openapi.json documents for every 422 (not FastAPI's HTTPValidationError).
        problems = []
        for err in exc.errors():
            loc = tuple(err.get("loc", ())) or ("body",)
            problems.append(
                FieldProblem(
                    field=".".join(str(p) for p in loc[1:]),
                    location=str(loc[0]),
                    problem=str(err.get("msg", "invalid value")),
                )
            )
        summary = "; ".join(f"{p.field or p.location}: {p.problem}" for p in problems)
        if _wants_page(request):
            return _error_page(request, 422, summary)
        fields = {p.field for p in problems}
        body = ErrorBody(
            detail=summary, field=(fields.pop() or None) if len(fields) == 1 else None, errors=problems
        )
        return JSONResponse(body.model_dump(exclude_none=True), status_code=422)

    @app.exception_handler(DataError)
    async def data_error(request: Request, exc: DataError) -> JSONResponse:
        # Values the database cannot hold (a NUL character, a number out of range) are bad input, not a crash.
        return JSONResponse(
            {"detail": "a value is out of range or has a character the database cannot store (such as NUL)"},
            status_code=422,
        )

    async def database_unavailable(request: Request, exc: Exception) -> Response:
        # During a database restart or with every connection busy: nothing was committed (writes commit before
        # their answer is built), so the client may simply try again.
        original = getattr(exc, "orig", exc)
        if isinstance(original, psycopg.errors.QueryCanceled):
            detail = (
                "the database took too long for this request: ask for less (a smaller area or page), or retry"
            )
        else:
            detail = f"the database is not reachable just now: nothing was changed; try again in {RETRY_AFTER_S} seconds"
        log.warning(
            "database unavailable on %s %s: %s", request.method, request.url.path, type(original).__name__
        )
        headers = {"Retry-After": str(RETRY_AFTER_S)}
        if _wants_page(request):
            response = _error_page(request, 503, detail)
            response.headers.update(headers)
            return response
        return JSONResponse({"detail": detail}, status_code=503, headers=headers)

    async def refused_by_database(request: Request, exc: Exception) -> Response:
        # A write on an instance whose role may only read is the operator's choice, not a crash: a 503 that says
        # where writes go (no Retry-After: trying again here will not help). Any other such error is a real 500.
        original = exc.orig if isinstance(exc, DBAPIError) else exc
        if not isinstance(original, READ_ONLY_REFUSALS):
            return await unexpected_error(request, exc)
        log.warning("write refused by a read-only database role on %s %s", request.method, request.url.path)
        if _wants_page(request):
            return _error_page(request, 503, READ_ONLY_DETAIL)
        return JSONResponse({"detail": READ_ONLY_DETAIL}, status_code=503)

    for error in DATABASE_UNAVAILABLE:
        app.add_exception_handler(error, database_unavailable)
    for refusal in (ProgrammingError, InternalError):
        app.add_exception_handler(refusal, refused_by_database)
    app.add_exception_handler(Exception, unexpected_error)


async def unexpected_error(request: Request, exc: Exception) -> Response:
    """The answer to an error nobody expected: a reference to the log, never SQL or a stack trace."""
    reference = uuid.uuid4().hex[:12]
    log.error(
        "unhandled error %s on %s %s",
        reference,
        request.method,
        request.url.path,
        exc_info=(type(exc), exc, exc.__traceback__),
    )
    detail = f"internal error; the server log has the details under reference {reference}"
    if _wants_page(request):
        return _error_page(request, 500, detail)
    return JSONResponse({"detail": detail}, status_code=500)


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app for these settings (from the environment if not given)."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_db_engine(settings)
        app.state.engine = engine
        app.state.sessionmaker = create_session_factory(engine)
        try:
            if reads_only(engine):  # a read-only instance leaves the runs to the instance that writes
                log.info("the database role may only read: this instance serves reads, writes answer 503")
            else:
                runs.resume_unfinished_runs(app.state.sessionmaker, settings)
        except OperationalError:
            log.warning("could not look for unfinished analysis runs: the database is not reachable yet")
        try:
            yield
        finally:
            engine.dispose()

    app = FastAPI(
        title="assetmap",
        version=__version__,
        description="Asset-based community mapping: needs, assets, resources and networks per neighbourhood.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    use_local_assets()  # folium maps load Leaflet & co. from /static/vendor, never from a CDN
    configure_gdal_safely()  # no network, no VRT: before any uploaded file reaches GDAL
    csp = content_security_policy(settings)
    # Innermost first: an unhandled error becomes a 500 that closes its connection explicitly; requests with a
    # body are authenticated and bounded before it is read; a Host header that is not ours is refused first.
    app.add_middleware(ErrorGuard, handler=unexpected_error)
    app.add_middleware(BodyGuard, settings=settings)
    app.add_middleware(TrustedHosts, settings=settings)

    @app.middleware("http")
    async def security_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        # A page that lists its inline scripts' hashes (or has none) in request.state.script_sources gets a
        # policy without 'unsafe-inline'.
        script_sources = getattr(request.state, "script_sources", None)
        policy = csp if script_sources is None else content_security_policy(settings, script_sources)
        response.headers.setdefault("Content-Security-Policy", policy)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response

    # Map pages and GeoJSON lists are large and compress well (about 5:1).
    app.add_middleware(GZipMiddleware, minimum_size=2048)
    add_exception_handlers(app)
    app.add_middleware(hsds.HsdsCors)  # Access-Control-Allow-Origin: * on /hsds only
    for router in (
        health.router,
        auth.router,
        catalogue.router,
        capacity.router,
        venues.router,
        neighbourhoods.router,
        assets.router,
        needs.router,
        resources.router,
        links.router,
        imports.router,
        exports.router,
        pages.router,
        analysis.router,
        analysis_maps.router,
        streets.router,
        cases.router,
        case_import.router,
        case_import.page_router,
        case_pages.router,
        directory.router,
        directory.page_router,
        hsds.router,
        budget.router,
        budget_pages.router,
        matches.router,
        match_pages.router,
        ogc.router,
        ogc_edit.router,
        tiles.router,
    ):
        app.include_router(router)
    STATIC_DIR.mkdir(parents=True, exist_ok=True)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    plain_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        """FastAPI's document plus the answers every route can give at the edge (413, 503)."""
        if app.openapi_schema is None:
            app.openapi_schema = document_edge_answers(plain_openapi())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        """Swagger UI, served from this app's own static files."""
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="assetmap API",
            swagger_js_url="/static/vendor/swagger-ui/swagger-ui-bundle.js",
            swagger_css_url="/static/vendor/swagger-ui/swagger-ui.css",
            swagger_favicon_url="/static/vendor/swagger-ui/favicon-32x32.png",
        )

    return app
