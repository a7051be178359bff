"""The Berlin sample: LOR districts and forecast areas with population by age band, 3,240 OSM facilities, and a
street network (Berlin's Radvorrangsnetz) for walking distances."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from app.db.models import City, User
from app.db.session import session_scope
from app.services import auth, streets
from app.services.directory.sample import load_directory_sample
from app.settings import Settings
from geo.privacy import blur_points
from geo.venue_names import venue_kind_from_name

BERLIN_ATTRIBUTION = (
    "Boundaries and population: Amt für Statistik Berlin-Brandenburg (CC BY 3.0 DE), via Open Data Product (CC BY 4.0). "
    "Facilities: © OpenStreetMap contributors (ODbL), via Open Data Product (CC BY 4.0)."
)
BERLIN_STREETS_FILE = "berlin-streets-radvorrangsnetz.gpkg"
BERLIN_STREETS_LICENCE = "Datenlizenz Deutschland - Zero - Version 2.0 (dl-de/zero-2.0)"
BERLIN_STREETS_ATTRIBUTION = (
    "Street network: Senatsverwaltung für Mobilität, Verkehr, Klimaschutz und Umwelt Berlin, Radverkehrsnetz "
    "(Radvorrangsnetz, dl-de/zero-2.0), via FixMyBerlin"
)
# file stem -> (ABCD category, service types offered, label used when OSM has no name, venue kind (asset.kind);
# community and sport centres are told apart further by their names, geo.venue_names)
FACILITIES: dict[str, tuple[str, list[str], str, str]] = {
    "libraries": ("institution", ["learning", "digital-inclusion"], "Library", "library"),
    "community-centers": ("physical_space", ["community-space"], "Community centre", "community_centre"),
    "schools": ("institution", ["schools"], "School", "school"),
    "kindergartens": ("institution", ["childcare"], "Kindergarten", "kindergarten"),
    "clinics": ("institution", ["health"], "Clinic", "clinic"),
    "playgrounds": ("physical_space", ["sport-and-play"], "Playground", "playground"),
    "sport-centers": ("physical_space", ["sport-and-play"], "Sport centre", "sports_centre"),
}


def venue_kind(stem: str, name: str) -> str:
    """The venue kind (geo.vocab.VENUE_KINDS) of a Berlin facility from its file and, where needed, its name."""
    return venue_kind_from_name(name, FACILITIES[stem][3])


AGE_COLUMNS = {
    "inhabitants_age_below_6": "under_6",
    "inhabitants_age_6_15": "6_15",
    "inhabitants_age_15_18": "15_18",
    "inhabitants_age_18_27": "18_27",
    "inhabitants_age_27_45": "27_45",
    "inhabitants_age_45_55": "45_55",
    "inhabitants_age_55_65": "55_65",
    "inhabitants_age_above_65": "over_65",
    "inhabitants_female": "female",
    "inhabitants_foreigners": "foreigners",
}


@dataclass
class SampleReport:
    """What the sample load did."""

    city_id: int
    counts: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class DemoAccount:
    """A demo login printed after the sample load."""

    username: str
    password: str
    role: str
    description: str


def _population(csv_path: Path) -> pd.DataFrame:
    frame = pd.read_csv(csv_path, dtype={"id": str})
    groups = frame[list(AGE_COLUMNS)].rename(columns=AGE_COLUMNS).astype(int)
    return pd.DataFrame(
        {
            "code": frame["id"],
            "population": frame["inhabitants"].astype(int),
            "population_by_group": [json.dumps(r) for r in groups.to_dict(orient="records")],
        }
    )


def _areas(geojson_path: Path, population: pd.DataFrame, level: str) -> pd.DataFrame:
    # The files' crs member says EPSG::4326 (lat/lon order) but coordinates are lon/lat: read them as lon/lat.
    areas = gpd.read_file(geojson_path, columns=["id", "name"]).set_crs("EPSG:4326", allow_override=True)
    areas = areas.rename(columns={"id": "code"})
    areas["code"] = areas["code"].astype(str)
    merged = areas.merge(population, on="code", how="left", validate="one_to_one")
    geoms = shapely.force_2d(shapely.make_valid(merged.geometry.values, method="structure"))
    merged["wkt"] = shapely.to_wkt(geoms, rounding_precision=7)
    merged["level"] = level
    return pd.DataFrame(merged.drop(columns="geometry"))


_UPSERT_NEIGHBOURHOODS = text(
    """
    INSERT INTO neighbourhood (city_id, code, name, level, parent_id, population, population_by_group, geom)
    SELECT :city_id, r.code, r.name, r.level,
           (SELECT p.id FROM neighbourhood p WHERE p.city_id = :city_id AND p.code = r.parent_code),
           r.population, COALESCE(r.population_by_group::jsonb, '{}'::jsonb),
           ST_ForcePolygonCCW(ST_Multi(ST_GeomFromText(r.wkt, 4326)))
    FROM jsonb_to_recordset(CAST(:rows AS jsonb))
         AS r(code text, name text, level text, parent_code text, population int, population_by_group text, wkt text)
    ON CONFLICT ON CONSTRAINT uq_neighbourhood_city_code DO UPDATE SET
        name = EXCLUDED.name, level = EXCLUDED.level, parent_id = EXCLUDED.parent_id,
        population = EXCLUDED.population, population_by_group = EXCLUDED.population_by_group, geom = EXCLUDED.geom,
        version = neighbourhood.version + 1, updated_at = now()
    WHERE (neighbourhood.name, neighbourhood.level, neighbourhood.parent_id, neighbourhood.population,
           neighbourhood.population_by_group, ST_AsBinary(neighbourhood.geom))
          IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.level, EXCLUDED.parent_id, EXCLUDED.population,
           EXCLUDED.population_by_group, ST_AsBinary(EXCLUDED.geom))
    RETURNING id
    """
)

_UPSERT_ASSETS = text(
    """
    INSERT INTO asset (city_id, category, kind, name, description, geom, blurred_location, source, source_id,
                       verified, status, version)
    SELECT :city_id, r.category, r.kind, r.name, r.description, ST_SetSRID(ST_MakePoint(r.lon, r.lat), 4326),
           ST_SetSRID(ST_MakePoint(r.blur_lon, r.blur_lat), 4326), r.source, r.source_id, false, 'approved', 1
    FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r(category text, kind text, name text, description text,
         lon float8, lat float8, blur_lon float8, blur_lat float8, source text, source_id text)
    ON CONFLICT (city_id, source, source_id) DO UPDATE SET
        category = EXCLUDED.category, kind = EXCLUDED.kind, name = EXCLUDED.name,
        description = EXCLUDED.description, geom = EXCLUDED.geom, blurred_location = EXCLUDED.blurred_location,
        version = asset.version + 1, updated_at = now()
    WHERE (asset.category, asset.kind, asset.name, asset.description, ST_AsBinary(asset.geom))
          IS DISTINCT FROM (EXCLUDED.category, EXCLUDED.kind, EXCLUDED.name, EXCLUDED.description,
                            ST_AsBinary(EXCLUDED.geom))
    RETURNING id
    """
)

# Each asset gets the smallest neighbourhood of its city that covers it (a forecast area rather than its district).
LOCATE_ASSETS = text(
    """
    UPDATE asset a SET neighbourhood_id = (
        SELECT n.id FROM neighbourhood n
        WHERE n.city_id = a.city_id AND ST_Covers(n.geom, a.geom)
        ORDER BY ST_Area(n.geom), n.id LIMIT 1)
    WHERE a.city_id = :city_id AND a.id = ANY(:ids)
    """
)

RECORD_IMPORTED = text(
    """
    INSERT INTO change (kind, item_id, city_id, action, version, after, message)
    SELECT :kind, t.id, t.city_id, 'import', t.version,
           to_jsonb(t) - 'geom' - 'blurred_location' || jsonb_build_object('geom', ST_AsGeoJSON(t.geom)::jsonb),
           :message
    FROM {table} t WHERE t.id = ANY(:ids)
    """
)


def _record(db: Session, table: str, kind: str, ids: list[int], message: str) -> None:
    if ids:
        db.execute(
            text(RECORD_IMPORTED.text.replace("{table}", table)),
            {"kind": kind, "ids": ids, "message": message},
        )


def _facilities(data_dir: Path, report: SampleReport) -> pd.DataFrame:
    frames = []
    for stem, (category, _services, label, _kind) in FACILITIES.items():
        path = data_dir / f"berlin-points-of-interest-{stem}-details.csv"
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
        unnamed = df["name"].str.strip() == ""
        report.counts[f"{stem} (unnamed in OSM)"] = int(unnamed.sum())
        # Unnamed OSM features stay: a nameless playground is still a playground. The name says so plainly.
        df.loc[unnamed, "name"] = f"{label} (no name in OpenStreetMap)"
        address = (df["street"].str.strip() + " " + df["zip_code"].str.strip()).str.strip()
        frames.append(
            pd.DataFrame(
                {
                    "category": category,
                    "kind": [venue_kind(stem, name) for name in df["name"]],
                    "name": df["name"].str.strip(),
                    "description": address.where(address != "", None),
                    "lon": df["lon"].astype(float),
                    "lat": df["lat"].astype(float),
                    "source": f"osm:{stem}",
                    "source_id": df["id"],
                    "stem": stem,
                    "lor_hint": df["geojson_feature_id"],
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def load_berlin(db: Session, settings: Settings) -> SampleReport:
    """Load (or refresh) Berlin from data/berlin in one transaction; running it twice leaves the same rows."""
    data_dir = settings.data_dir / "berlin"
    city = db.scalar(select(City).where(City.name == "Berlin"))
    if city is None:
        city = City(name="Berlin", country="Germany")
        db.add(city)
    city.crs = "EPSG:25833"
    city.data_date = "2024-12-31 (population), 2026-02 (OSM)"
    city.attribution = BERLIN_ATTRIBUTION
    db.flush()
    report = SampleReport(city.id)

    districts = _areas(
        data_dir / "berlin-lor-districts.geojson",
        _population(data_dir / "berlin-lor-population-2024-02-t2-districts.csv"),
        "district",
    )
    districts["parent_code"] = None
    areas = _areas(
        data_dir / "berlin-lor-forecast-areas-from-2021.geojson",
        _population(data_dir / "berlin-lor-population-2024-02-t2-forecast-areas.csv"),
        "neighbourhood",
    )
    # A forecast area's code starts with its district's code ('0930' lies in district '09').
    areas["parent_code"] = areas["code"].str[:2]
    changed: list[int] = []
    for frame in (districts, areas):
        rows = frame[["code", "name", "level", "parent_code", "population", "population_by_group", "wkt"]]
        changed += list(
            db.scalars(_UPSERT_NEIGHBOURHOODS, {"city_id": city.id, "rows": rows.to_json(orient="records")})
        )
    _record(db, "neighbourhood", "neighbourhoods", changed, "Berlin sample")
    report.counts["districts"] = len(districts)
    report.counts["forecast areas (neighbourhoods)"] = len(areas)
    report.counts["neighbourhoods inserted or changed"] = len(changed)

    facilities = _facilities(data_dir, report)
    facilities["blur_lon"], facilities["blur_lat"] = blur_points(
        facilities["lon"], facilities["lat"], settings.privacy_h3_resolution
    )
    columns = [
        "category",
        "kind",
        "name",
        "description",
        "lon",
        "lat",
        "blur_lon",
        "blur_lat",
        "source",
        "source_id",
    ]
    asset_ids = list(
        db.scalars(
            _UPSERT_ASSETS, {"city_id": city.id, "rows": facilities[columns].to_json(orient="records")}
        )
    )
    db.execute(LOCATE_ASSETS, {"city_id": city.id, "ids": asset_ids})
    _link_service_types(db, city.id, facilities)
    _record(db, "asset", "assets", asset_ids, "Berlin sample")
    report.counts["facilities"] = len(facilities)
    report.counts["assets inserted or changed"] = len(asset_ids)
    _check_defects(db, city.id, facilities, report)
    load_berlin_streets(db, settings, report)
    report.counts["sample service offers (illustrative)"] = load_directory_sample(db, city, data_dir)
    db.commit()
    return report


def _link_service_types(db: Session, city_id: int, facilities: pd.DataFrame) -> None:
    pairs = [
        {"source": f"osm:{stem}", "slug": slug}
        for stem, (_c, services, _l, _k) in FACILITIES.items()
        for slug in services
    ]
    db.execute(
        text(
            """
            INSERT INTO asset_service_type (asset_id, service_type_id)
            SELECT a.id, st.id FROM jsonb_to_recordset(CAST(:pairs AS jsonb)) AS p(source text, slug text)
            JOIN asset a ON a.city_id = :city_id AND a.source = p.source
            JOIN service_type st ON st.slug = p.slug
            ON CONFLICT DO NOTHING
            """
        ),
        {"city_id": city_id, "pairs": json.dumps(pairs)},
    )


def _check_defects(db: Session, city_id: int, facilities: pd.DataFrame, report: SampleReport) -> None:
    """Keep the data's known defects visible: points outside Berlin, and where OSM's area hint disagrees."""
    rows = db.execute(
        text(
            """
            SELECT a.source, a.source_id, n.code FROM asset a LEFT JOIN neighbourhood n ON n.id = a.neighbourhood_id
            WHERE a.city_id = :city_id AND a.source LIKE 'osm:%'
            """
        ),
        {"city_id": city_id},
    ).all()
    located = pd.DataFrame(rows, columns=["source", "source_id", "code"])
    merged = facilities.assign(source=lambda f: "osm:" + f["stem"]).merge(located, on=["source", "source_id"])
    outside = merged["code"].isna()
    report.counts["facilities outside Berlin (no neighbourhood)"] = int(outside.sum())
    inside = merged[~outside]
    disagree = inside[inside["lor_hint"].str[:4] != inside["code"]]
    report.counts["facilities whose OSM area hint disagrees with the boundary"] = len(disagree)
    report.notes.append(
        "facilities outside every forecast area are kept as assets without a neighbourhood; "
        "the neighbourhood of every asset comes from its location, not from the file's area hint"
    )
    report.notes.append(
        "coverage is incomplete (mostly OSM nodes: 117 schools, 131 libraries), so gap maps show some false gaps"
    )


DEMO_PASSWORD = "assetmap-demo"  # noqa: S105 - printed for the local demo only; refused in production below


def create_demo_users(db: Session, city_id: int) -> list[DemoAccount]:
    """One demo account per role; the organiser may edit two Mitte forecast areas. Development only."""
    accounts = [
        DemoAccount("demo-admin", DEMO_PASSWORD, "admin", "everything, including users"),
        DemoAccount("demo-gis", DEMO_PASSWORD, "gis", "import, export, edit boundaries"),
        DemoAccount(
            "demo-planner",
            DEMO_PASSWORD,
            "planner",
            "read all (exact locations), run analyses, record case decisions",
        ),
        DemoAccount("demo-organiser", DEMO_PASSWORD, "organiser", "edit in Mitte 1 and Mitte 2 (0110, 0120)"),
        DemoAccount("demo-contributor", DEMO_PASSWORD, "contributor", "propose entries for review"),
    ]
    for acc in accounts:
        if db.scalar(select(User.id).where(User.username == acc.username)) is None:
            auth.add_user(db, acc.username, acc.password, acc.role, f"Demo {acc.role}")
    organiser = db.scalar(select(User).where(User.username == "demo-organiser"))
    assert organiser is not None
    auth.assign_by_code(db, organiser.username, city_id, ["0110", "0120"])
    return accounts


def load_berlin_streets(db: Session, settings: Settings, report: SampleReport) -> None:
    """Store the sample's street network (data/berlin/PROVENANCE.md) unless the same file is stored already."""
    city = db.get(City, report.city_id)
    assert city is not None
    path = settings.data_dir / "berlin" / BERLIN_STREETS_FILE
    if streets.stored_sha256(db, city) != streets.file_sha256(path):
        info = streets.store_street_network(
            db, path, city, licence=BERLIN_STREETS_LICENCE, attribution=BERLIN_STREETS_ATTRIBUTION
        )
        report.counts["street network edges (new)"] = int(info.counts["edges"])
    else:
        report.counts["street network edges (new)"] = 0


def load_sample(settings: Settings, *, demo_users: bool = True) -> tuple[SampleReport, list[DemoAccount]]:
    """Load the Berlin sample in a session of its own (the command line), with demo accounts when asked for and
    never in production."""
    with session_scope(settings) as db:
        report = load_berlin(db, settings)
        accounts = (
            create_demo_users(db, report.city_id)
            if demo_users and settings.environment != "production"
            else []
        )
    return report, accounts
