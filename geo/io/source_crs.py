"""Where a source's CRS comes from (.prj, GeoJSON crs member, --crs, GeoPackage) and whether coordinates fit it."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import numpy as np
import pyproj
import shapely
from pyproj.exceptions import CRSError

from geo.io.errors import Problem, SourceCRSError
from geo.io.expected_area import check_expected_area
from geo.io.stage import display_name

WGS84 = pyproj.CRS.from_epsg(4326)
_EPSG_CONFIDENCE = 70
_USER_CRS = re.compile(r"^\s*(?:EPSG\s*:\s*)?([0-9]{1,6})\s*$", re.IGNORECASE)
# Identifiers accepted in a GeoJSON (2008) crs member. They are matched as text and never resolved or fetched.
_GEOJSON_EPSG = (
    re.compile(r"^urn:ogc:def:crs:EPSG:[0-9.]*:([0-9]{1,6})$", re.IGNORECASE),
    re.compile(r"^EPSG:{1,2}([0-9]{1,6})$", re.IGNORECASE),
    re.compile(r"^https?://www\.opengis\.net/def/crs/EPSG/[0-9.]+/([0-9]{1,6})$", re.IGNORECASE),
)
_GEOJSON_CRS84 = (
    re.compile(r"^urn:ogc:def:crs:OGC:[0-9.]*:CRS84$", re.IGNORECASE),
    re.compile(r"^https?://www\.opengis\.net/def/crs/OGC/1\.3/CRS84$", re.IGNORECASE),
    re.compile(r"^OGC:CRS84$", re.IGNORECASE),
)
_CRS_KEY = re.compile(r'"crs"\s*:\s*')
_WKT_NAME = re.compile(r'^\s*[A-Z_]+\s*\[\s*"([^"]{1,200})"')


@dataclass(frozen=True, slots=True)
class SourceCRS:
    """A source's CRS: the pyproj object, the text it was given as, its EPSG code if known, and where from."""

    crs: pyproj.CRS
    given: str
    epsg: int | None
    source: str

    @property
    def label(self) -> str:
        """'EPSG:25833' when the code is known, else the CRS name."""
        return f"EPSG:{self.epsg}" if self.epsg else self.crs.name


def make_source_crs(crs: pyproj.CRS, given: str, source: str) -> SourceCRS:
    """Wrap a CRS with its EPSG code (found with at least 70% confidence, e.g. for ESRI WKT without a code)."""
    try:
        epsg = crs.to_epsg(min_confidence=_EPSG_CONFIDENCE)
    except CRSError:
        epsg = None
    return SourceCRS(crs, given, epsg, source)


def parse_user_crs(value: str | int) -> SourceCRS:
    """Parse a user's --crs: only 'EPSG:nnnn' or a bare EPSG number; URLs, paths and other text are refused."""
    text = str(value)
    match = _USER_CRS.match(text)
    shown = display_name(text)
    if not match:
        if "://" in text or text.strip().startswith(("/", ".", "~")) or "\\" in text:
            reason = "URLs and file paths are not accepted, a CRS is never fetched or read from a path"
        else:
            reason = "it is not an EPSG code"
        raise SourceCRSError(f"--crs {shown!r} is refused ({reason}): pass an EPSG code such as EPSG:25833")
    code = int(match.group(1))
    try:
        crs = pyproj.CRS.from_epsg(code)
    except CRSError:
        raise SourceCRSError(
            f"--crs EPSG:{code} is not a known EPSG code: look the code up (e.g. EPSG:25833 for ETRS89 / UTM 33N)"
        ) from None
    return make_source_crs(crs, f"EPSG:{code}", "--crs")


def crs_from_prj(data: bytes, label: str) -> SourceCRS:
    """Read a .prj (OGC or ESRI WKT, with or without an EPSG code) into a SourceCRS."""
    text = data.decode("utf-8", errors="replace").strip().strip("\x00").strip()
    if not text:
        raise SourceCRSError(f"{label} is empty: fix it or pass --crs EPSG:xxxx")
    try:
        # WKT only: from_user_input would also accept names that PROJ resolves in other ways.
        crs = pyproj.CRS.from_wkt(text)
    except CRSError as exc:
        raise SourceCRSError(
            f"{label} could not be read as a coordinate system ({str(exc)[:160]}): fix it or pass --crs EPSG:xxxx"
        ) from None
    # "As given" is the name written in the file (ESRI spells it ETRS_1989_UTM_Zone_33N), not PROJ's rewording.
    written = _WKT_NAME.match(text)
    return make_source_crs(crs, written.group(1) if written else crs.name, ".prj file")


def geojson_crs_member(head: str) -> object | None:
    """Return the value of the legacy GeoJSON `crs` member found in the first part of the file, if any."""
    match = _CRS_KEY.search(head)
    if match is None:
        return None
    try:
        value, _end = json.JSONDecoder().raw_decode(head, match.end())
    except json.JSONDecodeError:
        return None
    return value


