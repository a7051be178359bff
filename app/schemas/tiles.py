"""What the vector-tile metadata answers hold: TileJSON 3.0.0, a MapLibre style, OGC API Tiles tilesets and the
WebMercatorQuad tile matrix set (documentation only: the routes build these documents as plain JSON)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class VectorLayer(BaseModel):
    id: str
    fields: dict[str, str] = Field(description="property names (values are descriptions, empty here)")
    minzoom: int
    maxzoom: int


class TileJSON(BaseModel):
    """TileJSON 3.0.0; `tiles` carries the current data version (`?v=`)."""

    tilejson: str
    name: str
    description: str
    version: str
    attribution: str
    scheme: str
    tiles: list[str]
    minzoom: int
    maxzoom: int
    bounds: list[float]
    center: list[float]
    vector_layers: list[VectorLayer]
    data_version: str


class StyleLayer(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    id: str
    type: str
    source: str | None = None
    source_layer: str | None = Field(None, alias="source-layer")
    filter: list[Any] | None = None
    paint: dict[str, Any]


class Style(BaseModel):
    """A MapLibre / Mapbox GL style, version 8."""

    version: int
    name: str
    center: list[float]
    zoom: float
    sources: dict[str, dict[str, Any]]
    layers: list[StyleLayer]
    metadata: dict[str, str]


class Link(BaseModel):
    rel: str
    type: str
    href: str
    templated: bool | None = None


class TileMatrixSetRef(BaseModel):
    id: str
    title: str
    uri: str
    links: list[Link]


class TileMatrixSets(BaseModel):
    tileMatrixSets: list[TileMatrixSetRef]


class TileMatrix(BaseModel):
    id: str
    scaleDenominator: float
    cellSize: float
    cornerOfOrigin: str
    pointOfOrigin: list[float]
    tileWidth: int
    tileHeight: int
    matrixWidth: int
    matrixHeight: int


class TileMatrixSet(BaseModel):
    """The OGC 2D Tile Matrix Set WebMercatorQuad (EPSG:3857, zooms 0 to 22)."""

    id: str
    title: str
    uri: str
    crs: str
    orderedAxes: list[str]
    wellKnownScaleSet: str
    tileMatrices: list[TileMatrix]


class TilesetLayer(BaseModel):
    id: str
    dataType: str
    propertiesSchema: dict[str, Any]


class Tileset(BaseModel):
    title: str
    dataType: str
    crs: str
    tileMatrixSetURI: str
    links: list[Link]
    layers: list[TilesetLayer]


class Tilesets(BaseModel):
    tilesets: list[Tileset]
