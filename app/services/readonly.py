"""A database role that can only read (`assetmap db readonly-role`), for instances that serve reads only.

The role gets CONNECT on the database, USAGE on the schema, SELECT on every table and on the tables later
migrations add (default privileges of the owner), and read-only transactions by default; nothing else.
"""

from __future__ import annotations

import re

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

from app.services.provision import ProvisionError

ROLE_NAME = r"^[a-z_][a-z0-9_]{0,62}$"


def _dsn(url: str) -> str:
    """A libpq connection string from a SQLAlchemy URL."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def create_readonly_role(database_url: str, name: str, password: str, admin_url: str | None = None) -> str:
    """Create (or bring up to date) role `name` that may only read the database of `database_url`.

    `admin_url` is a connection to the same database as a role that may create roles (CREATEROLE or superuser);
    by default the app's own URL, which works when its role may. Returns the URL the read-only instance uses.
    """
    if not re.match(ROLE_NAME, name):
        raise ProvisionError(
            "a role name is lower-case letters, digits and underscores, starting with a letter (e.g. assetmap_read)"
        )
    app_url = make_url(database_url)
    owner = app_url.username
    if not owner or not app_url.database:
        raise ProvisionError("ASSETMAP_DATABASE_URL must name the user and the database")
    admin = make_url(admin_url) if admin_url else app_url
    if admin.database != app_url.database:
        raise ProvisionError("the admin URL must name the same database as ASSETMAP_DATABASE_URL")
    role, owner_role = sql.Identifier(name), sql.Identifier(owner)
    try:
        with psycopg.connect(_dsn(admin.render_as_string(hide_password=False)), autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,)).fetchone()
            verb = "ALTER" if exists else "CREATE"
            conn.execute(
                sql.SQL(verb + " ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD {}").format(
                    role, sql.Literal(password)
                )
            )
            conn.execute(sql.SQL("ALTER ROLE {} SET default_transaction_read_only = on").format(role))
            for statement in (
                "GRANT CONNECT ON DATABASE {db} TO {role}",
                "GRANT USAGE ON SCHEMA public TO {role}",
                "GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}",
                "ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA public GRANT SELECT ON TABLES TO {role}",
            ):
                conn.execute(
                    sql.SQL(statement).format(
                        db=sql.Identifier(app_url.database), role=role, owner=owner_role
                    )
                )
    except psycopg.errors.InsufficientPrivilege as exc:
        raise ProvisionError(
            f"the role cannot do this ({exc.diag.message_primary}): pass --admin-url with a role that may create "
            "roles, e.g. postgresql://postgres@127.0.0.1:5432/" + app_url.database
        ) from None
    except psycopg.OperationalError as exc:
        raise ProvisionError(f"cannot reach the database: {exc}") from None
    return app_url.set(username=name, password=password).render_as_string(hide_password=True)


def drop_readonly_role(admin_url: str, name: str) -> None:
    """Remove the role and its grants from the database of `admin_url` (tests; `DROP OWNED` then `DROP ROLE`)."""
    with psycopg.connect(_dsn(admin_url), autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,)).fetchone():
            conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(name)))
            conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(name)))
