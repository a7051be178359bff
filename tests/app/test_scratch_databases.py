"""Scratch databases for parallel test workers: made at the same time from one template, each its own, each with
PostGIS; a session left open on the template delays a copy instead of failing it."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest
from psycopg import sql
from sqlalchemy.engine import make_url

from app.services.provision import ProvisionError, create_scratch_database
from tests.conftest import _server_url, create_database, drop_database


def _postgis_version(url: str) -> str | None:
    u = make_url(url)
    with psycopg.connect(
        host=u.host, port=u.port or 5432, user=u.username, password=u.password, dbname=u.database
    ) as conn:
        row = conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'postgis'").fetchone()
    return None if row is None else str(row[0])


def _maintenance() -> psycopg.Connection:
    u = make_url(_server_url())
    return psycopg.connect(
        host=u.host,
        port=u.port or 5432,
        user=u.username,
        password=u.password,
        dbname="postgres",
        autocommit=True,
    )


@pytest.fixture
def private_server_url() -> Iterator[str]:
    """A server URL whose `<database>_template` is a copy of the real template only this test uses, so holding it
    open does not delay anyone else's scratch databases."""
    base = make_url(_server_url())
    if not base.database:
        pytest.skip("ASSETMAP_DATABASE_URL names no database")
    database = f"assetmap_tpltest_{secrets.token_hex(4)}"
    template = f"{database}_template"
    with _maintenance() as conn:
        real = f"{base.database}_template"
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (real,)).fetchone() is None:
            pytest.skip(f"no {real} on this server (`assetmap db up` makes it)")
        conn.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(template), sql.Identifier(real))
        )
    try:
        yield base.set(database=database).render_as_string(hide_password=False)
    finally:
        with _maintenance() as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(template)))


def _hold_open(url: str, template: str, seconds: float, connected: threading.Event) -> None:
    u = make_url(url)
    with psycopg.connect(
        host=u.host, port=u.port or 5432, user=u.username, password=u.password, dbname=template
    ) as conn:
        connected.set()
        conn.execute("SELECT pg_sleep(%s)", (seconds,))


def test_scratch_databases_made_at_the_same_time_are_distinct_and_have_postgis() -> None:
    with ThreadPoolExecutor(max_workers=4) as pool:
        urls = list(pool.map(lambda _: create_database("assetmap_parallel"), range(4)))
    try:
        names = [make_url(url).database for url in urls]
        assert len(set(names)) == 4
        assert all(name and name.startswith("assetmap_parallel_") for name in names)
        assert all(_postgis_version(url) for url in urls)
    finally:
        for url in urls:
            drop_database(url)
    with _maintenance() as conn:
        left = conn.execute("SELECT count(*) FROM pg_database WHERE datname = ANY(%s)", (names,)).fetchone()
    assert left == (0,)


@pytest.mark.slow
def test_a_session_left_on_the_template_delays_the_copy_but_does_not_fail_it(private_server_url: str) -> None:
    template = f"{make_url(private_server_url).database}_template"
    connected = threading.Event()
    # Longer than the 5 s PostgreSQL waits for the template's other sessions before it refuses the copy.
    holder = threading.Thread(target=_hold_open, args=(private_server_url, template, 7.0, connected))
    holder.start()
    try:
        assert connected.wait(10)
        started = time.monotonic()
        url = create_scratch_database(private_server_url, "assetmap_waited")
        waited = time.monotonic() - started
    finally:
        holder.join()
    try:
        assert waited > 5.0  # it did have to wait for the session to leave
        assert _postgis_version(url)
    finally:
        drop_database(url)


@pytest.mark.slow
def test_a_template_that_stays_in_use_gives_a_clear_error(private_server_url: str) -> None:
    template = f"{make_url(private_server_url).database}_template"
    connected = threading.Event()
    holder = threading.Thread(target=_hold_open, args=(private_server_url, template, 9.0, connected))
    holder.start()
    try:
        assert connected.wait(10)
        with pytest.raises(ProvisionError) as error:
            create_scratch_database(private_server_url, "assetmap_refused", busy_wait_s=1.0)
    finally:
        holder.join()
    message = str(error.value)
    assert template in message and "pg_stat_activity" in message
    with _maintenance() as conn:
        made = conn.execute(
            "SELECT count(*) FROM pg_database WHERE datname LIKE 'assetmap_refused_%'"
        ).fetchone()
    assert made == (0,)
