"""Answers of the resource and link routes and of every kind's history, as the database and services build them.

The routes send JSON built by the database (app/db/features.py) or by the services; these models describe it in
/openapi.json and the fuzz suite checks every answer against them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, Field

from app.schemas.features import LinkKind, ResourceKind
from geo.vocab import REVIEW_STATUSES

ReviewStatus = Literal[REVIEW_STATUSES]


class ReviewedOut(BaseModel):
    """What every reviewed item answers with besides its own fields."""

    id: int
    city_id: int
    status: ReviewStatus = Field(description="approved items are public; pending and rejected ones are not")
    version: int = Field(description="send it back as If-Match (or 'version') to change the item")
    created_at: dt.datetime
    updated_at: dt.datetime


class ResourceOut(ReviewedOut):
    """A resource: what an asset or a neighbourhood offers (a room, equipment, time, money)."""

    asset_id: int | None
    neighbourhood_id: int | None
    kind: ResourceKind
    quantity: float | None
    unit: str | None
    available_from: dt.date | None
    available_until: dt.date | None
    description: str | None


class LinkOut(ReviewedOut):
    """A link between two assets: the community's network."""

    source_asset_id: int
    target_asset_id: int
    kind: LinkKind
    weight: float | None
    directed: bool
    description: str | None


class ItemPage(BaseModel):
    """What every page of a list has besides its items."""

    numberReturned: int = Field(description="how many items this page has")  # the OGC API name
    next: str | None = Field(description="the next page's URL; null on the last page")


class ResourceList(ItemPage):
    """A page of resources in id order."""

    items: list[ResourceOut]


class LinkList(ItemPage):
    """A page of links in id order."""

    items: list[LinkOut]


class HistoryEntry(BaseModel):
    """One recorded change of an item, its states before and after shaped for the reader like the item itself."""

    id: int
    action: Literal["create", "update", "delete", "revert", "restore", "approve", "reject", "import"]
    version: int | None = Field(description="the item's version after the change")
    at: dt.datetime
    user: str | None = Field(description="who made the change (null: the command line, or a deleted account)")
    import_id: int | None = Field(description="the import run that made the change")
    message: str | None
    before: dict[str, Any] | None = Field(description="the item's column values before (null: created here)")
    after: dict[str, Any] | None = Field(description="the item's column values after (null: deleted here)")


class HistoryList(BaseModel):
    """An item's changes, oldest first."""

    items: list[HistoryEntry]
