"""Generate benchmark inputs for the import pipeline: zipped shapefiles of points and polygons in EPSG:25833.

Usage: python benchmarks/make_import_data.py OUT_DIR [--points 500000] [--polygons 50000] [--seed 20240531]

Writes OUT_DIR/assets_points.zip (asset-like points) and OUT_DIR/neighbourhood_polygons.zip (a grid of
neighbourhood-like cells with a few bow-tie polygons). The folder is not part of the repository.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import shapely

from geo.vocab import ASSET_CATEGORIES

CRS = "EPSG:25833"
# Berlin in ETRS89 / UTM 33N, metres.
BERLIN_BOUNDS_M = (370_000.0, 5_800_000.0, 415_000.0, 5_837_000.0)
ASSET_KINDS = np.array(
    [
        "Bürgerhaus",
        "Kita",
        "Jugendclub",
        "Stadtteilzentrum",
        "Bibliothek",
        "Nachbarschaftsgärten",
        "Seniorentreff",
    ]
)
STREETS = np.array(
    [
        "Köpenicker Straße",
        "Müllerstraße",
        "Schönhauser Allee",
        "Görlitzer Park",
        "Weißenseer Weg",
        "Grünauer Straße",
    ]
)
QUARTER_SUFFIXES = np.array(["Süd", "Nord", "Ost", "West", "Mitte", "Grünau", "Köpenick", "Schöneweide"])
BOWTIES_PER_50_000 = 5


def make_points(n: int, rng: np.random.Generator) -> gpd.GeoDataFrame:
    """Return n asset-like points (source_id, name with umlauts, category, capacity) in EPSG:25833 metres."""
    west, south, east, north = BERLIN_BOUNDS_M
    x = rng.uniform(west, east, n)
    y = rng.uniform(south, north, n)
    numbers = np.char.mod("%d", rng.integers(1, 200, n))
    name = np.char.add(
        np.char.add(
            np.char.add(ASSET_KINDS[rng.integers(0, len(ASSET_KINDS), n)], " "),
            STREETS[rng.integers(0, len(STREETS), n)],
        ),
        np.char.add(" ", numbers),
    )
    capacity = np.round(rng.gamma(2.0, 25.0, n), 1)
    capacity[rng.random(n) < 0.1] = np.nan  # unknown capacity is common in real registers
    return gpd.GeoDataFrame(
        {
            "source_id": np.char.add("P", np.char.zfill(np.char.mod("%d", np.arange(1, n + 1)), 7)),
            "name": name,
            "category": np.array(ASSET_CATEGORIES)[rng.integers(0, len(ASSET_CATEGORIES), n)],
            "capacity": capacity,
        },
        geometry=shapely.points(x, y),
        crs=CRS,
    )


def make_polygons(n: int, rng: np.random.Generator) -> gpd.GeoDataFrame:
    """Return n neighbourhood-like grid cells (code, name, population) in EPSG:25833, a few of them bow-ties."""
    west, south, east, north = BERLIN_BOUNDS_M
    columns = int(np.ceil(np.sqrt(n * (east - west) / (north - south))))
    rows = int(np.ceil(n / columns))
    size_x, size_y = (east - west) / columns, (north - south) / rows
    index = np.arange(n)
    x0 = west + (index % columns) * size_x
    y0 = south + (index // columns) * size_y
    geometries = shapely.box(x0, y0, x0 + size_x, y0 + size_y)
    n_bowties = max(1, n * BOWTIES_PER_50_000 // 50_000) if n >= 10 else 0
    bad = rng.choice(n, size=n_bowties, replace=False)
    # Exterior ring that crosses itself: (x0,y0) -> (x1,y1) -> (x1,y0) -> (x0,y1) -> (x0,y0).
    corners = np.stack(
        [
            np.stack([x0[bad], y0[bad]], axis=1),
            np.stack([x0[bad] + size_x, y0[bad] + size_y], axis=1),
            np.stack([x0[bad] + size_x, y0[bad]], axis=1),
            np.stack([x0[bad], y0[bad] + size_y], axis=1),
            np.stack([x0[bad], y0[bad]], axis=1),
        ],
        axis=1,
    )
    geometries[bad] = shapely.polygons(corners)
    name = np.char.add(
        np.char.add("Kiez ", np.char.mod("%d", index + 1)),
        np.char.add(" ", QUARTER_SUFFIXES[rng.integers(0, len(QUARTER_SUFFIXES), n)]),
    )
    return gpd.GeoDataFrame(
        {
            "code": np.char.zfill(np.char.mod("%d", index + 1), 8),
            "name": name,
            "population": rng.integers(0, 30_000, n),
        },
        geometry=geometries,
        crs=CRS,
    )


def write_zipped_shapefile(frame: gpd.GeoDataFrame, out_zip: Path) -> Path:
    """Write frame as a UTF-8 shapefile and zip its .shp/.shx/.dbf/.prj/.cpg into out_zip."""
    stem = out_zip.stem
    with tempfile.TemporaryDirectory(prefix="assetmap-bench-") as tmp:
        # RESIZE shrinks text fields to their longest value, as GIS tools do, instead of GDAL's wide default.
        pyogrio.write_dataframe(
            frame, Path(tmp) / f"{stem}.shp", encoding="UTF-8", layer_options={"RESIZE": "YES"}
        )
        with zipfile.ZipFile(out_zip, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
            for part in sorted(Path(tmp).iterdir()):
                archive.write(part, part.name)
    return out_zip


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and write the benchmark zips."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path, help="folder to write into (created if missing)")
    parser.add_argument("--points", type=int, default=500_000, help="number of asset points")
    parser.add_argument("--polygons", type=int, default=50_000, help="number of neighbourhood polygons")
    parser.add_argument(
        "--seed", type=int, default=20240531, help="random seed (fixed for reproducible runs)"
    )
    args = parser.parse_args(argv)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(args.seed)
    if args.points > 0:
        path = write_zipped_shapefile(make_points(args.points, rng), args.out_dir / "assets_points.zip")
        print(f"{path}: {args.points:,} points")
    if args.polygons > 0:
        path = write_zipped_shapefile(
            make_polygons(args.polygons, rng), args.out_dir / "neighbourhood_polygons.zip"
        )
        print(f"{path}: {args.polygons:,} polygons")
    return 0


if __name__ == "__main__":
    sys.exit(main())
