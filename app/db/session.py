"""Engine and session construction; called from the app lifespan and the CLI, never at import time."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from app.settings import Settings


def create_db_engine(settings: Settings) -> Engine:
    """Create the engine with a statement timeout, so a slow query is cut instead of holding a worker."""
    return create_engine(
        settings.database_url,
        pool_size=settings.pool_size,
        max_overflow=settings.pool_size,
        pool_timeout=settings.pool_timeout_s,  # a full pool is a 503 after this long, not a hung request
        pool_pre_ping=True,
        connect_args={"options": f"-c statement_timeout={settings.statement_timeout_ms}"},
    )


def reads_only(engine: Engine) -> bool:
    """Whether the engine's role reads only: its transactions default to read-only (`assetmap db readonly-role`)."""
    with engine.connect() as conn:
        return bool(conn.execute(text("SELECT current_setting('transaction_read_only') = 'on'")).scalar())


def create_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded objects usable after commit (services return them to routers)."""
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=False)


@contextmanager
def single_commit(session: Session) -> Iterator[None]:
    """Run a service's write and the read of its answer in one transaction that commits at the end.

    Inside, the service's own commit() only flushes; the one real commit comes when the block ends, before the
    response is built. An error anywhere (also at commit) rolls everything back and propagates, so a client that
    gets a success knows the write is committed, and one that gets an error knows it is not.
    """
    real_commit = session.commit
    session.commit = session.flush  # type: ignore[method-assign]
    try:
        yield
    except BaseException:
        session.commit = real_commit  # type: ignore[method-assign]
        with suppress(SQLAlchemyError):  # a lost connection rolls back by itself; the first error is the news
            session.rollback()
        raise
    session.commit = real_commit  # type: ignore[method-assign]
    session.commit()


@contextmanager
def session_scope(settings: Settings) -> Iterator[Session]:
    """A session for one CLI command; the engine is disposed when the command ends."""
    engine = create_db_engine(settings)
    try:
        with create_session_factory(engine)() as session:
            yield session
    finally:
        engine.dispose()
