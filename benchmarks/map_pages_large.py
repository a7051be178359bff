"""The organiser map of a large city in Chromium: 50,000 assets and 5,000 neighbourhoods (synthetic, in a scratch
database), drawn from vector tiles (over ASSETMAP_VECTOR_TILES_THRESHOLD) and, for comparison, from GeoJSON pages.

Prints, per mode: time to first render (navigation until the page has loaded and drawn its first features), the
latency of interactions (a zoom step, and the end of a drag, each until the map is quiet again), and the longest gap between
animation frames while panning (the page's responsiveness). Not a timed test: figures depend on the machine.

Run: PYTHONPATH=. python benchmarks/map_pages_large.py [assets] [neighbourhoods]
"""

from __future__ import annotations

import statistics
import sys
import time
from typing import Any

from sqlalchemy import create_engine, text

from app.main import create_app
from app.services.migrations import upgrade
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, _serve
from tests.conftest import create_database, drop_database, make_settings

CITY = "Bigcity"
WEST, SOUTH = 13.1, 52.35  # a Berlin-sized square, 0.5 x 0.3 degrees
WIDTH, HEIGHT = 0.5, 0.3
CENTRE = (WEST + WIDTH / 2, SOUTH + HEIGHT / 2)


def fill(url: str, assets: int, neighbourhoods: int) -> None:
    """A city of `neighbourhoods` grid squares and `assets` points spread over them (seeded, reproducible)."""
    engine = create_engine(url)
    side = int(neighbourhoods**0.5) + 1
    with engine.begin() as db:
        city_id = db.execute(
            text("INSERT INTO city (name, country) VALUES (:name, 'Nowhere') RETURNING id"), {"name": CITY}
        ).scalar_one()
        db.execute(
            text(
                """
                INSERT INTO neighbourhood (city_id, code, name, population, geom)
                SELECT :city, lpad(i::text, 5, '0'), 'Area ' || i, 1000 + i % 500,
                       ST_Multi(ST_MakeEnvelope(:w + (i % :side) * :dx, :s + (i / :side) * :dy,
                                                :w + (i % :side + 1) * :dx, :s + (i / :side + 1) * :dy, 4326))
                FROM generate_series(0, :n - 1) AS i
                """
            ),
            {
                "city": city_id,
                "w": WEST,
                "s": SOUTH,
                "dx": WIDTH / side,
                "dy": HEIGHT / side,
                "side": side,
                "n": neighbourhoods,
            },
        )
        db.execute(text("SELECT setseed(0.16)"))
        db.execute(
            text(
                """
                INSERT INTO asset (city_id, category, name, geom, blurred_location, source, source_id)
                SELECT :city, (ARRAY['association', 'institution', 'physical_space', 'economy'])[1 + i % 4],
                       'Place ' || i, p, p, 'bench', i::text
                FROM (SELECT i, ST_SetSRID(ST_MakePoint(:w + random() * :width, :s + random() * :height), 4326) AS p
                      FROM generate_series(1, :n) AS i) AS points
                """
            ),
            {"city": city_id, "w": WEST, "s": SOUTH, "width": WIDTH, "height": HEIGHT, "n": assets},
        )
        db.execute(
            text(
                "UPDATE asset a SET neighbourhood_id = n.id FROM neighbourhood n "
                "WHERE a.city_id = :city AND n.city_id = :city AND ST_Intersects(n.geom, a.geom)"
            ),
            {"city": city_id},
        )
        db.execute(text("ANALYZE asset; ANALYZE neighbourhood"))
    engine.dispose()


QUIET = """() => new Promise((resolve) => {
  const root = document.getElementById('editor');
  let last = root.dataset.tileFeatures || '';
  let still = 0;
  const tick = () => {
    const now = root.dataset.tileFeatures || '';
    const waiting = root.dataset.vectorTiles !== '{}' && !now;  // no tile drawn yet
    still = (now === last && root.dataset.loading !== 'true' && !waiting) ? still + 1 : 0;
    last = now;
    if (still >= 3) { resolve(); } else { setTimeout(tick, 50); }
  };
  setTimeout(tick, 50);
})"""

