"""Coverage-gap analysis against its PySAL peers, side by side on the same inputs, in one run.

    .venv/bin/python benchmarks/analysis_vs_pysal.py [--quick] [--peer-max-pairs N] [--siting-only]

E2SFCA (step decay: zones r/3, 2r/3, r with weights 1, 0.68, 0.22) against PySAL `access`
(`Access.two_stage_fca` with `access.weights.step_fn`), and site suggestion (maximal covering) against PySAL
`spopt` (`MCLP.from_cost_matrix(...).solve(PULP_CBC_CMD)`). Inputs are a seeded synthetic city, 40 km x 40 km in
UTM 33N: clustered demand units with need weights and sites with capacities (5 % zero, i.e. closed).
The hard siting cases (`FULL_HARD_MCLP_CASES`) are cities where greedy falls short of the LP bound: demand over a few
wide, overlapping clusters with lognormal populations and candidates spread over the whole city; each line gives
the gap of greedy, of our final answer and of spopt's answer to our proven bound, and the time of each.

Timing rules (stated, so the ratios can be read right):
- Ours runs from coordinates: the pair search (geo.coverage.pairs_within) is inside our time (best of 3 runs).
- `access` needs a long pandas table of (origin, dest, cost) pairs; we build it with pairs_within and do NOT count
  that build in its time (it is printed separately). Its time is the `Access(...)` set-up plus `two_stage_fca`.
- `spopt` needs a dense cost matrix; scipy's cdist builds it and is NOT counted; its time is
  `MCLP.from_cost_matrix` plus `solve`.
Each tool runs in its own subprocess per case; memory is that process's peak resident set size (ru_maxrss), and
"+" is the growth over the resident size once the inputs exist. Peers are imported lazily (optional 'bench'
extra); a case whose pair table would exceed --peer-max-pairs is not run for the peer and is reported with the
table size it would need.
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

CITY_SIDE_M = 40_000.0
ORIGIN_M = (300_000.0, 5_790_000.0)  # a corner in UTM 33N (EPSG:32633), around Berlin
STEP_WEIGHTS = (1.0, 0.68, 0.22)
FULL_E2SFCA_CASES = [
    (units, sites, radius)
    for radius in (800.0, 2000.0)
    for units in (10_000, 100_000, 300_000)
    for sites in (100, 1_000, 10_000)
]
QUICK_E2SFCA_CASES = [(10_000, 100, 800.0), (10_000, 1_000, 800.0), (100_000, 1_000, 800.0)]
FULL_MCLP_CASES = [(10_000, 1_000, 800.0, 10), (10_000, 1_000, 2000.0, 10)]
QUICK_MCLP_CASES = [(2_000, 200, 800.0, 5)]
# Hard siting cases: (shape, units, candidates, radius, p, seed); shapes in HARD_SHAPES.
HARD_SHAPES = {
    "clusters": {"n_clusters": 8, "sigma_m": 3000.0},
    "wide": {"n_clusters": 5, "sigma_m": 4000.0},
}
FULL_HARD_MCLP_CASES = [
    *[("clusters", 10_000, 1_000, 2000.0, 10, seed) for seed in (1, 2, 3)],
    *[("wide", 10_000, 1_000, 2000.0, 10, seed) for seed in (1, 2)],
    *[("clusters", 2_000, 200, 2000.0, 5, seed) for seed in (1, 2)],
]
QUICK_HARD_MCLP_CASES = [("clusters", 2_000, 200, 2000.0, 5, 1)]
TARGET_CASE = (100_000, 1_000)  # E2SFCA should be >= 20x faster than access here
PEER_TIMEOUT_S = 1800


def _synthetic_points(n: int, rng: np.random.Generator, n_clusters: int = 40) -> np.ndarray:
    """n points (x/y metres, UTM 33N): 70 % around cluster centres (sigma 1.5 km), 30 % uniform over the city."""
    centres = rng.uniform(0, CITY_SIDE_M, size=(n_clusters, 2))
    clustered = int(n * 0.7)
    around = centres[rng.integers(0, n_clusters, size=clustered)] + rng.normal(0, 1500.0, size=(clustered, 2))
    xy = np.vstack([around, rng.uniform(0, CITY_SIDE_M, size=(n - clustered, 2))])
    return np.clip(xy, 0, CITY_SIDE_M) + np.asarray(ORIGIN_M)


def synthetic_city(n_units: int, n_sites: int, seed: int = 2024) -> dict[str, np.ndarray]:
    """Seeded demand units (need in people) and sites (capacity, 5 % zero) of the synthetic city."""
    rng = np.random.default_rng([seed, n_units, n_sites])
    units_xy = _synthetic_points(n_units, rng)
    need = rng.gamma(2.0, 15.0, size=n_units)
    sites_xy = _synthetic_points(n_sites, rng)
    capacity = rng.integers(1, 100, size=n_sites).astype(np.float64)
    capacity[rng.random(n_sites) < 0.05] = 0.0
    return {"units_xy": units_xy, "need": need, "sites_xy": sites_xy, "capacity": capacity}


def hard_siting_city(shape: str, n_units: int, n_sites: int, seed: int) -> dict[str, np.ndarray]:
    """A city where greedy is not optimal: demand over a few wide clusters (70 %) and uniform (30 %), lognormal
    populations; candidates uniform over the whole city."""
    spec = HARD_SHAPES[shape]
    rng = np.random.default_rng([seed, n_units, n_sites, 13])
    n_clusters, sigma_m = int(spec["n_clusters"]), float(spec["sigma_m"])
    centres = rng.uniform(0.2 * CITY_SIDE_M, 0.8 * CITY_SIDE_M, size=(n_clusters, 2))
    clustered = int(n_units * 0.7)
    around = centres[rng.integers(0, n_clusters, size=clustered)] + rng.normal(
        0, sigma_m, size=(clustered, 2)
    )
    units_xy = np.vstack([around, rng.uniform(0, CITY_SIDE_M, size=(n_units - clustered, 2))])
    population = rng.lognormal(3.0, 1.0, size=n_units)
    sites_xy = rng.uniform(0, CITY_SIDE_M, size=(n_sites, 2))
    origin = np.asarray(ORIGIN_M)
    return {"units_xy": units_xy + origin, "need": population, "sites_xy": sites_xy + origin}


def _rss_mb() -> float:
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * resource.getpagesize() / 1e6
    except OSError:
        return float("nan")


def _peak_rss_mb() -> float:
    # Linux reports ru_maxrss in KiB.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e6


# ---- workers: one tool, one case, one process -------------------------------------------------------------


def _worker_e2sfca_ours(units: int, sites: int, radius_m: float, out: Path) -> dict[str, Any]:
    from geo.access import e2sfca
    from geo.coverage import pairs_within

    city = synthetic_city(units, sites)
    base = _rss_mb()
    best = math.inf
    for _ in range(3):
        start = time.perf_counter()
        pairs = pairs_within(city["units_xy"], city["sites_xy"], radius_m)
        result = e2sfca(
            city["units_xy"],
            city["need"],
            city["sites_xy"],
            city["capacity"],
            radius_m,
            decay="step",
            pairs=pairs,
        )
        best = min(best, time.perf_counter() - start)
        n_pairs = len(pairs)
        del pairs
    np.save(out, result.access)
    return {"seconds": best, "n_pairs": n_pairs, "base_mb": base, "peak_mb": _peak_rss_mb()}


def _worker_e2sfca_access(units: int, sites: int, radius_m: float, out: Path) -> dict[str, Any]:
    import logging

    import pandas as pd
    from access import Access, weights

    from geo.coverage import pairs_within

    logging.getLogger("access").setLevel(logging.WARNING)
    city = synthetic_city(units, sites)
    start = time.perf_counter()
    pairs = pairs_within(city["units_xy"], city["sites_xy"], radius_m)
    cost = pd.DataFrame({"origin": pairs.unit_index, "dest": pairs.asset_index, "cost": pairs.distance_m})
    del pairs
    table_s = time.perf_counter() - start
    demand = pd.DataFrame({"geoid": np.arange(units), "demand": city["need"]})
    supply = pd.DataFrame({"geoid": np.arange(sites), "supply": city["capacity"]})
    base = _rss_mb()
    start = time.perf_counter()
    model = Access(
        demand_df=demand,
        demand_index="geoid",
        demand_value="demand",
        supply_df=supply,
        supply_index="geoid",
        supply_value="supply",
        cost_df=cost,
        cost_origin="origin",
        cost_dest="dest",
        cost_name="cost",
    )
    zones = {radius_m * k / 3: w for k, w in zip((1, 2, 3), STEP_WEIGHTS, strict=True)}
    frame = model.two_stage_fca(name="peer", max_cost=radius_m, weight_fn=weights.step_fn(zones))
    seconds = time.perf_counter() - start
    np.save(out, frame["peer_supply"].reindex(np.arange(units)).fillna(0.0).to_numpy())
    return {"seconds": seconds, "table_s": table_s, "base_mb": base, "peak_mb": _peak_rss_mb()}


def _worker_mclp_ours(units: int, sites: int, radius_m: float, p: int, out: Path) -> dict[str, Any]:
    from geo.siting import suggest_sites

    city = synthetic_city(units, sites, seed=7)
    base = _rss_mb()
    best = math.inf
    for _ in range(3):
        start = time.perf_counter()
        result = suggest_sites(city["units_xy"], city["need"], city["sites_xy"], radius_m, p)
        best = min(best, time.perf_counter() - start)
    np.save(out, result.chosen)
    return {
        "seconds": best,
        "objective": result.objective,
        "greedy_objective": result.greedy_objective,
        "lp_upper_bound": result.lp_upper_bound,
        "exact": result.exact,
        "method": result.method,
        "n_pairs": result.n_pairs,
        "base_mb": base,
        "peak_mb": _peak_rss_mb(),
    }


def _worker_mclp_spopt(units: int, sites: int, radius_m: float, p: int, out: Path) -> dict[str, Any]:
    import pulp
    from scipy.spatial.distance import cdist
    from spopt.locate import MCLP

    city = synthetic_city(units, sites, seed=7)
    start = time.perf_counter()
    cost = cdist(city["units_xy"], city["sites_xy"])
    matrix_s = time.perf_counter() - start
    base = _rss_mb()
    start = time.perf_counter()
    model = MCLP.from_cost_matrix(cost, city["need"], radius_m, p_facilities=p)
    model.solve(pulp.PULP_CBC_CMD(msg=False))
    seconds = time.perf_counter() - start
    chosen = np.array([j for j, var in enumerate(model.fac_vars) if (var.value() or 0) > 0.5])
    np.save(out, chosen)
    return {
        "seconds": seconds,
        "matrix_s": matrix_s,
        "objective": float(model.problem.objective.value()),
        "base_mb": base,
        "peak_mb": _peak_rss_mb(),
    }


def _worker_hard_ours(
    shape: str, units: int, sites: int, radius_m: float, p: int, seed: int, out: Path
) -> dict[str, Any]:
    from geo.siting import suggest_sites

    city = hard_siting_city(shape, units, sites, seed)
    base = _rss_mb()
    start = time.perf_counter()
    result = suggest_sites(city["units_xy"], city["need"], city["sites_xy"], radius_m, p)
    seconds = time.perf_counter() - start
    np.save(out, result.chosen)
    return {
        "seconds": seconds,
        "stages": result.stage_seconds,
        "objective": result.objective,
        "greedy_objective": result.greedy_objective,
        "local_search_objective": result.local_search_objective,
        "lp_upper_bound": result.lp_upper_bound,
        "upper_bound": result.upper_bound,
        "gap": result.gap,
        "exact": result.exact,
        "method": result.method,
        "n_pairs": result.n_pairs,
        "n_merged_units": result.n_merged_units,
        "n_candidates_exact": result.n_candidates_exact,
        "base_mb": base,
        "peak_mb": _peak_rss_mb(),
    }


def _worker_hard_spopt(
    shape: str, units: int, sites: int, radius_m: float, p: int, seed: int, out: Path
) -> dict[str, Any]:
    import pulp
    from scipy.spatial.distance import cdist
    from spopt.locate import MCLP

    city = hard_siting_city(shape, units, sites, seed)
    start = time.perf_counter()
    cost = cdist(city["units_xy"], city["sites_xy"])
    matrix_s = time.perf_counter() - start
    base = _rss_mb()
    start = time.perf_counter()
    model = MCLP.from_cost_matrix(cost, city["need"], radius_m, p_facilities=p)
    model.solve(pulp.PULP_CBC_CMD(msg=False))
    seconds = time.perf_counter() - start
    chosen = np.array([j for j, var in enumerate(model.fac_vars) if (var.value() or 0) > 0.5])
    np.save(out, chosen)
    return {
        "seconds": seconds,
        "matrix_s": matrix_s,
        "objective": float(model.problem.objective.value()),
        "status": pulp.LpStatus[model.problem.status],
        "base_mb": base,
        "peak_mb": _peak_rss_mb(),
    }


WORKERS = {
    "e2sfca-ours": _worker_e2sfca_ours,
    "e2sfca-access": _worker_e2sfca_access,
    "mclp-ours": _worker_mclp_ours,
    "mclp-spopt": _worker_mclp_spopt,
    "hard-ours": _worker_hard_ours,
    "hard-spopt": _worker_hard_spopt,
}


def _run_worker(name: str, args: list[str], out: Path, timeout_s: float) -> dict[str, Any]:
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", name, "--out", str(out), *args]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired:
        return {"error": f"did not finish within {timeout_s:.0f} s"}
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        return {"error": f"failed (exit {done.returncode}): {tail[0][:160]}"}
    return json.loads(done.stdout.strip().splitlines()[-1])


def _peer_available(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def _fmt_s(seconds: float) -> str:
    return f"{seconds:8.3f}" if seconds < 100 else f"{seconds:8.1f}"


def _mem(result: dict[str, Any]) -> str:
    return f"{result['peak_mb']:6.0f} MB (+{result['peak_mb'] - result['base_mb']:.0f})"


def run_e2sfca(
    cases: list[tuple[int, int, float]], peer_max_pairs: int, workdir: Path
) -> list[dict[str, Any]]:
    """Run every E2SFCA case for us and for `access`; print one line per case and return the records."""
    have_access = _peer_available("access")
    print(
        "\nE2SFCA (step decay) vs PySAL access.two_stage_fca; ratio = access time / our time;"
        "\ne2e = (pair table + access) / our time, both starting from the same coordinates"
    )
    print(
        f"{'units':>8} {'sites':>6} {'r_m':>5} {'pairs':>11} {'ours_s':>8} {'access_s':>9} {'table_s':>7} "
        f"{'ratio':>7} {'e2e':>6} {'match':>6}  memory ours | access"
    )
    records = []
    per_pair: dict[str, float] = {}
    for units, sites, radius_m in cases:
        args = ["--units", str(units), "--sites", str(sites), "--radius", str(radius_m)]
        ours = _run_worker("e2sfca-ours", args, workdir / "ours.npy", PEER_TIMEOUT_S)
        record: dict[str, Any] = {"units": units, "sites": sites, "radius_m": radius_m, "ours": ours}
        if "error" in ours:
            print(f"{units:>8} {sites:>6} {radius_m:>5.0f} ours {ours['error']}")
            records.append(record)
            continue
        n_pairs = ours["n_pairs"]
        line = f"{units:>8} {sites:>6} {radius_m:>5.0f} {n_pairs:>11,} {_fmt_s(ours['seconds'])} "
        if not have_access:
            print(line + "  access not installed (pip install -e .[bench])")
        elif n_pairs > peer_max_pairs:
            # Bare table: int64 origin, int64 dest, float64 cost; merges and apply need several copies more.
            table_gb = n_pairs * 24 / 1e9
            guess = ""
            if per_pair:
                guess = (
                    f", about {per_pair['s'] * n_pairs:.0f} s and {per_pair['mb'] * n_pairs / 1e3:.1f} GB"
                    " extrapolated per pair from the largest case run"
                )
            record["peer"] = {"skipped": True, "table_gb": table_gb}
            print(line + f"  access not run: a {n_pairs:,}-row pair table ({table_gb:.1f} GB bare){guess}")
        else:
            peer = _run_worker("e2sfca-access", args, workdir / "peer.npy", PEER_TIMEOUT_S)
            record["peer"] = peer
            if "error" in peer:
                print(line + f"  access {peer['error']}")
            else:
                mine, theirs = np.load(workdir / "ours.npy"), np.load(workdir / "peer.npy")
                match = bool(np.allclose(mine, theirs, rtol=1e-9, atol=1e-15))
                ratio = peer["seconds"] / ours["seconds"]
                e2e = (peer["seconds"] + peer["table_s"]) / ours["seconds"]
                record.update(ratio=ratio, e2e=e2e, match=match)
                per_pair = {
                    "s": peer["seconds"] / n_pairs,
                    "mb": (peer["peak_mb"] - peer["base_mb"]) / n_pairs,
                }
                print(
                    line + f"{_fmt_s(peer['seconds']):>9} {peer['table_s']:7.2f} {ratio:7.1f} {e2e:6.1f} "
                    f"{'yes' if match else 'NO':>6}  {_mem(ours)} | {_mem(peer)}"
                )
        records.append(record)
    return records


def run_mclp(cases: list[tuple[int, int, float, int]], workdir: Path) -> list[dict[str, Any]]:
    """Run every site-suggestion case for us and for spopt's MCLP; print one line per case."""
    have_spopt = _peer_available("spopt")
    print("\nSite suggestion (maximal covering) vs PySAL spopt MCLP + CBC; ratio = spopt time / our time")
    records = []
    for units, sites, radius_m, p in cases:
        args = ["--units", str(units), "--sites", str(sites), "--radius", str(radius_m), "--p", str(p)]
        ours = _run_worker("mclp-ours", args, workdir / "ours.npy", PEER_TIMEOUT_S)
        record: dict[str, Any] = {"units": units, "sites": sites, "radius_m": radius_m, "p": p, "ours": ours}
        head = f"{units:,} units x {sites:,} candidates, r = {radius_m:.0f} m, p = {p}"
        if "error" in ours:
            print(f"{head}: ours {ours['error']}")
            records.append(record)
            continue
        print(
            f"{head} ({ours['n_pairs']:,} pairs)\n  ours : {ours['seconds']:.3f} s, objective "
            f"{ours['objective']:.3f} ({ours['method']}, exact={ours['exact']}), greedy {ours['greedy_objective']:.3f}"
            f", LP bound {ours['lp_upper_bound']:.3f}, memory {_mem(ours)}"
        )
        if not have_spopt:
            print("  spopt not installed (pip install -e .[bench])")
        else:
            peer = _run_worker("mclp-spopt", args, workdir / "peer.npy", PEER_TIMEOUT_S)
            record["peer"] = peer
            if "error" in peer:
                print(f"  spopt {peer['error']}")
            else:
                ratio = peer["seconds"] / ours["seconds"]
                as_good = ours["objective"] >= peer["objective"] * (1 - 1e-9)
                record.update(ratio=ratio, as_good=as_good)
                print(
                    f"  spopt: {peer['seconds']:.3f} s (+ cost matrix {peer['matrix_s']:.2f} s not counted), objective "
                    f"{peer['objective']:.3f}, memory {_mem(peer)}\n  ratio {ratio:.1f}x, our objective at least as "
                    f"good: {'yes' if as_good else 'NO'}"
                )
        records.append(record)
    return records


