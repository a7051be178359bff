"""Row checks that need the database: known service types, resource owners, parent codes, and row keys."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from app.db.models import Neighbourhood, ServiceType
from geo.io import Problem
from geo.problems import RowProblems

# Rows without an id of their own are keyed by their place in the file, so the same file imports the same way.
ROW_KEY_PREFIX = "row-"


def service_type_ids(db: Session) -> dict[str, int]:
    """Every service type slug with its id (a short reference table)."""
    return {slug: st_id for slug, st_id in db.execute(select(ServiceType.slug, ServiceType.id))}


def _known(slugs: dict[str, int]) -> str:
    return ", ".join(sorted(slugs))


def check_asset_service_types(
    db: Session | None, rows: pd.DataFrame, key: str, known: dict[str, int] | None = None
) -> tuple[pd.Series, list[Problem]]:
    """Each asset row's service types as sorted ids; unknown slugs are row errors listing the known ones.

    known: the service types read before (a streamed import checks its slices while the connection is busy).
    """
    if known is None:
        assert db is not None
        known = service_type_ids(db)
    problems = RowProblems.for_frame(rows, key)
    # Lists repeat a handful of combinations: each distinct combination is resolved once.
    combos = rows["service_types"].map(tuple)
    codes, uniques = pd.factorize(combos)
    resolved: list[list[int]] = []
    unknown_text: list[str | None] = []
    for combo in uniques:
        missing = [slug for slug in combo if slug not in known]
        resolved.append(sorted({known[slug] for slug in combo if slug in known}))
        unknown_text.append(
            f"unknown service type{'s' if len(missing) > 1 else ''} {', '.join(repr(m) for m in missing)}: "
            f"use one of {_known(known)}"
            if missing
            else None
        )
    reasons = np.array([*unknown_text, None], dtype=object)[codes]
    bad = pd.notna(reasons)
    problems.add(bad, "service_types", reasons[bad])
    ids = _objects([*resolved, []])[codes]
    return pd.Series(ids, index=rows.index, dtype=object), problems.problems


def _objects(values: list[Any]) -> np.ndarray:
    # Filled one by one: numpy would turn a list of equal-length lists into a 2D array.
    out = np.empty(len(values), dtype=object)
    for index, value in enumerate(values):
        out[index] = value
    return out


def check_need_service_type(db: Session, rows: pd.DataFrame, key: str) -> tuple[pd.Series, list[Problem]]:
    """Each need row's service type id; an unknown slug is a row error listing the known ones."""
    known = service_type_ids(db)
    problems = RowProblems.for_frame(rows, key)
    slugs = rows["service_type"]
    ids = slugs.map(known)
    unknown = (slugs.notna() & ids.isna()).to_numpy()
    problems.add(
        unknown,
        "service_type",
        [
            f"unknown service type {slugs.iloc[i]!r}: use one of {_known(known)}"
            for i in np.flatnonzero(unknown)
        ],
    )
    return ids.astype("Int64"), problems.problems


def check_parent_codes(db: Session, city_id: int, rows: pd.DataFrame, key: str) -> list[Problem]:
    """A parent_code must name a neighbourhood of the city or of the same file, and not the row itself."""
    problems = RowProblems.for_frame(rows, key)
    parents = rows["parent_code"]
    wanted = sorted(set(parents.dropna()) - set(rows["code"].dropna()))
    existing = set(
        db.scalars(
            select(Neighbourhood.code).where(Neighbourhood.city_id == city_id, Neighbourhood.code.in_(wanted))
        )
    )
    known = set(rows["code"].dropna()) | existing
    own = (parents.notna() & (parents == rows["code"])).to_numpy(dtype=bool)
    problems.add(own, "parent_code", "a neighbourhood cannot be its own parent")
    missing = (parents.notna() & ~parents.isin(list(known))).to_numpy(dtype=bool) & ~own
    problems.add(
        missing,
        "parent_code",
        [
            f"parent_code {parents.iloc[i]!r} is not a neighbourhood of this city or of this file"
            for i in np.flatnonzero(missing)
        ],
    )
    return problems.problems


