"""Mixed load on a real uvicorn, optionally with a PostgreSQL restart in the middle; loopback only, bounded in time.

32 clients (asyncio, one keep-alive connection each) read and write the JSON API for 60 seconds against a scratch
database with the Berlin sample: lists of assets and needs, single assets, neighbourhood summaries, and creates and
patches of needs and assets with an admin token. Every write the service acknowledged (2xx) is checked in the
database afterwards: each created row exists and holds the value of the last acknowledged patch.

With --restart-at S, PostgreSQL is restarted S seconds into the run (--restart-command, by default
`pg_ctlcluster 15 main restart`); the service itself is never restarted. A probe asks for one need every 50 ms and
the script prints how long the service answered 503 and how soon after the database was back it answered 200.
During the restart a clean 503 with Retry-After is the expected answer; anything else (a 500, a dropped connection,
a timeout) is an error. A restart ends the connections of everything else on the server: run it on a machine you
may disturb.

Run: PYTHONPATH=. python benchmarks/load_and_faults.py [--seconds 60] [--clients 32] [--restart-at 30]
Exit status 1 when there were errors or an acknowledged write is missing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shlex
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app.db.session import session_scope
from app.services import auth
from app.services.migrations import upgrade
from app.services.provision import create_scratch_database, drop_scratch_database
from app.services.sample import load_berlin
from app.settings import DEFAULT_DATABASE_URL, Settings

SECRET = "load-and-faults-secret-0123456789"  # noqa: S105 - a scratch database dropped at the end
# Request types and their share of the mix (reads about three quarters).
WEIGHTS = {
    "list_assets": 18,
    "list_needs": 14,
    "get_asset": 24,
    "summary": 14,
    "create_need": 9,
    "patch_need": 8,
    "create_asset": 7,
    "patch_asset": 6,
}
WRITE_KINDS = {
    "create_need": "needs",
    "patch_need": "needs",
    "create_asset": "assets",
    "patch_asset": "assets",
}
# Around Berlin Mitte, inside the sample's neighbourhoods.
LON, LAT = (13.36, 13.46), (52.50, 52.54)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Site:
    """The scratch database, the server on it, and what the clients need to know about its data."""

    url: str
    port: int
    admin_token: str
    planner_token: str
    asset_ids: list[int] = field(default_factory=list)
    neighbourhood_ids: list[int] = field(default_factory=list)


@dataclass
class Tally:
    """Everything the clients saw: latencies per type, answers by status, writes acknowledged."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: dict[tuple[str, int], int] = field(default_factory=lambda: defaultdict(int))
    errors: list[str] = field(default_factory=list)
    refused: int = 0  # clean 503s with Retry-After while the database was away
    unknown_writes: int = 0  # writes whose answer never came (not checked: either outcome is allowed)
    # kind -> id -> the value of `description` the last acknowledged write left
    acknowledged: dict[str, dict[int, str]] = field(default_factory=lambda: {"needs": {}, "assets": {}})
    probe: list[tuple[float, int]] = field(default_factory=list)  # (seconds into the run, status or 0)


def prepare(server_url: str) -> tuple[str, Settings, str, str]:
    """A scratch database with the Berlin sample, an admin and a planner; their tokens."""
    url = create_scratch_database(server_url, "assetmap_load")
    upgrade(url)
    settings = Settings(database_url=url, environment="development", secret_key=SECRET, tiles_url=None)
    with session_scope(settings) as db:
        load_berlin(db, settings)
        tokens = []
        for role in ("admin", "planner"):
            auth.add_user(db, f"load-{role}", "load-password-0123", role)
            tokens.append(auth.login(db, settings, f"load-{role}", "load-password-0123").token)
    return url, settings, tokens[0], tokens[1]


def start_server(url: str, port: int, log_path: Path) -> subprocess.Popen[bytes]:
    """uvicorn with one worker, as an operator would run it."""
    env = {
        **os.environ,
        "ASSETMAP_DATABASE_URL": url,
        "ASSETMAP_ENVIRONMENT": "development",
        "ASSETMAP_SECRET_KEY": SECRET,
        "ASSETMAP_TILES_URL": "",
    }
    command = [sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory", "--workers", "1"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--no-access-log", "--log-level", "warning"]
    log = log_path.open("wb")
    return subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)