def crs_from_geojson_member(member: object, label: str) -> SourceCRS:
    """Interpret a legacy GeoJSON crs member (named EPSG/OGC codes only; links and other names are refused)."""
    if not isinstance(member, dict):
        raise SourceCRSError(
            f"{label} has a crs member that is not an object: remove it (GeoJSON is lon/lat WGS84)"
        )
    kind = member.get("type")
    raw_properties = member.get("properties")
    properties: dict[str, object] = raw_properties if isinstance(raw_properties, dict) else {}
    name_value, code_value = properties.get("name"), properties.get("code")
    if kind == "name" and isinstance(name_value, str):
        name = name_value.strip()
        for pattern in _GEOJSON_CRS84:
            if pattern.match(name):
                return make_source_crs(WGS84, name, "GeoJSON crs member")
        for pattern in _GEOJSON_EPSG:
            if m := pattern.match(name):
                try:
                    # urn:ogc:def:crs:EPSG::4326 formally means lat/lon, but writers put lon/lat: axis order is
                    # taken as x=east, y=north for every code, and the bounds check catches real swaps.
                    crs = pyproj.CRS.from_epsg(int(m.group(1)))
                except CRSError:
                    break
                return make_source_crs(crs, name, "GeoJSON crs member")
        shown = display_name(name)
    elif kind == "EPSG" and isinstance(code_value, int):
        try:
            crs = pyproj.CRS.from_epsg(code_value)
        except CRSError:
            shown = f"EPSG {code_value}"
        else:
            return make_source_crs(crs, f"EPSG:{code_value}", "GeoJSON crs member")
    elif kind == "link":
        raise SourceCRSError(
            f"{label} points its crs member at a link; CRS definitions are never fetched: remove the crs member "
            "and pass --crs EPSG:xxxx"
        )
    else:
        shown = display_name(json.dumps(member)[:80])
    raise SourceCRSError(
        f"{label} has a crs member {shown!r} that is not an EPSG or OGC code: remove it (GeoJSON is lon/lat "
        "WGS84) or replace it with urn:ogc:def:crs:EPSG::xxxx"
    )


def crs_from_gdal(text: str | None, source: str) -> SourceCRS | None:
    """Wrap the CRS GDAL reports for a layer (an 'EPSG:n' code or WKT it produced), or None when it has none."""
    if not text:
        return None
    try:
        crs = pyproj.CRS.from_user_input(text)
    except CRSError:
        return None
    return make_source_crs(crs, text if len(text) < 40 else crs.name, source)


def _area_of_use(crs: pyproj.CRS) -> tuple[float, float, float, float] | None:
    area = crs.area_of_use
    if area is None or area.west > area.east:  # crossing the antimeridian: too rare here to be worth checking
        return None
    return (area.west, area.south, area.east, area.north)


def _expanded(
    box: tuple[float, float, float, float], minimum_deg: float
) -> tuple[float, float, float, float]:
    west, south, east, north = box
    margin_x = max(minimum_deg, (east - west) * 0.5)
    margin_y = max(minimum_deg, (north - south) * 0.5)
    return (west - margin_x, south - margin_y, east + margin_x, north + margin_y)


def _inside(x: float, y: float, box: tuple[float, float, float, float]) -> bool:
    return box[0] <= x <= box[2] and box[1] <= y <= box[3]


def check_coordinates(
    geometries: np.ndarray,
    source: SourceCRS,
    label: str,
    row_numbers: np.ndarray,
    source_ids: np.ndarray,
    expected_bounds: tuple[float, float, float, float] | None = None,
) -> list[Problem]:
    """Check lon/lat geometries (EPSG:4326) against the globe, the source CRS area and expected_bounds."""
    bounds = shapely.bounds(geometries)
    present = ~np.isnan(bounds).all(axis=1)
    finite = np.isfinite(bounds).all(axis=1)
    outside = (bounds[:, 0] < -180) | (bounds[:, 2] > 180) | (bounds[:, 1] < -90) | (bounds[:, 3] > 90)
    bad = present & (~finite | outside)
    n_present = int(present.sum())
    if n_present == 0:
        return []
    if bad.sum() * 2 >= n_present:
        raise SourceCRSError(_globe_message(bounds[bad & finite], source, label))
    good = present & ~bad
    problems = [
        Problem(
            int(row),
            str(fid),
            "geometry",
            f"coordinates fall outside longitude/latitude range after conversion from {source.label}",
        )
        for row, fid in zip(row_numbers[bad], source_ids[bad], strict=True)
    ]
    centre_x = float(np.median((bounds[good, 0] + bounds[good, 2]) / 2))
    centre_y = float(np.median((bounds[good, 1] + bounds[good, 3]) / 2))
    where = f"around lon {centre_x:.4f}, lat {centre_y:.4f}"
    if expected_bounds is not None:
        check_expected_area(geometries[good], source, label, expected_bounds)
    area = _area_of_use(source.crs)
    if (
        area is not None
        and not source.crs.is_geographic
        and not _inside(centre_x, centre_y, _expanded(area, 3.0))
    ):
        raise SourceCRSError(
            f"{label}: with {source.label} (from the {source.source}) the data lands {where}, far outside the area "
            f"where that CRS is used ({source.crs.area_of_use.name if source.crs.area_of_use else 'unknown'}): "
            "the CRS probably does not match the coordinates; pass the right --crs EPSG:xxxx"
        )
    return problems


def _globe_message(bad_bounds: np.ndarray, source: SourceCRS, label: str) -> str:
    if source.crs.is_geographic and len(bad_bounds):
        x, y = float(bad_bounds[0, 0]), float(bad_bounds[0, 1])
        example = f"e.g. x={x:.6g}, y={y:.6g}"
        if abs(x) <= 90 and 90 < abs(y) <= 180:
            return (
                f"{label}: coordinates such as {example} put latitude beyond 90 degrees: longitude and latitude look "
                "swapped; swap the coordinate columns or fix the axis order"
            )
        return (
            f"{label}: coordinates such as {example} cannot be degrees, but the CRS ({source.label}, from the "
            f"{source.source}) is in degrees: the data is probably projected (metres); pass the right --crs, "
            "e.g. --crs EPSG:25833"
        )
    return (
        f"{label}: converted from {source.label} (from the {source.source}) most coordinates fall outside the "
        "globe: the CRS does not match the coordinates; pass the right --crs EPSG:xxxx"
    )
