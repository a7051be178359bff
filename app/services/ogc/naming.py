"""Collection ids of the OGC APIs: `{city slug}-{layer}`, and the way back from an id to a city, layer and run."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import City
from app.errors import NotFound

LAYERS = ("neighbourhoods", "assets", "needs", "links")
BASE_LAYERS = LAYERS  # the name OGC API Features uses
RUN_LAYERS = ("neighbourhoods", "cells")
_NOT_SLUG = re.compile(r"[^a-z0-9]+")
_RUN_LAYER = re.compile(r"run-([0-9]{1,9})-(neighbourhoods|cells)")


def slug(text: str) -> str:
    """Lowercase ASCII with runs of anything else as one '-': 'Köln Süd' -> 'koln-sud'."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    return _NOT_SLUG.sub("-", folded).strip("-")


def collection_id(city_name: str, layer: str) -> str:
    """The collection id of a city's layer (`neighbourhoods`, ..., `run-7-cells`)."""
    return f"{slug(city_name)}-{layer}"


def run_layer(run_id: int, layer: str) -> str:
    """The layer name of a run's results: `run-{run_id}-neighbourhoods` or `run-{run_id}-cells`."""
    return f"run-{run_id}-{layer}"


@dataclass(frozen=True)
class Collection:
    """What a collection id names: a city, its layer (`assets`, ..., or a run's `neighbourhoods`/`cells`) and
    the run (None for the city's own layers)."""

    city: City
    layer: str
    run_id: int | None = None

    @property
    def id(self) -> str:
        name = self.layer if self.run_id is None else run_layer(self.run_id, self.layer)
        return collection_id(self.city.name, name)


def parse_layer(rest: str) -> tuple[str, int | None] | None:
    """A layer part of an id as (layer, run id), or None if it names no layer."""
    if rest in LAYERS:
        return rest, None
    found = _RUN_LAYER.fullmatch(rest)
    if found:
        return found.group(2), int(found.group(1))
    return None


def resolve_collection(db: Session, ident: str) -> Collection:
    """The city, layer and run a collection id names; an unknown one is a 404 that says where to look. Whether
    the run exists and may be seen is for the caller to check."""
    cities = list(db.scalars(select(City).order_by(City.id)))
    for city in sorted(cities, key=lambda c: -len(slug(c.name))):  # the longest slug first: 'bad' vs 'bad-x'
        prefix = slug(city.name) + "-"
        if ident.startswith(prefix):
            parsed = parse_layer(ident[len(prefix) :])
            if parsed is not None:
                return Collection(city, parsed[0], parsed[1])
    raise NotFound(f"no collection {ident!r}: list the collections at /ogc/collections", field="collectionId")
