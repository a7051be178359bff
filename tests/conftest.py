"""Shared test fixtures: a real PostGIS database created for the session (with the Berlin sample) and dropped after."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, create_engine
from sqlalchemy.orm import Session

from app.services.provision import create_scratch_database, drop_scratch_database
from app.settings import DEFAULT_DATABASE_URL, Settings

ROLES = ("admin", "gis", "planner", "organiser", "contributor")
TEST_PASSWORD = "correct horse battery"
BROWSER_DIR = Path(__file__).resolve().parent / "browser"


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Group tests for pytest-xdist's `--dist loadgroup` (scripts/test.sh): each file stays on one worker, so its
    module fixtures are built once; every test served by the browsers' live app shares one worker, so one Chromium
    and one app with its own Berlin database serve them all. A test marked `xdist_group` keeps its own group."""
    if not config.pluginmanager.hasplugin("xdist"):
        return
    for item in items:
        if item.get_closest_marker("xdist_group") is not None:
            continue
        if BROWSER_DIR in item.path.parents or "live_app" in getattr(item, "fixturenames", ()):
            group = "browser"
        else:
            group = item.nodeid.split("::", 1)[0]
        item.add_marker(pytest.mark.xdist_group(group))


def _server_url() -> str:
    return os.environ.get("ASSETMAP_DATABASE_URL", DEFAULT_DATABASE_URL)


def create_database(prefix: str = "assetmap_test") -> str:
    """Create an empty PostGIS database on the configured server; returns its SQLAlchemy URL."""
    return create_scratch_database(_server_url(), prefix)


def drop_database(url: str) -> None:
    """Drop a test database, ending any connection still open to it."""
    drop_scratch_database(url)


def make_settings(url: str, **overrides: object) -> Settings:
    """Settings for tests: a throwaway secret, the test database."""
    values: dict[str, object] = {
        "database_url": url,
        "environment": "test",
        "secret_key": "test-secret-0123456789abcdef",
        "tiles_url": None,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@dataclass
class Berlin:
    """The session database with the Berlin sample and one account per role."""

    url: str
    settings: Settings
    engine: Engine
    city_id: int
    tokens: dict[str, str]
    user_ids: dict[str, int]
    mitte_ids: list[int]  # the organiser's neighbourhoods (codes 0110, 0120)

    def headers(self, role: str | None) -> dict[str, str]:
        """Authorization headers for a role (None: anonymous)."""
        return {} if role is None else {"Authorization": f"Bearer {self.tokens[role]}"}


@pytest.fixture(scope="session")
def berlin() -> Iterator[Berlin]:
    """Create, migrate and fill the session database; drop it at the end."""
    from app.db.session import session_scope
    from app.services import auth
    from app.services.migrations import upgrade
    from app.services.sample import load_berlin

    url = create_database()
    try:
        upgrade(url)
        settings = make_settings(url)
        tokens: dict[str, str] = {}
        user_ids: dict[str, int] = {}
        with session_scope(settings) as db:
            report = load_berlin(db, settings)
            for role in ROLES:
                user = auth.add_user(db, f"test-{role}", TEST_PASSWORD, role)
                user_ids[role] = user.id
                tokens[role] = auth.login(db, settings, f"test-{role}", TEST_PASSWORD).token
            mitte = auth.assign_by_code(db, "test-organiser", report.city_id, ["0110", "0120"])
        engine = create_engine(url)
        yield Berlin(url, settings, engine, report.city_id, tokens, user_ids, mitte)
        engine.dispose()
    finally:
        drop_database(url)


@pytest.fixture
def connection(berlin: Berlin) -> Iterator[Connection]:
    """A connection inside a transaction that is rolled back after the test (services' commits become savepoints)."""
    conn = berlin.engine.connect()
    outer = conn.begin()
    try:
        yield conn
    finally:
        outer.rollback()
        conn.close()


@pytest.fixture
def db(connection: Connection) -> Iterator[Session]:
    """An ORM session in the test's transaction."""
    with Session(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    ) as session:
        yield session
