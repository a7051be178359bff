"""What a reader must know before trusting a run's numbers, in one plain sentence each (the API, CLI and map).

Today that is unknown capacity (docs/ANALYSIS.md "Unknown capacity"): how many assets lack one, and whether the
unmet-need measures used a default capacity or are not computable.
"""

from __future__ import annotations

from typing import Any


def _number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def capacity_unknown_text(totals: dict[str, Any]) -> str | None:
    """'capacity unknown for N of M assets' (None when every capacity is known)."""
    unknown = int(totals.get("n_unknown_capacity") or 0)
    if unknown == 0:
        return None
    return f"capacity unknown for {unknown} of {int(totals.get('n_assets') or 0)} assets"


def unmet_need_computable(totals: dict[str, Any]) -> bool:
    """Whether the run's unmet-need measures mean something (runs from before this rule: when no capacity
    was unknown)."""
    if "capacity_computable" in totals:
        return bool(totals["capacity_computable"])
    return not totals.get("n_unknown_capacity")


def capacity_warning(totals: dict[str, Any] | None, service_slug: str | None) -> str | None:
    """The unknown-capacity warning of a run, or None when all its capacities are known."""
    if not totals:
        return None
    unknown = capacity_unknown_text(totals)
    if unknown is None:
        return None
    default = totals.get("default_capacity")
    if default is not None:
        return f"{unknown}: used the default capacity {_number(default)}"
    slug = service_slug or "SERVICE"
    if "capacity_computable" not in totals:
        return f"{unknown}: counted as capacity 1 by this older run, so its unmet need means little; start a new run"
    return (
        f"{unknown}: unmet need not computed (set a default with "
        f"`assetmap capacity set --service {slug} --capacity C`, or PUT /api/service-types/{slug}/default-capacity)"
    )


def run_warnings(totals: dict[str, Any] | None, service_slug: str | None) -> list[str]:
    """Every warning of a run, in order of importance (empty when there is nothing to say)."""
    warning = capacity_warning(totals, service_slug)
    return [warning] if warning else []


def capacity_summary(totals: dict[str, Any] | None) -> dict[str, Any] | None:
    """How a run dealt with unknown capacity: counts, the default used, whether unmet need was computed."""
    if not totals:
        return None
    computable = unmet_need_computable(totals)
    return {
        "n_assets": totals.get("n_assets"),
        "n_unknown_capacity": totals.get("n_unknown_capacity"),
        "default_capacity": totals.get("default_capacity"),
        "unmet_need_computable": computable,
        "ranked_by": "unmet_need" if computable else "uncovered_need",
    }


def map_notes(totals: dict[str, Any] | None) -> list[str]:
    """Short lines for a map's title and legend boxes about unknown capacity (empty when all are known)."""
    unknown = capacity_unknown_text(totals or {})
    if totals is None or unknown is None:
        return []
    default = totals.get("default_capacity")
    if default is not None:
        return [unknown, f"default capacity {_number(default)} used for them"]
    if "capacity_computable" not in totals:
        return [unknown, "counted as capacity 1 by this older run: unmet need not meaningful"]
    return [unknown, "unmet need not computed: shaded by need beyond reach"]
