"""Importing zipped shapefiles: `assetmap import` (the service function) against GDAL's ogr2ogr, in one run.

    .venv/bin/python benchmarks/import_vs_ogr2ogr.py [--points 500000] [--polygons 50000] [--repeat 3] [--quick]

Inputs come from benchmarks/make_import_data.py (fixed seed) in a temporary folder: a zipped shapefile of asset-like
points and one of neighbourhood-like polygons with a few bow-ties, both in EPSG:25833. Both tools load them into a
benchmark database created for this run (from the `assetmap_template` database when there is one) and dropped
at the end, so the database named by ASSETMAP_DATABASE_URL is never touched beyond creating and dropping it.

Cases: the points into a fresh city (no neighbourhoods), the same points into a city with Berlin's 12 districts and
448 planning areas (data/berlin, imported before the clock starts, so every point's neighbourhood is looked up as in
a real import), and the polygons into a fresh city.

What each side does:
- ours: `run_import` as `assetmap import` runs it: read and check the file, repair geometries, map fields, blurred
  locations (assets), neighbourhood lookup, existing items found by natural key, new items written by COPY into the
  live `asset` / `neighbourhood` table (with its indexes, constraints and triggers), changed ones updated, and the
  history, in one transaction.
- ogr2ogr: `ogr2ogr -f PostgreSQL PG:... /vsizip/FILE.zip -nln bench_x -t_srs EPSG:4326 -makevalid -dim XY
  --config PG_USE_COPY YES` into a new table (with its GiST index); polygons add `-nlt PROMOTE_TO_MULTI`, points do
  not (they stay points, as our asset column is a Point).
The two run in turn, `--repeat` times; between runs the tables are emptied (ours: TRUNCATE; ogr2ogr: DROP TABLE),
so every run starts from empty tables. The medians and the ratio ours/ogr2ogr are printed per case, with the
median time of each of our stages (the import's progress stages: a stage lasts until the next one starts).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql
from sqlalchemy.engine import URL, make_url

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

from app.db.session import session_scope  # noqa: E402
from app.services.imports import STAGES, ImportRequest, run_import  # noqa: E402
from app.services.migrations import upgrade  # noqa: E402
from app.services.provision import create_scratch_database, drop_scratch_database  # noqa: E402
from app.settings import Settings, get_settings  # noqa: E402

TABLE = "bench_x"
TARGET_RATIO = 1.0
BERLIN = ROOT / "data" / "berlin"
# Real boundaries covering the points' extent: (file, level) imported in this order before the timed run.
BOUNDARIES = (
    ("berlin-lor-districts.geojson", "district"),
    ("berlin-lor-planning-areas-until-2020.geojson", "neighbourhood"),
)
QUICK = {"points": 50_000, "polygons": 5_000, "repeat": 1}


@dataclass
class Case:
    """One input file and how each tool loads it."""

    label: str
    path: Path
    layer: str
    promote_to_multi: bool
    with_boundaries: bool = False
    ours_s: list[float] = field(default_factory=list)
    ogr_s: list[float] = field(default_factory=list)
    # Client CPU seconds (ours: this process, all threads; ogr2ogr: its process), printed to read noisy runs by.
    ours_cpu: list[float] = field(default_factory=list)
    ogr_cpu: list[float] = field(default_factory=list)
    stages_s: dict[str, list[float]] = field(default_factory=dict)
    rows: tuple[int, int] = (0, 0)


@contextmanager
def bench_database(base_url: str) -> Iterator[str]:
    """A database created (and migrated) for this run, dropped afterwards."""
    url = create_scratch_database(base_url, "assetmap_bench")
    try:
        upgrade(url)
        yield url
    finally:
        drop_scratch_database(url)


def _libpq(url: URL) -> str:
    """A libpq connection string without the password (it goes in PGPASSWORD, never on a command line)."""
    return f"host={url.host} port={url.port or 5432} user={url.username} dbname={url.database}"


def _reset(url: str) -> None:
    """Empty the tables both tools write to, so each run starts from empty tables."""
    parsed = make_url(url)
    with psycopg.connect(_libpq(parsed), password=parsed.password, autocommit=True) as conn:
        conn.execute(
            "TRUNCATE change, asset_service_type, asset, need, resource, neighbourhood, import_run, city CASCADE"
        )
        conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(TABLE)))
        conn.execute("INSERT INTO city (name) VALUES ('Bench')")
        conn.execute("VACUUM ANALYZE asset, neighbourhood, change")


def add_boundaries(settings: Settings) -> int:
    """Import Berlin's districts and planning areas into the benchmark city (not timed); return how many."""
    count = 0
    with session_scope(settings) as db:
        for name, level in BOUNDARIES:
            run = run_import(
                db,
                settings,
                ImportRequest(
                    city="Bench",
                    layer="neighbourhoods",
                    mapping={"code": "id", "name": "name"},
                    defaults={"level": level},
                    source="bench-boundaries",
                    skip_invalid=True,  # two old planning areas have a defect the import reports
                ),
                [BERLIN / name],
            )
            count += run.inserted
    return count


