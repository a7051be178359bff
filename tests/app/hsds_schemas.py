"""The official HSDS 3.0 JSON Schemas (data/hsds/schema/3.0, from openreferral/specification) as validators.

As the specification's own example checks do (validate_examples_json_schema.sh), every object is closed
(`additionalProperties: false` everywhere), so a field the standard does not have is an error too. `$ref`s
between the files ("phone.json") resolve among the bundled files only: nothing is fetched.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "data" / "hsds" / "schema" / "3.0"
BASE = "file:///hsds-3.0/"


def _closed(node: Any) -> Any:
    if isinstance(node, dict):
        out = {k: _closed(v) for k, v in node.items()}
        if "properties" in out and out.get("type", "object") == "object":
            out["additionalProperties"] = False
        return out
    if isinstance(node, list):
        return [_closed(v) for v in node]
    return node


@cache
def _registry() -> Registry:
    resources = []
    for path in sorted(SCHEMA_DIR.glob("*.json")) + sorted((SCHEMA_DIR / "compiled").glob("*.json")):
        if path.name in {"openapi.json", "datapackage.json"}:
            continue
        name = path.relative_to(SCHEMA_DIR).as_posix()
        contents = _closed(json.loads(path.read_text(encoding="utf-8")))
        resources.append((BASE + name, Resource.from_contents(contents, default_specification=DRAFT202012)))
    return Registry().with_resources(resources)


def validator(name: str) -> Draft202012Validator:
    """A validator of one schema file, e.g. 'service.json' or 'compiled/service_list.json'."""
    return Draft202012Validator(
        {"$ref": BASE + name}, registry=_registry(), format_checker=Draft202012Validator.FORMAT_CHECKER
    )


def problems(name: str, instance: Any) -> list[str]:
    """Every way `instance` breaks the schema, as readable lines (empty: valid)."""
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator(name).iter_errors(instance)
    ]


@cache
def page_schema() -> dict[str, Any]:
    """The OpenAPI document's Page, closed, with `contents` an array (its items are checked separately)."""
    openapi = json.loads((SCHEMA_DIR / "openapi.json").read_text(encoding="utf-8"))
    page = json.loads(json.dumps(openapi["components"]["schemas"]["Page"]))
    page["properties"]["contents"] = {"type": "array"}
    page["additionalProperties"] = False
    page["required"] = [*page["properties"]]
    return page


def page_problems(instance: Any, item_schema: str) -> list[str]:
    """Problems of a paged answer: the Page itself, then each item against `item_schema`."""
    out = [e.message for e in Draft202012Validator(page_schema()).iter_errors(instance)]
    for index, item in enumerate(instance.get("contents", [])):
        out += [f"contents/{index}/{p}" for p in problems(item_schema, item)]
    return out
