"""The schema changes only through Alembic: upgrade head and downgrade base both work on an empty database."""

from __future__ import annotations

from sqlalchemy import create_engine, inspect, text

from app.db.models import Base
from app.services.migrations import downgrade, head_revision, upgrade
from tests.conftest import create_database, drop_database


def test_upgrade_head_then_downgrade_base_round_trip() -> None:
    url = create_database("assetmap_migrate")
    engine = create_engine(url)
    try:
        upgrade(url)
        with engine.connect() as conn:
            tables = set(inspect(conn).get_table_names())
            assert set(Base.metadata.tables) <= tables
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == head_revision()
            # the seeded taxonomy is there
            slugs = set(conn.execute(text("SELECT slug FROM service_type")).scalars())
            assert {"childcare", "food-support", "older-people", "learning", "community-space"} <= slugs
            # geometry columns carry an explicit type and SRID, and have GiST indexes
            geoms = dict(
                conn.execute(
                    text(
                        "SELECT f_table_name || '.' || f_geometry_column, type || ':' || srid FROM geometry_columns"
                    )
                ).all()
            )
            assert geoms["neighbourhood.geom"] == "MULTIPOLYGON:4326"
            assert geoms["asset.geom"] == "POINT:4326"
            spatial = dict(
                conn.execute(
                    text(
                        "SELECT indexname, substring(indexdef from 'USING (\\w+)') FROM pg_indexes "
                        "WHERE indexname LIKE 'idx_%_geom'"
                    )
                ).all()
            )
            # Asset points take SP-GiST (faster to fill on import); areas keep GiST (migration 0004).
            assert spatial == {
                "idx_neighbourhood_geom": "gist",
                "idx_asset_geom": "spgist",
                "idx_need_geom": "gist",
            }
        downgrade(url, "base")
        with engine.connect() as conn:
            left = set(inspect(conn).get_table_names()) & set(Base.metadata.tables)
            assert left == set()
        upgrade(url)  # and up again, from base
        with engine.connect() as conn:
            assert set(Base.metadata.tables) <= set(inspect(conn).get_table_names())
    finally:
        engine.dispose()
        drop_database(url)


def test_models_and_migrations_agree() -> None:
    """Autogenerate finds nothing to do at head: the ORM models are what the migrations build."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    url = create_database("assetmap_autogen")
    engine = create_engine(url)
    try:
        upgrade(url)
        with engine.connect() as conn:
            ctx = MigrationContext.configure(
                conn,
                opts={"include_object": lambda o, n, t, r, c: not (t == "table" and r and c is None)},
            )
            diff = [
                d for d in compare_metadata(ctx, Base.metadata) if d[0] not in {"remove_index", "add_index"}
            ]
        assert diff == []
    finally:
        engine.dispose()
        drop_database(url)
