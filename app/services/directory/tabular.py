"""The HSDS 3.0 tabular export: one CSV file per HSDS table the directory fills, and a `datapackage.json`.

The descriptor is the specification's own (data/hsds/schema/3.0/datapackage.json), kept to the resources written
here (and to foreign keys between them), as the specification's examples do; every CSV has that resource's
columns in its order, so a Frictionless validator checks types, required fields, uniqueness and references.
"""

from __future__ import annotations

import copy
import csv
import io
import json
import zipfile
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from app.db.models import City
from app.services.directory import hsds
from app.settings import PROJECT_ROOT

SCHEMA_DIR = PROJECT_ROOT / "data" / "hsds" / "schema" / "3.0"
TABLES = (
    "organization",
    "service",
    "location",
    "service_at_location",
    "schedule",
    "cost_option",
    "language",
    "accessibility",
)


def official_descriptor() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((SCHEMA_DIR / "datapackage.json").read_text(encoding="utf-8"))
    return data


def descriptor(city: City | None) -> dict[str, Any]:
    """The specification's data package descriptor, kept to the tables this export writes."""
    package = copy.deepcopy(official_descriptor())
    package["resources"] = [r for r in package["resources"] if r["name"] in TABLES]
    for resource in package["resources"]:
        keys = [
            fk for fk in resource["schema"].get("foreignKeys", []) if fk["reference"]["resource"] in TABLES
        ]
        if keys:
            resource["schema"]["foreignKeys"] = keys
        else:
            resource["schema"].pop("foreignKeys", None)
    package["name"] = "assetmap_service_directory"
    package["title"] = f"Service directory{' of ' + city.name if city else ''} (HSDS 3.0 tabular)"
    package["description"] = (
        "Services of community assets published by assetmap in the Human Services Data Specification 3.0. "
        "Descriptor: Human Services Data Specification, an Open Referral resource (CC BY-SA 4.0)."
    )
    return package


def _stamp(value: str | None) -> str | None:
    """Datetimes to whole seconds in UTC (the form the tabular schema's datetime fields read)."""
    if not value:
        return value
    return value.split(".")[0].removesuffix("Z") + "Z" if "T" in value else value


def tables(db: Session, city: City | None) -> dict[str, list[dict[str, Any]]]:
    """The rows of each table."""
    out: dict[str, list[dict[str, Any]]] = {name: [] for name in TABLES}
    seen_assets: set[int] = set()
    rows = hsds.all_rows(db, city)
    offers_by_asset: dict[int, list[Any]] = {}
    for row in rows:
        offers_by_asset.setdefault(row.asset.id, []).append(row.offer)
    for row in rows:
        service = hsds.service_of(row, full=True)
        if row.asset.id not in seen_assets:
            seen_assets.add(row.asset.id)
            out["organization"].append(hsds.organization_of(row.asset, row.city))
            location = hsds.location_of(row.asset, row.city, offers_by_asset[row.asset.id], full=True)
            out["accessibility"] += location.pop("accessibility", [])
            out["location"].append(location)
        flat = {k: v for k, v in service.items() if not isinstance(v, list | dict)}
        flat["last_modified"] = _stamp(flat.get("last_modified"))
        out["service"].append(flat)
        for link in service.get("service_at_locations", []):
            out["service_at_location"].append({k: v for k, v in link.items() if k != "location"})
        out["schedule"] += service.get("schedules", [])
        out["cost_option"] += service.get("cost_options", [])
        out["language"] += service.get("languages", [])
    return out


def _csv(fields: list[str], rows: list[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=fields, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("" if row.get(k) is None else row[k]) for k in fields})
    return buffer.getvalue()


def files(db: Session, city: City | None) -> dict[str, str]:
    """Every file of the export by name: the CSV files and datapackage.json."""
    package = descriptor(city)
    data = tables(db, city)
    out = {}
    for resource in package["resources"]:
        fields = [f["name"] for f in resource["schema"]["fields"]]
        out[resource["path"]] = _csv(fields, data[resource["name"]])
    out["datapackage.json"] = json.dumps(package, indent=2, ensure_ascii=False) + "\n"
    return out


def write_directory(db: Session, city: City | None, target: Path) -> list[Path]:
    """Write the export into a folder (created if missing); returns the files written."""
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in files(db, city).items():
        path = target / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def zipped(db: Session, city: City | None) -> bytes:
    """The export as one ZIP file."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in files(db, city).items():
            archive.writestr(name, text)
    return buffer.getvalue()
