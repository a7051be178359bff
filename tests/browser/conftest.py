"""Browser tests: the real app served by uvicorn on 127.0.0.1 (its own database with Berlin), driven by Chromium.

Debian's Chromium (/usr/bin/chromium) is used, never a downloaded browser. Every request to a host other than
127.0.0.1 is blocked and recorded; the app runs with tiles_url=None, so a page that asks for anything outside
fails its test. A failing test leaves screenshots of its pages in test-artifacts/.
"""

from __future__ import annotations

import itertools
import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import uvicorn

from app.settings import PROJECT_ROOT, Settings
from tests.conftest import ROLES, TEST_PASSWORD, create_database, drop_database, make_settings

os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
ARTIFACTS = PROJECT_ROOT / "test-artifacts"
LOCAL_HOSTS = {"127.0.0.1"}
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 375, "height": 812}


@dataclass
class LiveApp:
    """The running app: its address, settings, the Berlin city id and a bearer token per role."""

    base_url: str
    settings: Settings
    city_id: int
    tokens: dict[str, str]
    usernames: dict[str, str]

    def api(self, method: str, path: str, role: str | None = None, **kwargs: Any) -> httpx.Response:
        """Call the running app's API (as `role`, or anonymously)."""
        headers = dict(kwargs.pop("headers", {}) or {})
        if role is not None:
            headers["Authorization"] = f"Bearer {self.tokens[role]}"
        return httpx.request(method, self.base_url + path, headers=headers, timeout=60, **kwargs)


def _serve(app: Any) -> tuple[uvicorn.Server, threading.Thread, str]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True, name="uvicorn")
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test app did not start: see the log above")
        time.sleep(0.05)
    return server, thread, f"http://127.0.0.1:{port}"


@pytest.fixture(scope="session")
def live_app() -> Iterator[LiveApp]:
    """Create a database with Berlin and one user per role, serve the app on a free port, drop it all at the end."""
    from app.db.session import session_scope
    from app.main import create_app
    from app.services import auth
    from app.services.migrations import upgrade
    from app.services.sample import load_berlin

    url = create_database("assetmap_browser")
    try:
        upgrade(url)
        settings = make_settings(url)  # tiles_url=None: no request may leave 127.0.0.1
        tokens: dict[str, str] = {}
        usernames: dict[str, str] = {}
        with session_scope(settings) as db:
            report = load_berlin(db, settings)
            for role in ROLES:
                usernames[role] = f"browser-{role}"
                auth.add_user(db, usernames[role], TEST_PASSWORD, role)
                tokens[role] = auth.login(db, settings, usernames[role], TEST_PASSWORD).token
            auth.assign_by_code(db, usernames["organiser"], report.city_id, ["0110", "0120"])
        server, thread, base_url = _serve(create_app(settings))
        try:
            yield LiveApp(base_url, settings, report.city_id, tokens, usernames)
        finally:
            server.should_exit = True
            thread.join(timeout=15)
    finally:
        drop_database(url)


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    """One headless Chromium for the browser tests, closed when they end: Playwright's sync API keeps an asyncio
    loop running in this thread while it is open, and tests elsewhere that run after them on the same worker
    (pytest-xdist) start loops of their own (anyio.run)."""
    if not CHROMIUM.exists():
        pytest.skip("browser tests need Debian's Chromium at /usr/bin/chromium (apt-get install chromium)")
    from playwright.sync_api import expect, sync_playwright

    # Assertions wait as long as page actions do (Tabs.new): with the suite spread over the cores, another worker
    # keeps the machine busy and a dry-run import can take longer than Playwright's default of 5 s.
    expect.set_options(timeout=20_000)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()


@dataclass
class Watch:
    """What a page did that a user would not want: console errors, dialogs, requests leaving this machine."""

    console_errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    outside_requests: list[str] = field(default_factory=list)

    def reset(self) -> None:
        """Forget what earlier tests saw."""
        self.console_errors.clear()
        self.dialogs.clear()
        self.outside_requests.clear()

    def assert_clean(self, expected_statuses: tuple[int, ...] = ()) -> None:
        """No console error, no dialog, no outside request; `expected_statuses` are API answers the test caused."""
        assert self.outside_requests == [], f"requests left 127.0.0.1: {self.outside_requests}"
        assert self.dialogs == [], f"dialogs opened (script ran?): {self.dialogs}"
        # Chromium logs every 4xx answer to fetch() as a console error; the ones a test provokes are expected.
        expected = [f"the server responded with a status of {status}" for status in expected_statuses]
        errors = [text for text in self.console_errors if not any(e in text for e in expected)]
        assert errors == [], f"console errors: {errors}"