FRAME_GAPS = """(ms) => new Promise((resolve) => {
  const gaps = [];
  let before = performance.now();
  const end = before + ms;
  const frame = (now) => { gaps.push(now - before); before = now; if (now < end) { requestAnimationFrame(frame); } else { resolve(gaps); } };
  requestAnimationFrame(frame);
})"""


def measure(browser: Any, base_url: str, label: str) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(120_000)
    lon, lat = CENTRE
    # the whole city first (zoom 11: the GeoJSON mode asks to zoom in and draws no entries), then a district
    start = time.perf_counter()
    page.goto(f"{base_url}/map/edit?city={CITY}&lat={lat}&lon={lon}&zoom=11", wait_until="load")
    page.wait_for_selector("#editor[data-loaded=true]")
    page.evaluate(QUIET)
    whole = (time.perf_counter() - start) * 1000
    whole_drawn = page.get_attribute("#editor", "data-tile-features")
    start = time.perf_counter()
    page.goto(f"{base_url}/map/edit?city={CITY}&lat={lat}&lon={lon}&zoom=13", wait_until="load")
    page.wait_for_selector("#editor[data-loaded=true]")
    page.evaluate(QUIET)
    first = (time.perf_counter() - start) * 1000
    vector = page.get_attribute("#editor", "data-vector-tiles")
    zooms, pans, gaps = [], [], []
    for step in range(3):
        start = time.perf_counter()
        page.mouse.move(640, 400)
        page.mouse.wheel(0, -200 if step % 2 == 0 else 200)
        page.evaluate(QUIET)
        zooms.append((time.perf_counter() - start) * 1000)
        box = page.locator("#map").bounding_box()
        x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        page.mouse.move(x, y)
        page.mouse.down()
        recorder = page.evaluate_handle(FRAME_GAPS, 1500)
        for i in range(1, 21):
            page.mouse.move(x + 15 * i, y + 5 * i)
        start = time.perf_counter()
        page.mouse.up()
        page.evaluate(QUIET)
        pans.append((time.perf_counter() - start) * 1000)
        gaps.extend(recorder.json_value())
    drawn = page.get_attribute("#editor", "data-tile-features")
    count = page.text_content("#view-count")
    print(
        f"{label:14} first render: whole city (z11) {whole:6.0f} ms, drew {whole_drawn};"
        f" district (z13) {first:6.0f} ms | zoom step median {statistics.median(zooms):6.0f} ms"
        f" | pan median {statistics.median(pans):6.0f} ms | longest frame while panning {max(gaps):5.0f} ms"
    )
    print(f"{'':14} vector layers: {vector}; tile features drawn: {drawn}; list: {count}")
    context.close()


def main(assets: int = 50_000, neighbourhoods: int = 5_000) -> None:
    from playwright.sync_api import sync_playwright

    url = create_database("assetmap_bench_maps")
    servers = []
    try:
        upgrade(url)
        start = time.perf_counter()
        fill(url, assets, neighbourhoods)
        print(
            f"{assets} assets and {neighbourhoods} neighbourhoods written in {time.perf_counter() - start:.1f} s"
        )
        settings = make_settings(url)
        modes = {
            "vector tiles": settings.model_copy(update={"vector_tiles_threshold": 2_000}),
            "GeoJSON pages": settings.model_copy(update={"vector_tiles_threshold": 100_000_000}),
        }
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
            )
            try:
                for label, mode_settings in modes.items():
                    server, thread, base_url = _serve(create_app(mode_settings))
                    servers.append((server, thread))
                    measure(browser, base_url, label)
            finally:
                browser.close()
    finally:
        for server, thread in servers:
            server.should_exit = True
            thread.join(timeout=15)
        drop_database(url)


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:3]]
    main(*args)
