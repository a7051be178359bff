"""QGIS itself (Debian's qgis and python3-qgis, headless) loads the XYZ vector tiles of the assets and draws them."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.main import create_app
from tests.browser.conftest import _serve
from tests.conftest import Berlin

SYSTEM_PYTHON = "/usr/bin/python3"
SCRIPT = Path(__file__).resolve().parents[1] / "qgis_client" / "vector_tiles.py"


def _has_qgis() -> bool:
    try:
        probe = subprocess.run(
            [SYSTEM_PYTHON, "-c", "import qgis.core"],
            capture_output=True,
            timeout=60,
            env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probe.returncode == 0


pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not _has_qgis(), reason="needs Debian's qgis and python3-qgis (scripts/setup.sh)"),
]


@pytest.fixture
def served(berlin: Berlin) -> Iterator[str]:
    server, thread, base_url = _serve(create_app(berlin.settings))
    try:
        yield base_url
    finally:
        server.should_exit = True
        thread.join(timeout=15)


def qgis_draws(base_url: str, box: tuple[float, float, float, float]) -> dict[str, Any]:
    done = subprocess.run(
        [SYSTEM_PYTHON, str(SCRIPT), base_url, "berlin-assets", "assets", *map(str, box)],
        capture_output=True,
        text=True,
        timeout=240,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": ""},
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_qgis_loads_and_draws_the_asset_tiles(served: str) -> None:
    mitte = qgis_draws(served, (13.38, 52.50, 13.44, 52.54))
    assert mitte["valid"] is True, mitte
    assert mitte["red_pixels"] > 20, mitte
    # the same layer over the sea east of Rügen draws nothing: the pixels come from the tiles
    sea = qgis_draws(served, (14.6, 54.6, 14.66, 54.64))
    assert sea["valid"] is True and sea["red_pixels"] == 0, sea