@dataclass
class Tab:
    """A browser context with one page, and what it is watched for."""

    context: Any
    page: Any
    watch: Watch

    def goto(self, base_url: str, path: str, timeout_ms: float | None = None) -> Any:
        """Open a path of the app and wait until the network is quiet; returns the response."""
        response = self.page.goto(base_url + path, wait_until="load", timeout=timeout_ms)
        self.page.wait_for_load_state("networkidle", timeout=timeout_ms)
        return response


class Tabs:
    """Browser contexts kept for the session (one per role and screen size), and the tabs a test used."""

    def __init__(self, browser: Any, live: LiveApp) -> None:
        self.browser = browser
        self.live = live
        self.cache: dict[tuple[str | None, str], Tab] = {}
        self.used: list[Tab] = []

    def new(self, viewport: dict[str, int] | None = None) -> Tab:
        """A fresh context (not cached): for tests that sign out or otherwise change the session."""
        context = self.browser.new_context(viewport=viewport or DESKTOP)
        watch = Watch()

        def guard(route: Any) -> None:
            host = urlsplit(route.request.url).hostname
            if host in LOCAL_HOSTS:
                route.continue_()
            else:
                watch.outside_requests.append(route.request.url)
                route.abort()

        context.route("**/*", guard)
        page = context.new_page()
        page.set_default_timeout(20_000)
        page.on(
            "console",
            lambda message: watch.console_errors.append(message.text) if message.type == "error" else None,
        )
        page.on("pageerror", lambda error: watch.console_errors.append(f"uncaught: {error}"))

        def on_dialog(dialog: Any) -> None:
            watch.dialogs.append(f"{dialog.type}: {dialog.message}")
            dialog.dismiss()

        page.on("dialog", on_dialog)
        tab = Tab(context, page, watch)
        self.used.append(tab)
        return tab

    def get(self, role: str | None = None, viewport: str = "desktop") -> Tab:
        """The session's tab for a role (None: anonymous), signed in through the start page the first time."""
        key = (role, viewport)
        if key not in self.cache:
            tab = self.new(PHONE if viewport == "phone" else DESKTOP)
            if role is not None:
                sign_in(tab, self.live, role)
            self.cache[key] = tab
        tab = self.cache[key]
        tab.watch.reset()
        if tab not in self.used:
            self.used.append(tab)
        return tab

    def close(self) -> None:
        """Close every context."""
        for tab in {id(t): t for t in [*self.cache.values(), *self.used]}.values():
            try:
                tab.context.close()
            except Exception:  # noqa: S112 - a context the browser already closed
                continue


def sign_in(tab: Tab, live: LiveApp, role: str) -> None:
    """Sign in through the start page's form, as a user would."""
    tab.goto(live.base_url, "/")
    page = tab.page
    page.fill("#signin-username", live.usernames[role])
    page.fill("#signin-password", TEST_PASSWORD)
    page.click("#signin-form button[type=submit]")
    page.wait_for_selector("#signed-in:not([hidden])")
    assert page.text_content("#signed-in-name") == live.usernames[role]


@pytest.fixture(scope="package")
def session_tabs(browser: Any, live_app: LiveApp) -> Iterator[Tabs]:
    """The browser tests' contexts."""
    tabs = Tabs(browser, live_app)
    try:
        yield tabs
    finally:
        tabs.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Keep each phase's report on the test item, so fixtures can tell whether the test failed."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


@pytest.fixture
def tabs(session_tabs: Tabs, request: pytest.FixtureRequest) -> Iterator[Tabs]:
    """The session's tabs for one test; on failure, a screenshot of every tab it used goes to test-artifacts/."""
    session_tabs.used = []
    yield session_tabs
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid)[-150:]
        for index, tab in enumerate(session_tabs.used):
            try:
                tab.page.screenshot(path=str(ARTIFACTS / f"{name}-{index}.png"), full_page=True)
            except Exception:  # noqa: S112 - a closed page has nothing to show
                continue
    for tab in session_tabs.used:
        if tab not in session_tabs.cache.values():
            tab.context.close()
    session_tabs.used = []


# Text a community member could type, meant to run as script in a careless page or as a template on the server
# ("EVALUATED" anywhere on a page means a template ran).
PAYLOADS = (
    "<img src=x onerror=alert(1)> {{ 'evaluated'|upper }}",
    "${document.title='x'} {% raw %}",
    "back`tick {% if 1 %} {# hidden #}",
    '"><script>alert(2)</script> [bold]b[/bold] :smile:',
    "</script><script>alert(3)</script> ${'evalu'+'ated'.toUpperCase()}",
)
HOSTILE = " ".join(PAYLOADS)
CATEGORIES = ("association", "institution", "physical_space", "economy", "culture")


