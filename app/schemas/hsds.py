"""What the /hsds routes answer, for /openapi.json: the shapes of Open Referral HSDS 3.0 (the answers are built
by app/services/directory/hsds.py and checked against the official JSON Schemas in the tests)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class HsdsRoot(BaseModel):
    """The API root: the HSDS version, its profile and the OpenAPI description."""

    version: str = Field(description="HSDS version of this API: 3.0")
    profile: str
    openapi_url: str


class HsdsPage(BaseModel):
    """A page as the HSDS 3.0 API specification's Page."""

    total_items: int
    total_pages: int
    page_number: int
    size: int
    first_page: bool
    last_page: bool
    empty: bool
    contents: list[dict[str, Any]] = Field(description="HSDS services, organizations, locations or links")


class HsdsItem(BaseModel):
    """An HSDS object; only fields with a value are present (see the HSDS 3.0 schema of its kind)."""

    model_config = ConfigDict(extra="allow")

    id: str = Field(description="UUID, stable across answers and exports")
    name: str | None = None
    description: str | None = None


class HsdsOpenApi(BaseModel):
    """The HSDS 3.0 API specification's OpenAPI document, with this API's information."""

    openapi: str
    info: dict[str, Any]
    servers: list[dict[str, Any]]
    paths: dict[str, Any]
    components: dict[str, Any]


class HsdsDataPackage(BaseModel):
    """The tabular export's Frictionless data package descriptor (the specification's, kept to its tables)."""

    name: str
    title: str
    description: str
    profile: str
    version: str
    homepage: str
    license: dict[str, Any]
    resources: list[dict[str, Any]]
