"""Site suggestion (ANALYSIS.md (d), maximal covering location) and closures (ANALYSIS.md (e)).

suggest_sites chooses up to p candidates maximising the shortfall within radius_m of a chosen site. It merges
demand units covered by the same set of candidates, runs a greedy heuristic (never below 1 - 1/e of the
optimum), bounds the optimum from above with the LP relaxation (HiGHS via scipy.optimize.linprog) and, when
the problem is small enough, solves it exactly with scipy.optimize.milp under a time limit. Existing assets
stay open: their effect is already in the shortfall. When the run's shortfall is not computable (capacity unknown
and no default, geo.capacity) the sites cover the most need beyond reach of any open asset instead, and the
changes in unmet need are NaN.

Between greedy and the exact stage, swaps (geo.siting.search) improve the answer and an LP bound found by column
generation (geo.siting.lagrange) rules out candidates, so the MILP runs on a much smaller problem; the answer
always carries the best proven bound and its gap. suggest_sites_capacitated (geo.siting.capacitated) is the
variant where each site serves at most its capacity and demand is assigned only within reach.
"""

from geo.siting.capacitated import (
    DEFAULT_CAPACITATED_MAX_SIZE,
    CapacitatedSuggestion,
    suggest_sites_capacitated,
)
from geo.siting.optimise import DEFAULT_EXACT_MAX_SIZE, SiteSuggestion, suggest_sites
from geo.siting.scenarios import (
    ClosureResult,
    SitingResult,
    close_assets,
    default_new_site_capacity,
    siting_weight,
    suggest_sites_for_gaps,
    what_if_close,
)

__all__ = [
    "DEFAULT_CAPACITATED_MAX_SIZE",
    "DEFAULT_EXACT_MAX_SIZE",
    "CapacitatedSuggestion",
    "ClosureResult",
    "SiteSuggestion",
    "SitingResult",
    "close_assets",
    "default_new_site_capacity",
    "siting_weight",
    "suggest_sites",
    "suggest_sites_capacitated",
    "suggest_sites_for_gaps",
    "what_if_close",
]
