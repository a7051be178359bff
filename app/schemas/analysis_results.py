"""Answers of a run's results and scenarios: run lists, per-asset rows, suggested sites, closures, the network.

Columns come from geo/ (geo/gap_params.py GapResult, geo/siting/, geo/network.py); a figure that cannot be computed
(NaN there, e.g. unmet need while capacity is unknown) is null here.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from app.schemas.analysis_runs import RunDocument

View = Literal["exact", "public"]
VIEW = "exact (planner rights) or public"


class RunList(BaseModel):
    """Runs, newest first."""

    items: list[RunDocument]
    next_before: int | None = Field(description="send it as 'before' for older runs; null: none left")


class RunAssetRow(BaseModel):
    """One asset of the run's service type: capacity used, demand in reach, supply ratio, idle."""

    id: int
    name: str | None
    capacity: float | None = Field(description="as given (null: unknown)")
    capacity_used: float | None = Field(description="the default capacity where unknown; null if none is set")
    capacity_unknown: bool
    closed: bool
    units_in_reach: int
    demand_in_reach: float | None = Field(description="decay-weighted need in reach")
    ratio: float | None = Field(description="supply per person in reach (R_j)")
    idle: bool
    category: str
    neighbourhood_id: int | None
    status: str


class RunAssets(BaseModel):
    """Per-asset results of a run; people's and sensitive assets are left out of the public view."""

    run: int
    view: View = Field(description=VIEW)
    items: list[RunAssetRow]
    numberReturned: int
    withheld: int | None = Field(description="assets left out of this view (null: too few to say)")
    note: str | None


class SiteNeighbourhood(BaseModel):
    """The area a suggested site lies in."""

    id: int
    code: str
    name: str


class SuggestedSite(BaseModel):
    """A chosen site, in pick order."""

    rank: int
    candidate_id: int | str = Field(description="the asset id, H3 cell or proposed point id")
    asset_id: int | None = Field(description="the place chosen (candidates venues or physical_spaces)")
    name: str
    kind: str | None = Field(description="what sort of place it is (asset.kind), null where not known")
    reasons: list[str] = Field(description="why it qualifies as a candidate")
    neighbourhood: SiteNeighbourhood | None
    lon: float
    lat: float
    capacity: float | None
    capacity_source: Literal["candidate", "new_site_capacity"] | None = Field(
        None,
        description="capacitated suggestions: the place's own capacity, or the new-site capacity (not known)",
    )
    shortfall_covered: float | None = Field(
        description="shortfall this site newly covers (capacitated: the demand assigned to it)"
    )
    assigned: float | None = Field(
        None, description="capacitated suggestions: the demand assigned to this site (at most its capacity)"
    )


class SitingTotals(BaseModel):
    """City-wide effect of the suggested sites."""

    p: int
    n_sites: int
    new_site_capacity: float | None
    objective_measure: str = Field(description="what the sites cover: shortfall, or need beyond reach")
    shortfall_within_reach_of_sites: float | None
    upper_bound: float | None
    exact: bool
    unmet_need_before: float | None
    unmet_need_after: float | None
    unmet_need_change: float | None


class NewSiteCapacity(BaseModel):
    """The capacity each suggested site adds, and the rule that chose it."""

    value: float
    rule: Literal["given", "median_known", "run_default", "one"]
    text: str


class SitesNeededForShare(BaseModel):
    """The fewest sites found whose reach holds a share of the gap (geo.siting.cover)."""

    share: float = Field(description="the share of the gap, e.g. 0.5 or 0.9")
    n_sites: int | None = Field(description="sites needed; null when all candidates together cannot reach it")
    reachable: bool
    exact: bool = Field(description="proven the fewest (the MILP, or the LP bound meets it)")
    lower_bound: int | None = Field(description="no fewer sites can reach the share")
    greedy_sites: int | None
    method: str = Field(description="none, greedy, milp or unreachable")


class GapClosed(BaseModel):
    """The share of the gap within reach of the suggested sites, of all candidates, and the sites each share takes."""

    measure: str = Field(description="what the gap is: shortfall (unmet need), or need beyond reach")
    total: float = Field(description="the gap: the measure summed over all demand units")
    share_closed: float | None = Field(description="objective / total: the share within reach of the p sites")
    share_closed_exact: bool = Field(description="the sites are proven the best p")
    max_share: float | None = Field(description="the share within reach of all candidates together")
    sites_needed: list[SitesNeededForShare]