@dataclass
class HostileData:
    """A city, neighbourhood, assets, a need, a resource and a link named with script payloads."""

    city_id: int
    city_name: str
    neighbourhood_id: int
    neighbourhood_name: str
    asset_names: list[str]
    need_description: str
    centre: tuple[float, float]  # lon, lat of the hostile neighbourhood's assets
    berlin_asset_names: list[str]
    berlin_centre: tuple[float, float]


def _created(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def _square(lon: float, lat: float, half: float) -> dict[str, Any]:
    ring = [
        [lon - half, lat - half],
        [lon + half, lat - half],
        [lon + half, lat + half],
        [lon - half, lat + half],
    ]
    return {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}


@pytest.fixture(scope="session")
def hostile(live_app: LiveApp) -> HostileData:
    """Hostile names in a city of their own (so Berlin's counts stay as published) and in Berlin's Mitte."""
    api = live_app.api
    city_name = f"Testville {PAYLOADS[0]} {PAYLOADS[1]}"
    city = _created(api("POST", "/api/cities", "admin", json={"name": city_name, "country": HOSTILE[:100]}))
    lon, lat = 10.0, 50.0
    hood_name = f"Hostile {HOSTILE}"
    hood = _created(
        api(
            "POST",
            "/api/neighbourhoods",
            "admin",
            json={
                "city": city["id"],
                "code": "X1",
                "name": hood_name,
                "level": "neighbourhood",
                "population": 1234,
                "population_by_group": {"under_6": 100, "over_65": 200},
                "geometry": _square(lon, lat, 0.01),
            },
        )
    )
    asset_ids = []
    names = []
    for index, (payload, category) in enumerate(zip(PAYLOADS, CATEGORIES, strict=True)):
        name = f"Asset {index} {payload}"
        feature = _created(
            api(
                "POST",
                "/api/assets",
                "admin",
                json={
                    "city": city["id"],
                    "name": name,
                    "category": category,
                    "description": HOSTILE,
                    "service_types": ["childcare"],
                    "geometry": {
                        "type": "Point",
                        "coordinates": [lon - 0.006 + 0.003 * index, lat + 0.002 * (index % 2)],
                    },
                },
            )
        )
        assert feature["properties"]["neighbourhood_id"] == hood["id"]
        asset_ids.append(feature["id"])
        names.append(name)
    _created(
        api(
            "POST",
            "/api/needs",
            "admin",
            json={
                "city": city["id"],
                "service_type": "childcare",
                "people_affected": 12,
                "description": HOSTILE,
                "geometry": {"type": "Point", "coordinates": [lon + 0.004, lat - 0.004]},
            },
        )
    )
    _created(
        api(
            "POST",
            "/api/resources",
            "admin",
            json={
                "kind": "space",
                "asset_id": asset_ids[0],
                "quantity": 2,
                "unit": PAYLOADS[1],
                "description": HOSTILE,
            },
        )
    )
    _created(
        api(
            "POST",
            "/api/links",
            "admin",
            json={
                "source_asset_id": asset_ids[0],
                "target_asset_id": asset_ids[1],
                "kind": "partnership",
                "description": HOSTILE,
            },
        )
    )
    # In Berlin's Mitte (forecast area 0110), linked, so the network map draws them too.
    b_lon, b_lat = 13.3960, 52.5170
    berlin_ids = []
    berlin_names = []
    for index, payload in enumerate(PAYLOADS):
        name = f"Berlin asset {index} {payload}"
        feature = _created(
            api(
                "POST",
                "/api/assets",
                "admin",
                json={
                    "city": "Berlin",
                    "name": name,
                    "category": CATEGORIES[index],
                    "description": HOSTILE,
                    "service_types": ["childcare"],  # so the childcare gap map draws them too
                    "geometry": {"type": "Point", "coordinates": [b_lon + 0.0008 * index, b_lat]},
                },
            )
        )
        berlin_ids.append(feature["id"])
        berlin_names.append(name)
    for source, target in itertools.pairwise(berlin_ids):
        _created(
            api(
                "POST",
                "/api/links",
                "admin",
                json={
                    "source_asset_id": source,
                    "target_asset_id": target,
                    "kind": "referral",
                    "description": HOSTILE,
                },
            )
        )
    return HostileData(
        city["id"], city_name, hood["id"], hood_name, names, HOSTILE, (lon, lat), berlin_names, (b_lon, b_lat)
    )
