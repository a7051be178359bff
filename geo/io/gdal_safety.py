"""GDAL and PROJ configured for untrusted files: no network, no VRT, no drivers that act on what a file names."""

from __future__ import annotations

import os
import threading

# Drivers that fetch from the network, run stored pipelines or programs, or open other files named inside a
# file. Reading never needs them; skipping them is defence in depth behind content checks.
SKIPPED_DRIVERS: tuple[str, ...] = (
    "VRT",
    "OGR_VRT",
    "GDALG",
    "HTTP",
    "WFS",
    "OAPIF",
    "OGCAPI",
    "CSW",
    "WMS",
    "WMTS",
    "WCS",
    "DAAS",
    "EEDA",
    "EEDAI",
    "STACTA",
    "STACIT",
    "PLSCENES",
    "NGW",
    "Carto",
    "AmigoCloud",
    "Elasticsearch",
    "ADBC",
    "AIVector",
    "GPSBabel",
    "PostgreSQL",
    "PostGISRaster",
    "MySQL",
    "ODBC",
    "PGeo",
    "MSSQLSpatial",
    "OCI",
    "MongoDBv3",
    "GNMDatabase",
    "GNMFile",
)

SAFE_GDAL_CONFIG: dict[str, str] = {
    # No real URL ends like this, so /vsicurl/ refuses every file; the dead proxy stops any other HTTP use.
    "CPL_VSIL_CURL_ALLOWED_EXTENSIONS": ".assetmap-network-is-off",
    "GDAL_HTTP_PROXY": "127.0.0.1:9",
    "GDAL_HTTPS_PROXY": "127.0.0.1:9",
    "GDAL_HTTP_TIMEOUT": "1",
    "GDAL_HTTP_CONNECTTIMEOUT": "1",
    "GDAL_HTTP_MAX_RETRY": "0",
    "CPL_VSIL_CURL_USE_HEAD": "NO",
    "GDAL_VRT_ENABLE_PYTHON": "NO",
    "GDAL_VRT_ENABLE_RAWRASTERBAND": "NO",
    "OGR_SQLITE_ALLOW_EXTERNAL_ACCESS": "NO",
    "CPL_ALLOW_VSISTDIN": "NO",
    "PROJ_NETWORK": "OFF",
}
# Raster drivers are not listed by pyogrio, so these are named even when the vector list lacks them.
_ALWAYS_SKIPPED = ("VRT", "WMS", "WMTS", "WCS", "DAAS", "EEDAI", "STACTA", "STACIT")

_lock = threading.Lock()
_configured = False


def configure_gdal_safely() -> list[str]:
    """Turn GDAL/PROJ network access and risky drivers off (idempotent); return skipped drivers still loaded."""
    global _configured
    with _lock:
        if not _configured:
            # In the environment as well, so PROJ contexts and child processes (ogr2ogr) inherit them.
            os.environ.update(SAFE_GDAL_CONFIG)
            import pyogrio
            import pyproj.network

            pyogrio.set_gdal_config_options(SAFE_GDAL_CONFIG)
            pyproj.network.set_network_enabled(active=False)
            # Only drivers that exist are named: GDAL warns about every unknown name in GDAL_SKIP.
            loaded = pyogrio.list_drivers()
            skip = sorted({*_ALWAYS_SKIPPED, *(name for name in SKIPPED_DRIVERS if name in loaded)})
            pyogrio.set_gdal_config_options({"GDAL_SKIP": " ".join(skip)})
            _reapply_driver_skip()
            _configured = True
        return still_loaded_skipped_drivers()


def _reapply_driver_skip() -> None:
    # pyogrio registered its drivers when it was imported. GDALAllRegister ends by deregistering the drivers
    # named in GDAL_SKIP, so running it again now applies the skip list whatever the import order was.
    try:
        from pyogrio._ogr import _register_drivers
    except ImportError:  # a future pyogrio may move it; still_loaded_skipped_drivers() then reports the gap
        return
    _register_drivers()


def still_loaded_skipped_drivers() -> list[str]:
    """Return the names of drivers that should be skipped but are registered (empty when all is well)."""
    import pyogrio

    loaded = pyogrio.list_drivers()
    return sorted(name for name in SKIPPED_DRIVERS if name in loaded)
