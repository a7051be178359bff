"""Make sure a local PostgreSQL with PostGIS, a role and a database exist (`assetmap db up`)."""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", None, ""}


class ProvisionError(RuntimeError):
    """Something `db up` cannot do on this machine; the message says what to do instead."""


@dataclass(frozen=True)
class Target:
    """Where the database should be, from ASSETMAP_DATABASE_URL."""

    host: str
    port: int
    user: str
    password: str | None
    database: str

    @property
    def template(self) -> str:
        """A PostGIS-enabled template the role owns, so tests can create databases without superuser rights."""
        return f"{self.database}_template"


def target_from_url(url: str) -> Target:
    """Parse a SQLAlchemy URL into what provisioning needs."""
    u = make_url(url)
    if not u.database or not u.username:
        raise ProvisionError(
            "ASSETMAP_DATABASE_URL must name a user and a database, e.g. postgresql+psycopg://assetmap:assetmap@127.0.0.1:5432/assetmap"
        )
    return Target(u.host or "127.0.0.1", u.port or 5432, u.username, u.password, u.database)


def _connect(t: Target, dbname: str) -> psycopg.Connection:
    return psycopg.connect(
        host=t.host,
        port=t.port,
        user=t.user,
        password=t.password,
        dbname=dbname,
        connect_timeout=5,
        autocommit=True,
    )


def _run(cmd: list[str], say: Callable[[str], None]) -> None:
    say("$ " + " ".join(cmd))
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise ProvisionError(f"`{' '.join(cmd)}` failed:\n{result.stderr.strip()[-2000:]}")


def _as_postgres(statement: str, say: Callable[[str], None], dbname: str = "postgres") -> str:
    """Run SQL as the postgres superuser over the local socket (needs root)."""
    cmd = [
        "runuser",
        "-u",
        "postgres",
        "--",
        "psql",
        "-v",
        "ON_ERROR_STOP=1",
        "-qAt",
        "-d",
        dbname,
        "-c",
        statement,
    ]
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise ProvisionError(f"as postgres: {statement}\n{result.stderr.strip()[-2000:]}")
    return result.stdout.strip()


def _clusters() -> list[tuple[str, str, str]]:
    """(version, name, status) of the local Debian PostgreSQL clusters."""
    if shutil.which("pg_lsclusters") is None:
        return []
    out = subprocess.run(["pg_lsclusters", "-h"], capture_output=True, text=True, check=False).stdout
    return [(p[0], p[1], p[3]) for p in (line.split() for line in out.splitlines()) if len(p) >= 4]


def _is_root() -> bool:
    return os.geteuid() == 0


def _apt_install(packages: list[str], say: Callable[[str], None]) -> None:
    if not _is_root() or shutil.which("apt-get") is None:
        raise ProvisionError(
            f"PostgreSQL/PostGIS is missing and this is not a root shell on Debian/Ubuntu: install {' '.join(packages)} "
            "yourself (or run `sudo assetmap db up`), or point ASSETMAP_DATABASE_URL at a PostGIS server"
        )
    _run(["apt-get", "update", "-qq"], say)
    _run(["apt-get", "install", "-y", "-qq", *packages], say)


def _postgis_available(t: Target) -> bool:
    with _connect(t, "postgres") as conn:
        row = conn.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'postgis'").fetchone()
    return row is not None


def ensure_server(t: Target, say: Callable[[str], None]) -> None:
    """Install and start PostgreSQL if it is absent or stopped, then the PostGIS package matching its version."""
    clusters = _clusters()
    if not clusters:
        say("no local PostgreSQL found: installing it from the Debian packages")
        _apt_install(["postgresql", "postgresql-contrib"], say)
        clusters = _clusters()
        if not clusters:
            raise ProvisionError(
                "PostgreSQL was installed but no cluster exists: run `pg_createcluster <version> main`"
            )
    for version, name, status in clusters:
        if status != "online":
            say(f"starting PostgreSQL {version}/{name}")
            _run(["pg_ctlcluster", "--skip-systemctl-redirect", version, name, "start"], say)
    version = clusters[0][0]
    if not _postgis_on_disk(version):
        say(f"installing PostGIS for PostgreSQL {version}")
        _apt_install([f"postgresql-{version}-postgis-3"], say)


def _postgis_on_disk(version: str) -> bool:
    return os.path.exists(f"/usr/share/postgresql/{version}/extension/postgis.control")