def resolve_resource_owners(
    db: Session, city_id: int, rows: pd.DataFrame, key: str
) -> tuple[pd.Series, pd.Series, list[Problem]]:
    """Find each resource's asset (by its source_id) and neighbourhood (by code) in the city; name what is missing."""
    problems = RowProblems.for_frame(rows, key)
    asset_refs = rows["asset_source_id"]
    codes = rows["neighbourhood_code"]
    wanted_assets = sorted(set(asset_refs.dropna()))
    found: dict[str, tuple[int, int, str]] = {}
    if wanted_assets:
        result = db.execute(
            text(
                """
                SELECT source_id, min(id), count(*), string_agg(DISTINCT coalesce(source, '(none)'), ', ')
                FROM asset WHERE city_id = :city_id AND source_id = ANY(:ids) GROUP BY source_id
                """
            ),
            {"city_id": city_id, "ids": wanted_assets},
        )
        found = {row[0]: (row[1], row[2], row[3]) for row in result}
    wanted_codes = sorted(set(codes.dropna()))
    neighbourhoods = dict(
        db.execute(
            select(Neighbourhood.code, Neighbourhood.id).where(
                Neighbourhood.city_id == city_id, Neighbourhood.code.in_(wanted_codes)
            )
        ).all()
    )
    asset_ids = asset_refs.map(lambda ref: found[ref][0] if ref in found and found[ref][1] == 1 else None)
    no_asset = (asset_refs.notna() & ~asset_refs.isin(list(found))).to_numpy(dtype=bool)
    problems.add(
        no_asset,
        "asset_source_id",
        [f"no asset of this city has source_id {asset_refs.iloc[i]!r}" for i in np.flatnonzero(no_asset)],
    )
    several = asset_refs.map(lambda ref: ref in found and found[ref][1] > 1).to_numpy(dtype=bool)
    problems.add(
        several,
        "asset_source_id",
        [
            f"{found[asset_refs.iloc[i]][1]} assets of this city have source_id {asset_refs.iloc[i]!r} "
            f"(sources {found[asset_refs.iloc[i]][2]}): give neighbourhood_code instead, or make the ids unique"
            for i in np.flatnonzero(several)
        ],
    )
    neighbourhood_ids = codes.map(neighbourhoods)
    no_code = (codes.notna() & neighbourhood_ids.isna()).to_numpy(dtype=bool)
    problems.add(
        no_code,
        "neighbourhood_code",
        [f"no neighbourhood of this city has the code {codes.iloc[i]!r}" for i in np.flatnonzero(no_code)],
    )
    no_owner = (asset_refs.isna() & codes.isna()).to_numpy(dtype=bool)
    problems.add(
        no_owner,
        "asset_source_id",
        "a resource belongs to an asset or a neighbourhood: give asset_source_id or neighbourhood_code",
    )
    start, end = rows["available_from"], rows["available_until"]
    reversed_dates = np.array(
        [s is not None and e is not None and e < s for s, e in zip(start, end, strict=True)], dtype=bool
    )
    problems.add(reversed_dates, "available_until", "available_until is before available_from")
    return asset_ids.astype("Int64"), neighbourhood_ids.astype("Int64"), problems.problems


def fill_row_keys(rows: pd.DataFrame, key: str) -> tuple[pd.Series, list[Problem]]:
    """Give rows without an id the key row-N (N = their row in the file), with one warning saying so."""
    given = rows[key]
    missing = given.isna().to_numpy()
    if not missing.any():
        return given, []  # as it is (Arrow text stays Arrow text, for the binary COPY)
    keys = given.astype(object)
    filled = keys.where(~missing, ROW_KEY_PREFIX + rows["row_number"].astype(str))
    warning = Problem(
        None,
        None,
        key,
        f"{int(missing.sum()):,} rows have no {key}: they are keyed by their row in the file (row-1, row-2, ...); "
        "importing the same file again updates them, but rows added or removed above them shift the keys: "
        f"map an id column to {key} if the file has one",
        "warning",
    )
    return filled, [warning]
