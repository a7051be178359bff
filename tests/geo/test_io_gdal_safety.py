"""GDAL is configured so that VRT and network drivers are gone and PROJ never goes online."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pyogrio
import pyproj

from geo.io import configure_gdal_safely
from geo.io.gdal_safety import SKIPPED_DRIVERS


def test_configuration_is_idempotent_and_leaves_no_risky_driver() -> None:
    assert configure_gdal_safely() == []
    assert configure_gdal_safely() == []
    loaded = pyogrio.list_drivers()
    assert not set(SKIPPED_DRIVERS) & set(loaded)
    assert {"ESRI Shapefile", "GPKG", "GeoJSON"} <= set(loaded)
    assert pyogrio.get_gdal_config_option("CPL_VSIL_CURL_ALLOWED_EXTENSIONS") == ".assetmap-network-is-off"
    assert not pyproj.network.is_network_enabled()


def test_a_vrt_that_gdal_would_open_is_refused_once_configured(tmp_path: Path) -> None:
    (tmp_path / "points.csv").write_text("name,x,y\na,13.4,52.5\n")
    (tmp_path / "points.vrt").write_text(
        '<OGRVRTDataSource><OGRVRTLayer name="points">'
        f"<SrcDataSource>{tmp_path / 'points.csv'}</SrcDataSource>"
        '<GeometryField encoding="PointFromColumns" x="x" y="y"/></OGRVRTLayer></OGRVRTDataSource>'
    )
    # A fresh interpreter, so the driver list is GDAL's default before configuration.
    script = textwrap.dedent(
        f"""
        import pyogrio
        from geo.io import configure_gdal_safely
        vrt = {str(tmp_path / "points.vrt")!r}
        print("before", pyogrio.read_info(vrt)["driver"])
        configure_gdal_safely()
        try:
            pyogrio.read_info(vrt)
            print("after opened")
        except Exception as exc:
            print("after refused", type(exc).__name__)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )
    assert result.stdout.split("\n")[:2] == ["before OGR_VRT", "after refused DataSourceError"]