def run_ours(settings: Settings, case: Case) -> tuple[float, dict[str, float], int]:
    """Time the import service on one file; return seconds, seconds per stage and rows written."""
    marks: list[tuple[str, float]] = []
    with session_scope(settings) as db:
        cpu = time.process_time()
        start = time.perf_counter()
        run = run_import(
            db,
            settings,
            ImportRequest(city="Bench", layer=case.layer, source="bench"),
            [case.path],
            progress=lambda stage: marks.append((stage, time.perf_counter())),
        )
        elapsed = time.perf_counter() - start
        case.ours_cpu.append(time.process_time() - cpu)
    # A stage lasts until the next one starts; the last one until the import returns.
    durations: dict[str, float] = {}
    for index, (name, mark) in enumerate(marks):
        following = marks[index + 1][1] if index + 1 < len(marks) else start + elapsed
        if name in STAGES:
            durations[name] = durations.get(name, 0.0) + following - mark
    return elapsed, durations, run.inserted + run.updated


def _analyze(url: str) -> None:
    parsed = make_url(url)
    with psycopg.connect(_libpq(parsed), password=parsed.password, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE neighbourhood, change")


def run_ogr2ogr(url: str, case: Case) -> tuple[float, int]:
    """Time ogr2ogr loading the same zip into a new table; return seconds and rows in the table."""
    parsed = make_url(url)
    command = [
        "ogr2ogr",
        "-f",
        "PostgreSQL",
        f"PG:{_libpq(parsed)}",
        f"/vsizip/{case.path}",
        "-nln",
        TABLE,
        "-t_srs",
        "EPSG:4326",
        "-makevalid",
        "-dim",
        "XY",
        "--config",
        "PG_USE_COPY",
        "YES",
    ]
    if case.promote_to_multi:
        command += ["-nlt", "PROMOTE_TO_MULTI"]
    environment = {**os.environ, "PGPASSWORD": parsed.password or ""}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, check=True, env=environment, stdout=subprocess.DEVNULL)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    case.ogr_cpu.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    with psycopg.connect(_libpq(parsed), password=parsed.password) as conn:
        rows = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(TABLE))).fetchone()
    return elapsed, int(rows[0]) if rows else 0


def _versions(url: str) -> str:
    parsed = make_url(url)
    with psycopg.connect(_libpq(parsed), password=parsed.password) as conn:
        row = conn.execute("SELECT current_setting('server_version'), postgis_lib_version()").fetchone()
    gdal = subprocess.run(["ogr2ogr", "--version"], capture_output=True, text=True, check=True).stdout.strip()
    return f"PostgreSQL {row[0] if row else '?'}, PostGIS {row[1] if row else '?'}, {gdal}, {os.cpu_count()} CPUs"