def run_hard_mclp(cases: list[tuple[str, int, int, float, int, int]], workdir: Path) -> list[dict[str, Any]]:
    """Run the hard siting cases for us and for spopt; gaps are to our proven upper bound."""
    have_spopt = _peer_available("spopt")
    print(
        "\nSite suggestion where greedy is not optimal vs spopt MCLP + CBC; gap = (our proven bound - objective)"
        " / bound;\nratio = spopt time / our time, given only where our objective is at least spopt's"
    )
    print(
        f"{'shape':>8} {'units':>6} {'cand':>5} {'p':>3} {'seed':>4} {'greedy gap':>10} {'final gap':>9} "
        f"{'exact':>5} {'ours_s':>7} {'spopt gap':>9} {'spopt_s':>8} {'ratio':>7}  method, stages (s)"
    )
    records = []
    for shape, units, sites, radius_m, p, seed in cases:
        args = [
            "--shape",
            shape,
            "--units",
            str(units),
            "--sites",
            str(sites),
            "--radius",
            str(radius_m),
            "--p",
            str(p),
            "--seed",
            str(seed),
        ]
        ours = _run_worker("hard-ours", args, workdir / "ours.npy", PEER_TIMEOUT_S)
        record: dict[str, Any] = {
            "shape": shape,
            "units": units,
            "sites": sites,
            "radius_m": radius_m,
            "p": p,
            "seed": seed,
            "ours": ours,
        }
        head = f"{shape:>8} {units:>6} {sites:>5} {p:>3} {seed:>4}"
        if "error" in ours:
            print(f"{head} ours {ours['error']}")
            records.append(record)
            continue
        bound = ours["upper_bound"]
        greedy_gap = (bound - ours["greedy_objective"]) / bound if bound > 0 else 0.0
        line = (
            f"{head} {greedy_gap:10.3%} {ours['gap']:9.4%} {'yes' if ours['exact'] else 'no':>5} "
            f"{ours['seconds']:7.2f} "
        )
        stages = ", ".join(f"{k} {v:.2f}" for k, v in ours["stages"].items())
        tail = f"  {ours['method']}, {stages}; {ours['n_candidates_exact']} candidates left for the MILP"
        if not have_spopt:
            print(line + f"{'-':>9} {'-':>8} {'-':>7}" + tail + " (spopt not installed)")
        else:
            peer = _run_worker("hard-spopt", args, workdir / "peer.npy", PEER_TIMEOUT_S)
            record["peer"] = peer
            if "error" in peer:
                print(line + f"  spopt {peer['error']}" + tail)
            else:
                peer_gap = (bound - peer["objective"]) / bound if bound > 0 else 0.0
                if abs(peer_gap) < 1e-9:  # the same answer, to rounding (not "-0.0000 %")
                    peer_gap = 0.0
                as_good = ours["objective"] >= peer["objective"] * (1 - 1e-9)
                ratio = peer["seconds"] / ours["seconds"]
                record.update(as_good=as_good, ratio=ratio if as_good else None, peer_gap=peer_gap)
                shown = f"{ratio:6.1f}x" if as_good else "  worse"
                print(line + f"{peer_gap:9.4%} {peer['seconds']:8.2f} {shown:>7}" + tail)
        record["greedy_gap"] = greedy_gap
        records.append(record)
    return records