class SitingChange(BaseModel):
    """Unmet need (people) in one area before and after the suggested sites."""

    id: int
    code: str
    name: str
    need: float | None
    before: float | None
    after: float | None
    change: float | None


class SiteSuggestionOut(BaseModel):
    """Sites suggested for a run's gaps (stored with the run): chosen sites, objective, bounds, change per area."""

    run: int
    id: int = Field(description="the suggestion's number on this run")
    view: View = Field(description=VIEW)
    p: int
    candidates: str = Field(description="venues, physical_spaces, h3 or points")
    candidate_rule: str = Field(description="which places were candidates, in words")
    venue_kinds: list[str] | None = Field(description="the kinds that qualified a venue (candidates venues)")
    venue_kinds_source: str | None = Field(description="whose list: service_type or city")
    n_candidates: int
    capacitated: bool = Field(False, description="each site takes at most its capacity")
    sites: list[SuggestedSite]
    objective: float | None
    greedy_objective: float | None
    lp_upper_bound: float | None
    upper_bound: float | None
    exact: bool
    gap: float | None = Field(description="(upper bound - objective) / upper bound; 0 when proven optimal")
    method: str = Field(description="greedy, milp or all (capacitated: heuristic, milp or all)")
    new_site_capacity: NewSiteCapacity
    gap_closed: GapClosed
    totals: SitingTotals
    unmet_need_computable: bool
    warnings: list[str]
    neighbourhoods: list[SitingChange] = Field(
        description="areas whose unmet need changes, most relieved first"
    )


class ClosedAsset(BaseModel):
    """An asset the scenario closes."""

    id: int
    name: str | None
    neighbourhood_id: int | None


class ClosureTotals(BaseModel):
    """City-wide effect of the closure."""

    n_closed: int
    n_units_losing_coverage: int
    need_losing_coverage: float | None
    population_losing_coverage: float | None
    unmet_need_before: float | None
    unmet_need_after: float | None
    unmet_need_change: float | None


class ClosureChange(BaseModel):
    """Coverage and unmet need in one area before and after the closure."""

    id: int
    code: str
    name: str
    need: float | None
    covered_need_before: float | None
    covered_need_after: float | None
    need_losing_coverage: float | None
    population_losing_coverage: float | None
    unmet_need_before: float | None
    unmet_need_after: float | None
    unmet_need_change: float | None


class WhatIfOut(BaseModel):
    """What closing assets would do: people losing coverage and the change in unmet need per area."""

    run: int
    view: View = Field(description=VIEW)
    closed: list[ClosedAsset]
    totals: ClosureTotals
    unmet_need_computable: bool
    warnings: list[str]
    neighbourhoods: list[ClosureChange] = Field(description="every area, those losing most first")
    units_losing_coverage: list[str] | None = Field(
        None, description="unit ids covered before and not after (planner rights only; absent otherwise)"
    )


class NetworkCity(BaseModel):
    """The network's city."""

    id: int
    name: str


class NetworkTotals(BaseModel):
    """The network in numbers."""

    n_assets: int
    n_links: int
    n_ties: int = Field(description="distinct pairs of linked assets")
    n_components: int
    largest_component_size: int
    n_isolated: int
    n_brokers: int
    n_cross_border_links: int
    cross_border_share: float | None
    density: float


class NetworkAsset(BaseModel):
    """One published asset's place in the network."""

    id: int
    name: str | None
    neighbourhood_id: int | None
    degree: int = Field(description="distinct partners")
    link_count: int
    cross_border_links: int
    betweenness: float
    component: int = Field(description="its component's number (0: the largest)")
    component_size: int
    isolated: bool
    broker: bool
    category: str
    lon: float
    lat: float


class NetworkLink(BaseModel):
    """One link between two assets of the network."""

    id: int
    source_id: int
    target_id: int
    kind: str | None
    weight: float | None
    directed: bool
    crosses_border: bool


class NetworkComponent(BaseModel):
    """A group of linked assets (two or more)."""

    component: int
    size: int
    n_neighbourhoods: int
    n_links: int
    asset_ids: list[int]


class Network(BaseModel):
    """The relationship network of a city's published assets."""

    city: NetworkCity
    view: View = Field(description=VIEW)
    totals: NetworkTotals
    assets: list[NetworkAsset]
    links: list[NetworkLink]
    components: list[NetworkComponent]
    withheld: int | None = Field(description="assets left out of this view (null: too few to say)")