def main(argv: list[str] | None = None) -> int:
    """Generate the inputs, run both tools in turn and print medians and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--points", type=int, default=500_000, help="asset points in the first file (0: skip)"
    )
    parser.add_argument(
        "--polygons", type=int, default=50_000, help="neighbourhood polygons in the second file (0: skip)"
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs of each tool per file (median reported)")
    parser.add_argument("--seed", type=int, default=20240531, help="seed for make_import_data.py")
    parser.add_argument(
        "--no-boundaries", action="store_true", help="skip the case of points into a city with neighbourhoods"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"small smoke run: {QUICK['points']:,} points, {QUICK['polygons']:,} polygons, 1 run",
    )
    args = parser.parse_args(argv)
    if args.quick:
        for name, value in QUICK.items():
            setattr(args, name, value)
    if shutil.which("ogr2ogr") is None:
        print("ogr2ogr is not installed: apt-get install gdal-bin", file=sys.stderr)
        return 2

    import make_import_data

    base_settings = get_settings()
    with tempfile.TemporaryDirectory(prefix="assetmap-bench-") as folder:
        out = Path(folder)
        print(f"generating inputs (seed {args.seed}) ...", flush=True)
        make_import_data.main(
            [
                str(out),
                "--points",
                str(args.points),
                "--polygons",
                str(args.polygons),
                "--seed",
                str(args.seed),
            ]
        )
        cases = []
        if args.points:
            points = out / "assets_points.zip"
            cases.append(Case(f"{args.points:,} points", points, "assets", False))
            if not args.no_boundaries:
                cases.append(Case(f"{args.points:,} points, 460 areas", points, "assets", False, True))
        if args.polygons:
            cases.append(
                Case(
                    f"{args.polygons:,} polygons", out / "neighbourhood_polygons.zip", "neighbourhoods", True
                )
            )
        with bench_database(base_settings.database_url) as url:
            settings = base_settings.model_copy(
                update={"database_url": url, "statement_timeout_ms": 3_600_000}
            )
            print(_versions(url), flush=True)
            for run in range(1, args.repeat + 1):
                for case in cases:
                    _reset(url)
                    if case.with_boundaries:
                        add_boundaries(settings)
                        _analyze(url)
                    ours, stages, written = run_ours(settings, case)
                    _reset(url)
                    ogr, loaded = run_ogr2ogr(url, case)
                    case.ours_s.append(ours)
                    case.ogr_s.append(ogr)
                    case.rows = (written, loaded)
                    for name, seconds in stages.items():
                        case.stages_s.setdefault(name, []).append(seconds)
                    print(
                        f"  run {run} {case.label}: ours {ours:.2f} s, ogr2ogr {ogr:.2f} s "
                        f"({ours / ogr:.2f}x; client CPU {case.ours_cpu[-1]:.2f} / {case.ogr_cpu[-1]:.2f} s)",
                        flush=True,
                    )
            _reset(url)

    print()
    print(f"{'case':<26} {'rows ours/ogr2ogr':>19} {'ours (median)':>14} {'ogr2ogr':>9} {'ratio':>7}")
    worst = 0.0
    for case in cases:
        ours, ogr = statistics.median(case.ours_s), statistics.median(case.ogr_s)
        ratio = ours / ogr
        worst = max(worst, ratio)
        rows = f"{case.rows[0]:,}/{case.rows[1]:,}"
        print(f"{case.label:<26} {rows:>19} {ours:>12.2f} s {ogr:>7.2f} s {ratio:>6.2f}x")
    print("\nclient CPU (median s; the server's work for either is not in it):")
    for case in cases:
        ours_cpu, ogr_cpu = statistics.median(case.ours_cpu), statistics.median(case.ogr_cpu)
        print(f"  {case.label:<26} ours {ours_cpu:.2f}, ogr2ogr {ogr_cpu:.2f}")
    print("\nour stages (median s; a stage lasts until the next one starts):")
    for case in cases:
        shown = ", ".join(
            f"{name} {statistics.median(case.stages_s[name]):.2f}" for name in STAGES if name in case.stages_s
        )
        print(f"  {case.label:<26} {shown}")
    verdict = "meets" if worst <= TARGET_RATIO else "misses"
    print(f"\nworst ratio {worst:.2f}x {verdict} the target of {TARGET_RATIO}x ogr2ogr's time")
    return 0


if __name__ == "__main__":
    sys.exit(main())
