"""ASGI guards at the edge of the app: the Host header, credentials before a body is read, body size, and an
unhandled error that becomes a JSON 500 on a connection that is then closed on purpose."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.deps import SIGN_IN_FIRST, credentials
from app.errors import AssetmapError
from app.http_errors import challenge_headers, status_of
from app.settings import Settings

log = logging.getLogger("assetmap")
BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Uploads count their own (larger) budget after the access rule passed: see app/routers/imports.py.
UPLOAD_PATHS = frozenset({"/api/imports"})
ErrorHandler = Callable[[Request, Exception], Awaitable[Response]]


def _json(status_code: int, detail: str, headers: dict[str, str] | None = None) -> Response:
    """A JSON error answered before the app ran; the connection closes since the body may be unread."""
    body = json.dumps({"detail": detail}).encode()
    return Response(
        body,
        status_code=status_code,
        media_type="application/json",
        headers={"Connection": "close", "X-Content-Type-Options": "nosniff", **(headers or {})},
    )


def host_allowed(host: str, allowed: list[str]) -> bool:
    """Whether a Host header (with or without port) names one of `allowed` ('*.example.org' matches subdomains)."""
    name = host.strip().lower()
    if name.startswith("["):  # an IPv6 literal: [::1]:8000
        name = name[1 : name.find("]")] if "]" in name else name
    elif name.count(":") == 1:
        name = name.split(":", 1)[0]
    for pattern in allowed:
        if pattern == "*" or name == pattern:
            return True
        if pattern.startswith("*.") and name.endswith(pattern[1:]):
            return True
    return False


class TrustedHosts:
    """A Host header that is not one of ASSETMAP_TRUSTED_HOSTS (or the public URL's host) is a 400: links and
    origins are built from the Host, so a forged one must never get that far."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.allowed = settings.allowed_hosts()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            host = Request(scope).headers.get("host", "")
            if not host_allowed(host, self.allowed):
                response = _json(
                    400,
                    "this server does not answer to the Host header you sent: use its public address "
                    "(an administrator lists further names in ASSETMAP_TRUSTED_HOSTS)",
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _access_rule(route: APIRoute) -> str | None:
    """The name of the access-rule dependency of a route (see app.deps), or None for an open route."""
    stack = list(route.dependant.dependencies)
    while stack:
        dep = stack.pop()
        rule = getattr(dep.call, "access_rule", None)
        if rule:
            return str(rule)
        stack.extend(dep.dependencies)
    return None


class BodyGuard:
    """Before a request body is read: credentials for routes that need a sign-in (401/403 without reading it), a
    Content-Length within the limit (413 at once), and a running count of the bytes of a chunked body."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self.limit = settings.json_body_max_bytes
        self._table: list[tuple[APIRoute, str | None]] | None = None

    def _routes(self, app: Any) -> list[tuple[APIRoute, str | None]]:
        """Every API route with its access rule, also inside included routers (read once, on first use)."""
        if self._table is None:
            table = []
            stack: list[Any] = list(app.router.routes)
            while stack:
                route = stack.pop(0)
                if isinstance(route, APIRoute):
                    table.append((route, _access_rule(route)))
                elif hasattr(route, "original_router"):
                    stack[:0] = list(route.original_router.routes)
            self._table = table
        return self._table

    def _needs_sign_in(self, scope: Scope) -> bool:
        for route, rule in self._routes(scope["app"]):
            match, _ = route.matches(scope)
            if match == Match.FULL:
                return rule is not None and (rule != "read_public" or not self.settings.anonymous_read)
        return False

    def _too_large(self) -> str:
        return (
            f"the request body is larger than the limit of {self.limit:,} bytes: send less (split the change, "
            "simplify the geometry) or ask an administrator to raise ASSETMAP_JSON_BODY_MAX_BYTES"
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in BODY_METHODS:
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        if self._needs_sign_in(scope):
            try:
                token = credentials(request, self.settings)
            except AssetmapError as exc:
                status_code = status_of(exc)
                await _json(status_code, exc.detail, challenge_headers(status_code))(scope, receive, send)
                return
            if token is None:
                await _json(401, SIGN_IN_FIRST, challenge_headers(401))(scope, receive, send)
                return
        if scope["path"] in UPLOAD_PATHS:
            await self.app(scope, receive, send)
            return
        declared = request.headers.get("content-length")
        if declared is not None:
            if not (declared.isascii() and declared.isdigit()):
                await _json(400, "Content-Length must be a number of bytes")(scope, receive, send)
                return
            if int(declared) > self.limit:
                await _json(413, self._too_large())(scope, receive, send)
                return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    # Raised inside the app's body reading, answered by its HTTPException handler as JSON.
                    raise StarletteHTTPException(413, self._too_large(), headers={"Connection": "close"})
            return message

        await self.app(scope, counted, send)


class ErrorGuard:
    """An unhandled error becomes the app's JSON (or page) 500 with `Connection: close`: the server then ends the
    connection, and the client is told so instead of finding a dropped keep-alive connection."""

    def __init__(self, app: ASGIApp, handler: ErrorHandler) -> None:
        self.app = app
        self.handler = handler

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watched(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watched)
        except Exception as exc:
            if started:
                raise  # half an answer is out: only closing the connection is left, which the server does
            response = await self.handler(Request(scope), exc)
            response.headers["Connection"] = "close"
            await response(scope, receive, send)
