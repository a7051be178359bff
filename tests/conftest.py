"""Shared test fixtures: a real PostGIS database created for the session (with the Berlin sample) and dropped after."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, create_engine
from sqlalchemy.orm import Session

from app.services.provision import create_scratch_database, drop_scratch_database
from app.settings import DEFAULT_DATABASE_URL, Settings

ROLES = ("admin", "gis", "planner", "organiser", "contributor")
TEST_PASSWORD = "correct horse battery"
BROWSER_DIR = Path(__file__).resolve().parent / "browser"


# GNU readline, which pytest imports, puts COLUMNS=80 and LINES=24 into the C environment; pytest-xdist's workers
# inherit them, and rich would then fix the command line's width at 80 when app.cli is imported, ignoring the
# COLUMNS the CLI tests set. A one-process run has neither in os.environ: give a worker the same.
if os.environ.get("PYTEST_XDIST_WORKER"):
    for _inherited in ("COLUMNS", "LINES"):
        os.environ.pop(_inherited, None)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Give every test its own node id: schemathesis names each operation's test `test_x[GET /path]`, but on
    pytest 9.2 its node id is `test_x` for every operation, and pytest-xdist, which sends node ids to its workers,
    would run one operation per test function and silently drop the rest."""
    seen: dict[str, int] = {}
    for item in items:
        seen[item.nodeid] = seen.get(item.nodeid, 0) + 1
    for item in items:
        if seen[item.nodeid] < 2 or not isinstance(item, pytest.Function):
            continue
        params = item.name[len(item.originalname) :]
        node_id: Any = getattr(item, "_id", None)  # pytest 9.2's structured node id (private)
        if params.startswith("[") and params.endswith("]") and getattr(node_id, "params", "") is None:
            item._id = node_id.with_params(params[1:-1])


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """`--dist loadfile` (pyproject.toml), with tests/browser/ counted as one file: each test file runs on one
    worker, so its module fixtures are built once, and all browser tests share one worker, so one Chromium and
    one app serving its own Berlin database (tests/browser/conftest.py) serve them all."""
    if config.getoption("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    browser = BROWSER_DIR.relative_to(config.rootpath).as_posix() + "/"

    class FilesAndBrowser(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::", 1)[0]
            return browser if path.startswith(browser) else path

    return FilesAndBrowser(config, log)


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
