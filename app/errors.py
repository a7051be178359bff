"""One tree of domain errors; only app.main maps them to HTTP status codes."""

from __future__ import annotations

from typing import Any


class AssetmapError(Exception):
    """Base of every error a user can act on; `detail` is safe to show."""

    status_code = 400

    def __init__(self, detail: str, *, field: str | None = None, extra: dict[str, Any] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field
        self.extra = extra or {}


class NotFound(AssetmapError):
    """The item does not exist, or the caller may not know that it does."""

    status_code = 404


class Conflict(AssetmapError):
    """The change collides with existing data (a duplicate code, a duplicate link)."""

    status_code = 409


class InvalidInput(AssetmapError):
    """The input is well-formed JSON but its values are wrong; `field` names the culprit.

    The body has the same `errors` list as a request that fails validation (app.schemas.errors.ErrorBody).
    """

    status_code = 422

    def __init__(
        self,
        detail: str,
        *,
        field: str | None = None,
        location: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail, field=field, extra=extra)
        self.extra.setdefault("errors", [{"field": field or "", "location": location, "problem": detail}])


class NotAuthenticated(AssetmapError):
    """No valid credentials were sent."""

    status_code = 401


class Forbidden(AssetmapError):
    """Credentials are valid but do not allow this action."""

    status_code = 403


class StaleVersion(AssetmapError):
    """The item changed since the caller read it (lost-update protection)."""

    status_code = 412


class PreconditionRequired(AssetmapError):
    """An update did not say which version it edits."""

    status_code = 428


class TooManyRequests(AssetmapError):
    """Too many failed attempts; try again later."""

    status_code = 429


class PayloadTooLarge(AssetmapError):
    """An upload is larger than the instance allows."""

    status_code = 413


class ServiceUnavailable(AssetmapError):
    """A dependency (the database) is not ready."""

    status_code = 503
