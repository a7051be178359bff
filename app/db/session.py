"""Engine and session construction; called from the app lifespan and the CLI, never at import time."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, create_engine
from sqlalchemy.orm import Session, sessionmaker

from app.settings import Settings


def create_db_engine(settings: Settings) -> Engine:
    """Create the engine with a statement timeout, so a slow query is cut instead of holding a worker."""
    return create_engine(
        settings.database_url,
        pool_size=settings.pool_size,
        max_overflow=settings.pool_size,
        pool_pre_ping=True,
        connect_args={"options": f"-c statement_timeout={settings.statement_timeout_ms}"},
    )


def create_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded objects usable after commit (services return them to routers)."""
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=False)


@contextmanager
def session_scope(settings: Settings) -> Iterator[Session]:
    """A session for one CLI command; the engine is disposed when the command ends."""
    engine = create_db_engine(settings)
    try:
        with create_session_factory(engine)() as session:
            yield session
    finally:
        engine.dispose()
