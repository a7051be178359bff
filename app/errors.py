"""One tree of domain errors. They know nothing of HTTP: app.http_errors maps each class to its status code."""

from __future__ import annotations

from typing import Any


class AssetmapError(Exception):
    """Base of every error a user can act on; `detail` is safe to show."""

    def __init__(self, detail: str, *, field: str | None = None, extra: dict[str, Any] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field
        self.extra = extra or {}


class NotFound(AssetmapError):
    """The item does not exist, or the caller may not know that it does."""


class Conflict(AssetmapError):
    """The change collides with existing data (a duplicate code, a duplicate link)."""


class InvalidInput(AssetmapError):
    """The input is well-formed JSON but its values are wrong; `field` names the culprit.

    The body has the same `errors` list as a request that fails validation (app.schemas.errors.ErrorBody).
    """

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


class Forbidden(AssetmapError):
    """Credentials are valid but do not allow this action."""


class StaleVersion(AssetmapError):
    """The item changed since the caller read it (lost-update protection)."""


class PreconditionRequired(AssetmapError):
    """An update did not say which version it edits."""


class TooManyRequests(AssetmapError):
    """Too many failed attempts; try again later."""


class PayloadTooLarge(AssetmapError):
    """An upload is larger than the instance allows."""


class ServiceUnavailable(AssetmapError):
    """A dependency (the database) is not ready."""


class RefusedTransition(Conflict):
    """The process does not allow this event at this stage of a case; `detail` says why and what would."""
