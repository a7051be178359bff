"""What routes declare beside their success answer: the error answers they can give, and non-JSON media types.

Each router passes `responses=errors(...)` with exactly the status codes its route can answer, so /openapi.json
describes what app.main's handlers send (one ErrorBody shape for all of them).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.schemas.errors import ErrorBody

ERROR_DESCRIPTIONS: dict[int, str] = {
    400: "The request cannot be used as sent",
    401: "No valid credentials: sign in, or send a valid bearer token or API key",
    403: "Your role may not do this",
    404: "No such item, or one you may not see",
    409: "The change collides with existing data, or with the item's state",
    412: "The item changed since you read it: reload it and send the new version",
    413: "The body is larger than this instance allows (ASSETMAP_JSON_BODY_MAX_BYTES, uploads ASSETMAP_UPLOAD_MAX_BYTES)",
    422: "Invalid input: `detail` says what to change; `errors` names each refused value and its problem",
    428: "Send the version you edited: an If-Match header with the ETag from GET, or a 'version' field",
    429: "Too many attempts or too much work at once: wait as Retry-After says and try again",
    503: "The database is not reachable (retry after Retry-After seconds), or the work took longer than allowed",
}

# Building blocks: what an access rule can answer, what any validated request can answer.
READ = (401, 422)  # a bad credential is refused even where anonymous reading is allowed
SIGNED_IN = (401, 422)
RESTRICTED = (401, 403, 422)  # a rule that some roles do not pass


def errors(*codes: int | tuple[int, ...], extra: Mapping[int, Any] | None = None) -> dict[int | str, Any]:
    """`responses=` for a route: each code with the ErrorBody model; `extra` adds other answers (media types)."""
    flat = sorted({c for item in codes for c in (item if isinstance(item, tuple) else (item,))})
    declared: dict[int | str, Any] = {
        code: {"model": ErrorBody, "description": ERROR_DESCRIPTIONS[code]} for code in flat
    }
    for status, answer in (extra or {}).items():
        declared[status] = answer
    return declared


def document_edge_answers(schema: dict[str, Any]) -> dict[str, Any]:
    """Add to every operation of an OpenAPI document the answers the edge of the app gives on any route: 503
    when the database is lost, and 413 where a body is sent (app.middleware bounds every body)."""
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            answers = operation["responses"]
            wanted = [503, 413] if "requestBody" in operation else [503]
            for code in wanted:
                answers.setdefault(
                    str(code),
                    {
                        "description": ERROR_DESCRIPTIONS[code],
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}
                        },
                    },
                )
    return schema


def media(description: str, *media_types: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    """A success answer in these media types (any body unless `schema` is given)."""
    return {
        "description": description,
        "content": {media_type: {"schema": schema or {}} for media_type in media_types},
    }


ETAG_HEADER = {
    "description": 'the item\'s version, e.g. "3": send it back as If-Match to change or delete it',
    "required": True,
    "schema": {"type": "string", "pattern": '^"[0-9]+"$'},
}
FEATURE = {
    "type": "object",
    "required": ["type", "geometry", "properties"],
    "properties": {"type": {"const": "Feature"}, "geometry": {}, "properties": {"type": "object"}},
}
FEATURE_COLLECTION = {
    "type": "object",
    "required": ["type", "features"],
    "properties": {
        "type": {"const": "FeatureCollection"},
        "features": {"type": "array", "items": FEATURE},
        "numberReturned": {"type": "integer"},
        "next": {"type": ["string", "null"]},
        "links": {"type": "array"},
    },
}


def operation_ref(path: str, method: str) -> str:
    """A JSON pointer to an operation of /openapi.json, for OpenAPI links."""
    return "#/paths/" + path.replace("~", "~0").replace("/", "~1") + "/" + method


def openapi_links(
    targets: dict[str, tuple[str, str]],
    parameter: str,
    *,
    source: str = "$response.body#/id",
    etag: bool = False,
) -> dict[str, Any]:
    """OpenAPI links from an answer to the operations `targets` names (link name -> (path, method)): `parameter`
    takes the answer's id; with `etag`, If-Match takes its ETag (for changes and deletions)."""
    declared = {}
    for name, (path, method) in targets.items():
        parameters = {f"path.{parameter}": source}
        if etag and method in ("patch", "delete"):
            parameters["header.If-Match"] = "$response.header.ETag"
        declared[name] = {"operationRef": operation_ref(path, method), "parameters": parameters}
    return declared
