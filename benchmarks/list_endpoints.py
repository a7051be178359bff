"""Median time of the list endpoints against a scratch database with the Berlin sample.

Run: PYTHONPATH=. python benchmarks/list_endpoints.py [repetitions]
"""

from __future__ import annotations

import statistics
import sys
import time

from fastapi.testclient import TestClient

from app.db.session import session_scope
from app.main import create_app
from app.services.migrations import upgrade
from app.services.sample import load_berlin
from tests.conftest import create_database, drop_database, make_settings

PATHS = (
    "/api/assets?city=Berlin&limit=1000",
    "/api/neighbourhoods?city=Berlin&limit=1000",
    "/api/needs?city=Berlin",
    "/api/resources?city=Berlin",
    "/api/links?city=Berlin",
)


def main(repetitions: int = 20) -> None:
    url = create_database("assetmap_bench")
    try:
        upgrade(url)
        settings = make_settings(url)
        with session_scope(settings) as db:
            load_berlin(db, settings)
        with TestClient(create_app(settings)) as client:
            for path in PATHS:
                assert client.get(path).status_code == 200, path  # warm-up
                times = []
                for _ in range(repetitions):
                    start = time.perf_counter()
                    response = client.get(path)
                    times.append((time.perf_counter() - start) * 1000)
                    assert response.status_code == 200, path
                print(f"{path:50} {statistics.median(times):8.2f} ms  ({len(response.content)} bytes)")
    finally:
        drop_database(url)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20)
