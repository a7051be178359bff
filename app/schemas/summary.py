"""The answer of GET /api/neighbourhoods/{id}/summary (app/services/summary.py): counts hidden as null when small."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

Source = Literal["own", "children"]


class IncludedAreas(BaseModel):
    """The areas below this one whose figures the summary includes."""

    areas: int = Field(description="how many areas lie inside, at any depth (0: none)")
    levels: list[str] = Field(description="their levels, largest first")
    depth: int = Field(description="how many levels down they go")


class AssetCounts(BaseModel):
    """Published assets in the area; a count that would give a small group away is null."""

    total: int | None = Field(description="null when any count below is hidden (a total would give it away)")
    by_category: dict[str, int | None]
    by_service_type: dict[str, int | None]


class NeedCount(BaseModel):
    """Approved needs of one service type."""

    needs: int
    people_affected: int


class ResourceCount(BaseModel):
    """Approved resources of one kind."""

    resources: int
    quantity: float | None = Field(description="their summed quantity (null: none has one)")


class LinkCounts(BaseModel):
    """Approved links of the area's assets."""

    inside: int = Field(description="both ends in the area")
    crossing_border: int = Field(description="one end in the area, the other outside")


class NeighbourhoodSummary(BaseModel):
    """Population by group, assets, needs, resources and links of an area and the areas inside it."""

    id: int
    city_id: int
    code: str
    name: str
    level: Literal["district", "neighbourhood", "area"]
    parent_id: int | None
    population: int | None = Field(description="null: unknown (no own figure and not every child has one)")
    population_source: Source | None = Field(description="own figure, or the sum of the children's")
    population_by_group: dict[str, int]
    population_by_group_source: Source | None
    includes_children: IncludedAreas
    assets: AssetCounts
    needs: dict[str, NeedCount] = Field(description="by service type slug")
    resources: dict[str, ResourceCount] = Field(description="by resource kind")
    links: LinkCounts
    small_count_threshold: int = Field(
        description="counts of people or sensitive assets under this are hidden"
    )