def ensure_database(t: Target, say: Callable[[str], None]) -> None:
    """Create the role, the database with PostGIS, and a PostGIS template the role owns."""
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,62}", t.user) or not re.fullmatch(
        r"[A-Za-z_][A-Za-z0-9_]{0,50}", t.database
    ):
        raise ProvisionError(
            "use plain names (letters, digits, underscore) for the database user and database"
        )
    role = sql.Identifier(t.user).as_string(None)
    password = sql.Literal(t.password or "").as_string(None)
    exists = _as_postgres(
        f"SELECT 1 FROM pg_roles WHERE rolname = {sql.Literal(t.user).as_string(None)}", say
    )
    if exists != "1":
        say(f"creating role {t.user}")
        _as_postgres(f"CREATE ROLE {role} LOGIN CREATEDB PASSWORD {password}", say)
    for dbname in (t.database, t.template):
        found = _as_postgres(
            f"SELECT 1 FROM pg_database WHERE datname = {sql.Literal(dbname).as_string(None)}", say
        )
        if found != "1":
            say(f"creating database {dbname}")
            _as_postgres(f"CREATE DATABASE {sql.Identifier(dbname).as_string(None)} OWNER {role}", say)
        _as_postgres("CREATE EXTENSION IF NOT EXISTS postgis", say, dbname=dbname)


def database_ready(t: Target) -> tuple[bool, str]:
    """Can we log in as the target role, and does the database have PostGIS?"""
    try:
        with _connect(t, t.database) as conn:
            row = conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'postgis'").fetchone()
    except psycopg.OperationalError as exc:
        return False, str(exc).strip().splitlines()[0] if str(exc).strip() else "cannot connect"
    if row is None:
        return False, "the database exists but PostGIS is not enabled in it"
    return True, f"PostGIS {row[0]}"


def db_up(url: str, say: Callable[[str], None]) -> str:
    """Make the database at `url` usable, installing and starting what is missing where the machine allows."""
    t = target_from_url(url)
    ok, detail = database_ready(t)
    if ok and _template_ready(t):
        return f"{t.database} on {t.host}:{t.port} is ready ({detail})"
    if t.host not in LOCAL_HOSTS:
        raise ProvisionError(
            f"cannot reach {t.host}:{t.port}/{t.database} ({detail}); it is not local, so create it there"
        )
    if not _is_root():
        raise ProvisionError(
            f"{t.database} is not ready ({detail}) and creating it needs root on this machine: run `sudo assetmap db up`"
        )
    ensure_server(t, say)
    ensure_database(t, say)
    ok, detail = database_ready(t)
    if not ok:
        raise ProvisionError(
            f"created {t.database}, but cannot log in as {t.user} ({detail}): check pg_hba.conf allows password logins "
            "from 127.0.0.1"
        )
    return f"{t.database} on {t.host}:{t.port} is ready ({detail})"


def _template_ready(t: Target) -> bool:
    try:
        with _connect(t, t.template) as conn:
            return conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'postgis'").fetchone() is not None
    except psycopg.OperationalError:
        return False


def _maintenance_connection(url: str) -> psycopg.Connection:
    u = make_url(url)
    return psycopg.connect(
        host=u.host,
        port=u.port or 5432,
        user=u.username,
        password=u.password,
        dbname="postgres",
        autocommit=True,
    )


def _copy_template(conn: psycopg.Connection, name: str, template: str, busy_wait_s: float) -> None:
    """CREATE DATABASE name TEMPLATE template, trying again while another session is connected to the template.

    Copies made at the same time (parallel test workers) do not block each other; a session connected to the
    template does (`db up` checking it, a psql left open): PostgreSQL waits 5 s for it, then refuses.
    """
    deadline = time.monotonic() + busy_wait_s
    statement = sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
        sql.Identifier(name), sql.Identifier(template)
    )
    while True:
        try:
            conn.execute(statement)
            return
        except psycopg.errors.ObjectInUse as exc:
            if time.monotonic() >= deadline:
                raise ProvisionError(
                    f"cannot copy the template database {template}: another session stays connected to it "
                    f"({str(exc).strip().splitlines()[0]}); close that session (see pg_stat_activity) and try again"
                ) from exc
            time.sleep(0.5)


def create_scratch_database(server_url: str, prefix: str, busy_wait_s: float = 60.0) -> str:
    """An empty PostGIS database named `<prefix>_<random>` on the server of `server_url`; returns its URL.

    It is copied from the `<database>_template` that `db up` makes when there is one, so a role without superuser
    rights gets PostGIS; otherwise the extension is created directly (which needs a superuser). Any number of
    processes may call this at once (each name is random); while another session holds the template open, the copy
    is tried again for up to `busy_wait_s` seconds.
    """
    base = make_url(server_url)
    name = f"{prefix}_{secrets.token_hex(4)}"
    template = f"{base.database}_template"
    with _maintenance_connection(server_url) as conn:
        has_template = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (template,)).fetchone()
        if has_template:
            _copy_template(conn, name, template, busy_wait_s)
        else:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = base.set(database=name).render_as_string(hide_password=False)
    if not has_template:
        t = target_from_url(url)
        with _connect(t, name) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    return url


def drop_scratch_database(url: str) -> None:
    """Drop a scratch database, ending any connection still open to it."""
    name = target_from_url(url).database
    with _maintenance_connection(url) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