def run_berlin() -> None:
    """Time the real Berlin sample: under-6 childcare within 500 m (58 areas, ~9,500 cells, 1,175 kindergartens)."""
    import geopandas as gpd
    import pandas as pd

    from geo.gaps import GapParams, analyse_gaps

    data = Path(__file__).resolve().parents[1] / "data" / "berlin"
    renames = {"inhabitants": "pop_total", "inhabitants_age_below_6": "pop_under_6"}
    renames.update(
        {f"inhabitants_age_{b}": f"pop_{b}" for b in ("6_15", "15_18", "18_27", "27_45", "45_55", "55_65")}
    )
    renames.update({"inhabitants_age_above_65": "pop_over_65", "inhabitants_female": "pop_female"})
    renames["inhabitants_foreigners"] = "pop_foreigners"
    population = pd.read_csv(data / "berlin-lor-population-2024-02-t2-forecast-areas.csv", dtype={"id": str})
    areas = gpd.read_file(data / "berlin-lor-forecast-areas-from-2021.geojson")[["id", "name", "geometry"]]
    areas = areas.merge(population.rename(columns=renames)[["id", *renames.values()]], on="id")
    areas = areas.rename(columns={"id": "code"}).assign(id=np.arange(1, len(areas) + 1))
    kitas = pd.read_csv(data / "berlin-points-of-interest-kindergartens-details.csv")
    assets = gpd.GeoDataFrame(
        {"id": np.arange(len(kitas)), "capacity": np.nan},
        geometry=gpd.points_from_xy(kitas["lon"], kitas["lat"]),
        crs="EPSG:4326",
    )
    params = GapParams(group="under_6", radius_m=500.0)
    best = math.inf
    for _ in range(3):
        start = time.perf_counter()
        result = analyse_gaps(areas, assets, params, crs="EPSG:25833")
        best = min(best, time.perf_counter() - start)
    print(
        f"\nBerlin sample, under-6 childcare within 500 m: {best:.2f} s for the whole run "
        f"({result.totals['n_units']:,} units, {result.totals['n_assets']:,} kindergartens); "
        f"covered share {result.totals['covered_share']:.4f}"
    )