def wait_until_ready(port: int, server: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("the server stopped while starting: see its log")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit("the server did not become ready")


def point() -> dict[str, Any]:
    return {"type": "Point", "coordinates": [random.uniform(*LON), random.uniform(*LAT)]}


class Client:
    """One of the concurrent users: its own connection, and the needs and assets it created (with versions)."""

    def __init__(self, number: int, site: Site, tally: Tally, started: float) -> None:
        self.number = number
        self.site = site
        self.tally = tally
        self.started = started
        self.rng = random.Random(number)
        self.mine: dict[str, dict[int, int]] = {"needs": {}, "assets": {}}  # kind -> id -> version
        self.admin = {"Authorization": f"Bearer {site.admin_token}"}
        self.planner = {"Authorization": f"Bearer {site.planner_token}"}

    def _pick(self) -> str:
        kinds, weights = zip(*WEIGHTS.items(), strict=True)
        kind = self.rng.choices(kinds, weights)[0]
        if kind.startswith("patch_") and not self.mine[WRITE_KINDS[kind]]:
            return "create_" + kind.removeprefix("patch_")
        return kind

    def _request(self, kind: str) -> tuple[str, str, dict[str, Any]]:
        """(method, path, httpx keyword arguments) for one request of this type."""
        marker = f"load {self.number} {uuid.uuid4().hex[:10]}"
        if kind == "list_assets":
            return "GET", "/api/assets", {"params": {"city": "Berlin", "limit": 100}}
        if kind == "list_needs":
            return "GET", "/api/needs", {"params": {"city": "Berlin", "limit": 100}}
        if kind == "get_asset":
            return "GET", f"/api/assets/{self.rng.choice(self.site.asset_ids)}", {}
        if kind == "summary":
            area = self.rng.choice(self.site.neighbourhood_ids)
            return "GET", f"/api/neighbourhoods/{area}/summary", {"headers": self.planner}
        if kind == "create_need":
            body = {"city": "Berlin", "service_type": "childcare", "severity": 3, "description": marker}
            return "POST", "/api/needs", {"json": {**body, "geometry": point()}, "headers": self.admin}
        if kind == "create_asset":
            body = {"city": "Berlin", "name": marker, "category": "association", "description": marker}
            return "POST", "/api/assets", {"json": {**body, "geometry": point()}, "headers": self.admin}
        collection = WRITE_KINDS[kind]
        item_id = self.rng.choice(list(self.mine[collection]))
        headers = {**self.admin, "If-Match": f'"{self.mine[collection][item_id]}"'}
        return "PATCH", f"/api/{collection}/{item_id}", {"json": {"description": marker}, "headers": headers}

    async def run(self, http: httpx.AsyncClient, until: float) -> None:
        while time.monotonic() < until:
            kind = self._pick()
            method, path, kwargs = self._request(kind)
            sent = time.monotonic()
            try:
                response = await http.request(method, path, **kwargs)
            except httpx.HTTPError as exc:
                self.tally.errors.append(f"{kind} {path}: {type(exc).__name__} {exc}")
                if kind in WRITE_KINDS:
                    self.tally.unknown_writes += 1
                continue
            elapsed = time.monotonic() - sent
            self.tally.statuses[(kind, response.status_code)] += 1
            if response.is_success:
                self.tally.latencies[kind].append(elapsed)
                if kind in WRITE_KINDS:
                    self._acknowledged(kind, response, kwargs["json"]["description"])
            elif response.status_code == 503 and "retry-after" in response.headers:
                self.tally.refused += 1
                await asyncio.sleep(0.2)  # a real client backs off a little (the header says 5 s)
            else:
                self.tally.errors.append(f"{kind} {path}: {response.status_code} {response.text[:200]}")

    def _acknowledged(self, kind: str, response: httpx.Response, description: str) -> None:
        collection = WRITE_KINDS[kind]
        body = response.json()
        item_id = int(body["id"])
        self.mine[collection][item_id] = int(response.headers["etag"].strip('W/"'))
        self.tally.acknowledged[collection][item_id] = description


async def probe(port: int, tally: Tally, started: float, until: float) -> None:
    """One small read every 50 ms on a connection of its own: when the service stopped and started answering."""
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
        while time.monotonic() < until:
            try:
                status = (await http.get("/api/needs", params={"limit": 1})).status_code
            except httpx.HTTPError:
                status = 0
            tally.probe.append((time.monotonic() - started, status))
            await asyncio.sleep(0.05)


def _connect_once(dsn: str) -> None:
    psycopg.connect(dsn, connect_timeout=2).close()


async def restart_database(
    command: str, delay: float, started: float, marks: dict[str, float], url: str
) -> None:
    """Run the restart command `delay` seconds in, and watch when PostgreSQL refuses and accepts connections."""
    await asyncio.sleep(delay)
    marks["restart_sent"] = time.monotonic() - started
    process = await asyncio.create_subprocess_exec(
        *shlex.split(command), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    while "db_up" not in marks:
        try:
            await asyncio.to_thread(_connect_once, dsn)
            if "db_down" in marks:
                marks["db_up"] = time.monotonic() - started
        except psycopg.OperationalError:
            marks.setdefault("db_down", time.monotonic() - started)
        if process.returncode is not None and "db_down" not in marks:
            break  # the command ended and the server never refused: nothing to time
        await asyncio.sleep(0.05)
    _, stderr = await process.communicate()
    marks["restart_done"] = time.monotonic() - started
    if process.returncode != 0:
        raise SystemExit(f"`{command}` failed: {stderr.decode(errors='replace').strip()}")


async def load(
    site: Site, clients: int, seconds: float, restart: tuple[str, float] | None
) -> tuple[Tally, dict[str, float]]:
    tally = Tally()
    marks: dict[str, float] = {}
    started = time.monotonic()
    until = started + seconds
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{site.port}", timeout=30, limits=limits) as http:
        tasks = [Client(n, site, tally, started).run(http, until) for n in range(clients)]
        tasks.append(probe(site.port, tally, started, until))
        if restart is not None:
            tasks.append(restart_database(restart[0], restart[1], started, marks, site.url))
        await asyncio.gather(*tasks)
    marks["seconds"] = time.monotonic() - started
    return tally, marks


def check_writes(url: str, tally: Tally) -> tuple[int, list[str]]:
    """Every acknowledged write is in the database with the value of its last acknowledged change."""
    missing: list[str] = []
    checked = 0
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            for collection, table in (("needs", "need"), ("assets", "asset")):
                expected = tally.acknowledged[collection]
                stored: dict[int, str | None] = dict(
                    conn.execute(
                        text(f"SELECT id, description FROM {table} WHERE id = ANY(:ids)"),
                        {"ids": list(expected)},
                    ).all()
                )
                for item_id, description in expected.items():
                    checked += 1
                    if stored.get(item_id) != description:
                        missing.append(
                            f"{collection}/{item_id}: expected {description!r}, found {stored.get(item_id)!r}"
                        )
    finally:
        engine.dispose()
    return checked, missing


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def report(
    tally: Tally, marks: dict[str, float], checked: int, missing: list[str], server_errors: int
) -> bool:
    seconds = marks["seconds"]
    total = sum(len(v) for v in tally.latencies.values())
    print(f"\n{total} successful requests in {seconds:.1f} s: {total / seconds:.0f} per second")
    print(f"{'request':<14}{'count':>8}{'per s':>8}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}")
    for kind in WEIGHTS:
        values = tally.latencies.get(kind, [])
        if not values:
            continue
        print(
            f"{kind:<14}{len(values):>8}{len(values) / seconds:>8.1f}{statistics.median(values) * 1000:>9.1f}"
            f"{percentile(values, 0.99) * 1000:>9.1f}{max(values) * 1000:>9.1f}"
        )
    every = [v for values in tally.latencies.values() for v in values]
    if every:
        print(
            f"{'all':<14}{len(every):>8}{len(every) / seconds:>8.1f}{statistics.median(every) * 1000:>9.1f}"
            f"{percentile(every, 0.99) * 1000:>9.1f}{max(every) * 1000:>9.1f}"
        )
    if "restart_sent" in marks:
        sent = marks["restart_sent"]
        print(
            f"\nPostgreSQL restart sent at {sent:.1f} s; the command took {marks['restart_done'] - sent:.2f} s"
        )
        if "db_up" in marks:
            print(
                f"PostgreSQL refused connections from {marks['db_down']:.2f} s to {marks['db_up']:.2f} s "
                f"({marks['db_up'] - marks['db_down']:.2f} s)"
            )
        down = [t for t, status in tally.probe if status != 200 and t >= sent]
        if down:
            print(
                f"the probe saw non-200 answers from {down[0]:.2f} s to {down[-1]:.2f} s ({down[-1] - down[0]:.2f} s)"
            )
        if "db_up" in marks:
            back = [t for t, status in tally.probe if status == 200 and t >= marks["db_up"]]
            if back:
                print(
                    f"the service answered 200 again {back[0] - marks['db_up']:.2f} s after PostgreSQL accepted connections"
                )
        statuses = sorted({status for _, status in tally.probe})
        print(
            f"probe statuses: {statuses} (0: no answer); clean 503s with Retry-After to the clients: {tally.refused}"
        )
    print(
        f"\nacknowledged writes checked in the database: {checked} "
        f"({len(tally.acknowledged['needs'])} needs, {len(tally.acknowledged['assets'])} assets); missing: {len(missing)}"
    )
    for line in missing[:10]:
        print("  MISSING", line)
    print(f"writes without an answer (not checked): {tally.unknown_writes}")
    print(
        f"errors (not 2xx and not a clean 503): {len(tally.errors)}; unhandled errors in the server log: {server_errors}"
    )
    for line in tally.errors[:10]:
        print("  ERROR", line)
    return not tally.errors and not missing and server_errors == 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument(
        "--restart-at", type=float, default=None, help="restart PostgreSQL this many seconds in"
    )
    parser.add_argument("--restart-command", default="pg_ctlcluster 15 main restart")
    args = parser.parse_args()
    if not 1 <= args.seconds <= 600:
        parser.error("--seconds must be between 1 and 600")
    server_url = os.environ.get("ASSETMAP_DATABASE_URL", DEFAULT_DATABASE_URL)
    url, _settings, admin_token, planner_token = prepare(server_url)
    port = free_port()
    log_path = Path(tempfile.mkstemp(prefix="assetmap-load-", suffix=".log")[1])
    server = start_server(url, port, log_path)
    try:
        wait_until_ready(port, server)
        site = Site(url, port, admin_token, planner_token)
        base = f"http://127.0.0.1:{port}"
        assets = httpx.get(f"{base}/api/assets", params={"city": "Berlin", "limit": 1000}, timeout=30).json()
        areas = httpx.get(
            f"{base}/api/neighbourhoods", params={"city": "Berlin", "limit": 1000}, timeout=30
        ).json()
        site.asset_ids = [f["id"] for f in assets["features"]]
        site.neighbourhood_ids = [f["id"] for f in areas["features"]]
        print(
            f"uvicorn (1 worker) on port {port}, {len(site.asset_ids)} assets and {len(site.neighbourhood_ids)} "
            f"neighbourhoods; {args.clients} clients for {args.seconds:.0f} s"
            + (f", PostgreSQL restarted at {args.restart_at:.0f} s" if args.restart_at is not None else "")
        )
        restart = (args.restart_command, args.restart_at) if args.restart_at is not None else None
        tally, marks = asyncio.run(load(site, args.clients, args.seconds, restart))
        still_up = server.poll() is None
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
    checked, missing = check_writes(url, tally)
    server_errors = log_path.read_text(errors="replace").count("unhandled error")
    ok = report(tally, marks, checked, missing, server_errors) and still_up
    print(f"server process ran throughout without a restart: {still_up}")
    if ok:
        log_path.unlink()
    else:
        print(f"the server's log: {log_path}")
    drop_scratch_database(url)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
