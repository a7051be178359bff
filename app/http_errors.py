"""The one table from the domain error tree (app.errors) to HTTP: the status code of each class and the headers
that go with it. The exception handlers of app.main and the edge guards of app.middleware answer through it.

Errors from geo/ never reach it: the services turn them into these domain errors, naming the field.
"""

from __future__ import annotations

from app.errors import (
    AssetmapError,
    Conflict,
    Forbidden,
    InvalidInput,
    NotAuthenticated,
    NotFound,
    PayloadTooLarge,
    PreconditionRequired,
    ServiceUnavailable,
    StaleVersion,
    TooManyRequests,
)

STATUS_BY_ERROR: dict[type[AssetmapError], int] = {
    AssetmapError: 400,
    NotAuthenticated: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    StaleVersion: 412,
    PayloadTooLarge: 413,
    InvalidInput: 422,
    PreconditionRequired: 428,
    TooManyRequests: 429,
    ServiceUnavailable: 503,
}


def status_of(error: AssetmapError) -> int:
    """The status code of `error`: its own class's, else that of the nearest ancestor in STATUS_BY_ERROR."""
    for cls in type(error).__mro__:
        if cls in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[cls]
    return STATUS_BY_ERROR[AssetmapError]  # not reached: every domain error descends from AssetmapError


def challenge_headers(status_code: int) -> dict[str, str]:
    """A 401 says which credentials to send (RFC 9110 section 11.6.1); other answers add nothing."""
    return {"WWW-Authenticate": "Bearer"} if status_code == 401 else {}


def error_headers(error: AssetmapError) -> dict[str, str]:
    """The headers of the answer to `error`: the 401 challenge, and Retry-After when the error says when."""
    headers = challenge_headers(status_of(error))
    if "retry_after_s" in error.extra:  # 429 and 503 that say when to try again
        headers["Retry-After"] = str(int(error.extra["retry_after_s"]))
    return headers