def _print_hard_targets(records: list[dict[str, Any]]) -> None:
    """The goal on the hard cases: within 0.1 % of the proven bound (or optimal) in about a second."""
    for record in records:
        ours = record["ours"]
        if "error" in ours:
            continue
        met = ours["gap"] <= 1e-3 and ours["seconds"] <= 2.0
        versus = ""
        if record.get("ratio") is not None:
            versus = f", {record['ratio']:.1f}x spopt with an objective at least as good"
        elif "as_good" in record:
            versus = ", objective below spopt's"
        print(
            f"  hard siting {record['shape']} {record['units']:,} x {record['sites']:,}, p = {record['p']}, seed "
            f"{record['seed']}: gap {ours['gap']:.4%} in {ours['seconds']:.2f} s{versus} -> "
            f"{'met' if met else 'NOT met'}"
        )


def main(argv: list[str] | None = None) -> int:
    """Parse arguments; run a worker, or the whole comparison and print the table and targets."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small subset, as a smoke test")
    parser.add_argument(
        "--peer-max-pairs", type=int, default=10_000_000, help="largest pair table given to access"
    )
    parser.add_argument("--skip-mclp", action="store_true")
    parser.add_argument(
        "--siting-only",
        action="store_true",
        help="only the site-suggestion cases (easy and hard; with --skip-mclp the hard ones), no E2SFCA",
    )
    parser.add_argument("--worker", choices=sorted(WORKERS), help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--units", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--sites", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--radius", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--p", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--shape", choices=sorted(HARD_SHAPES), help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        if args.worker.startswith("hard"):
            record = WORKERS[args.worker](
                args.shape, args.units, args.sites, args.radius, args.p, args.seed, args.out
            )
        else:
            extra = [args.p] if args.worker.startswith("mclp") else []
            record = WORKERS[args.worker](args.units, args.sites, args.radius, *extra, args.out)
        print(json.dumps(record))
        return 0

    if args.siting_only:
        with tempfile.TemporaryDirectory(prefix="assetmap-bench-") as tmp:
            workdir = Path(tmp)
            if not args.skip_mclp:
                run_mclp(QUICK_MCLP_CASES if args.quick else FULL_MCLP_CASES, workdir)
            hard = run_hard_mclp(QUICK_HARD_MCLP_CASES if args.quick else FULL_HARD_MCLP_CASES, workdir)
        _print_hard_targets(hard)
        return 0

    print(__doc__.split("\n\n")[0])
    with tempfile.TemporaryDirectory(prefix="assetmap-bench-") as tmp:
        workdir = Path(tmp)
        e2sfca_records = run_e2sfca(
            QUICK_E2SFCA_CASES if args.quick else FULL_E2SFCA_CASES, args.peer_max_pairs, workdir
        )
        mclp_records = (
            [] if args.skip_mclp else run_mclp(QUICK_MCLP_CASES if args.quick else FULL_MCLP_CASES, workdir)
        )
    run_berlin()

    print("\nTargets")
    target = [r for r in e2sfca_records if (r["units"], r["sites"]) == TARGET_CASE and "ratio" in r]
    for record in target:
        verdict = "met" if record["ratio"] >= 20 and record["match"] else "NOT met"
        print(
            f"  E2SFCA >= 20x access at 100k x 1k, r = {record['radius_m']:.0f} m: {record['ratio']:.1f}x "
            f"(access alone; {record['e2e']:.1f}x counting its pair table), "
            f"results match to 1e-9: {record['match']} -> {verdict}"
        )
    for record in mclp_records:
        if "ratio" in record:
            verdict = "met" if record["ratio"] >= 10 and record["as_good"] else "NOT met"
            print(
                f"  MCLP >= 10x spopt at {record['units']:,} x {record['sites']:,}, r = {record['radius_m']:.0f} m: "
                f"{record['ratio']:.1f}x, objective at least as good: {record['as_good']} -> {verdict}"
            )
    mismatches = [r for r in e2sfca_records if r.get("match") is False]
    if not args.skip_mclp:
        with tempfile.TemporaryDirectory(prefix="assetmap-bench-") as tmp:
            hard = run_hard_mclp(QUICK_HARD_MCLP_CASES if args.quick else FULL_HARD_MCLP_CASES, Path(tmp))
        _print_hard_targets(hard)
    return 1 if mismatches else 0


if __name__ == "__main__":
    raise SystemExit(main())
