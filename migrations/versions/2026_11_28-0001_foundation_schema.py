"""Foundation schema: cities, neighbourhoods, service types, assets, needs, resources, links, users, history.

Revision ID: 0001
Revises:
Create Date: 2026-11-28 13:44:06.498161
"""

from __future__ import annotations

from collections.abc import Sequence

import geoalchemy2
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Needs a superuser the first time; `assetmap db up` creates it. IF NOT EXISTS makes it a no-op afterwards.
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    op.create_table(
        "app_user",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=100), nullable=False),
        sa.Column("full_name", sa.String(length=200), nullable=True),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("active", sa.Boolean(), server_default="true", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "role IN ('admin', 'gis', 'planner', 'organiser', 'contributor')",
            name=op.f("ck_app_user_role_known"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_app_user")),
        sa.UniqueConstraint("username", name=op.f("uq_app_user_username")),
    )
    op.create_table(
        "city",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("country", sa.String(length=100), nullable=True),
        sa.Column("crs", sa.String(length=40), nullable=True),
        sa.Column("data_date", sa.String(length=40), nullable=True),
        sa.Column("attribution", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_city")),
        sa.UniqueConstraint("name", name=op.f("uq_city_name")),
    )
    op.create_table(
        "login_failure",
        sa.Column("username", sa.String(length=100), nullable=False),
        sa.Column("failures", sa.Integer(), server_default="0", nullable=False),
        sa.Column(
            "last_failure_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.PrimaryKeyConstraint("username", name=op.f("pk_login_failure")),
    )
    op.create_table(
        "service_type",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("default_radius_m", sa.Float(), nullable=False),
        sa.Column("population_group", sa.String(length=32), server_default="all", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "default_radius_m > 0 AND default_radius_m <= 100000", name=op.f("ck_service_type_radius_range")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_type")),
        sa.UniqueConstraint("slug", name=op.f("uq_service_type_slug")),
    )
    op.create_table(
        "analysis_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("city_id", sa.Integer(), nullable=False),
        sa.Column("service_type_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=12), server_default="pending", nullable=False),
        sa.Column(
            "params",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("data_version", sa.String(length=80), nullable=True),
        sa.Column("include_pending", sa.Boolean(), server_default="false", nullable=False),
        sa.Column(
            "results",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column(
            "timing_ms",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'running', 'succeeded', 'failed')",
            name=op.f("ck_analysis_run_status_known"),
        ),
        sa.ForeignKeyConstraint(
            ["city_id"], ["city.id"], name=op.f("fk_analysis_run_city_id_city"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["service_type_id"],
            ["service_type.id"],
            name=op.f("fk_analysis_run_service_type_id_service_type"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["app_user.id"], name=op.f("fk_analysis_run_user_id_app_user"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analysis_run")),
    )
    op.create_index(op.f("ix_analysis_run_city_id"), "analysis_run", ["city_id"], unique=False)
    op.create_index(
        op.f("ix_analysis_run_service_type_id"), "analysis_run", ["service_type_id"], unique=False
    )
    op.create_table(
        "api_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=True),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=12), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("kind IN ('session', 'api_key')", name=op.f("ck_api_token_kind_known")),
        sa.ForeignKeyConstraint(
            ["user_id"], ["app_user.id"], name=op.f("fk_api_token_user_id_app_user"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_token")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_token_token_hash")),
    )
    op.create_index(op.f("ix_api_token_user_id"), "api_token", ["user_id"], unique=False)
    op.create_table(
        "import_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("city_id", sa.Integer(), nullable=False),
        sa.Column("layer", sa.String(length=30), nullable=False),
        sa.Column("filename", sa.String(length=300), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=12), server_default="pending", nullable=False),
        sa.Column(
            "options",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("inserted", sa.Integer(), server_default="0", nullable=False),
        sa.Column("updated", sa.Integer(), server_default="0", nullable=False),
        sa.Column("skipped", sa.Integer(), server_default="0", nullable=False),
        sa.Column(
            "report",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'running', 'dry_run', 'succeeded', 'failed')",
            name=op.f("ck_import_run_status_known"),
        ),
        sa.ForeignKeyConstraint(
            ["city_id"], ["city.id"], name=op.f("fk_import_run_city_id_city"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["app_user.id"], name=op.f("fk_import_run_user_id_app_user"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_run")),
    )
    op.create_index(op.f("ix_import_run_city_id"), "import_run", ["city_id"], unique=False)
    op.create_table(
        "analysis_cell",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.String(length=32), nullable=False),
        sa.Column("neighbourhood_id", sa.Integer(), nullable=True),
        sa.Column("population", sa.Float(), nullable=False),
        sa.Column("need", sa.Float(), nullable=False),
        sa.Column("distance_m", sa.Float(), nullable=True),
        sa.Column("covered", sa.Boolean(), nullable=False),
        sa.Column("access", sa.Float(), nullable=False),
        sa.Column("access_score", sa.Float(), nullable=True),
        sa.Column("shortfall", sa.Float(), nullable=False),
        sa.Column(
            "geom",
            geoalchemy2.types.Geometry(
                geometry_type="POINT",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["analysis_run.id"],
            name=op.f("fk_analysis_cell_run_id_analysis_run"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("run_id", "unit_id", name=op.f("pk_analysis_cell")),
    )
    op.create_table(
        "change",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("city_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=10), nullable=False),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.Column("before", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("after", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("import_id", sa.Integer(), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "action IN ('create', 'update', 'delete', 'revert', 'restore', 'approve', 'reject', 'import')",
            name=op.f("ck_change_action_known"),
        ),
        sa.ForeignKeyConstraint(
            ["import_id"], ["import_run.id"], name=op.f("fk_change_import_id_import_run"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["app_user.id"], name=op.f("fk_change_user_id_app_user"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_change")),
    )
    op.create_index(op.f("ix_change_city_id"), "change", ["city_id"], unique=False)
    op.create_index("ix_change_kind_item", "change", ["kind", "item_id", "id"], unique=False)
    op.create_table(
        "neighbourhood",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("city_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("level", sa.String(length=20), server_default="neighbourhood", nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("population", sa.Integer(), nullable=True),
        sa.Column(
            "population_by_group",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "geom",
            geoalchemy2.types.Geometry(
                spatial_index=False,
                geometry_type="MULTIPOLYGON",
                srid=4326,
                dimension=2,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.Column("import_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "level IN ('district', 'neighbourhood', 'area')", name=op.f("ck_neighbourhood_level_known")
        ),
        sa.CheckConstraint(
            "population IS NULL OR population >= 0", name=op.f("ck_neighbourhood_population_nonnegative")
        ),
        sa.ForeignKeyConstraint(
            ["city_id"], ["city.id"], name=op.f("fk_neighbourhood_city_id_city"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["import_id"],
            ["import_run.id"],
            name=op.f("fk_neighbourhood_import_id_import_run"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["neighbourhood.id"],
            name=op.f("fk_neighbourhood_parent_id_neighbourhood"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_neighbourhood")),
        sa.UniqueConstraint("city_id", "code", name="uq_neighbourhood_city_code"),
    )
    op.create_index(
        "idx_neighbourhood_geom", "neighbourhood", ["geom"], unique=False, postgresql_using="gist"
    )
    op.create_index(op.f("ix_neighbourhood_city_id"), "neighbourhood", ["city_id"], unique=False)
    op.create_index(op.f("ix_neighbourhood_parent_id"), "neighbourhood", ["parent_id"], unique=False)
    op.create_table(
        "asset",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("city_id", sa.Integer(), nullable=False),
        sa.Column("neighbourhood_id", sa.Integer(), nullable=True),
        sa.Column("category", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column(
            "geom",
            geoalchemy2.types.Geometry(
                spatial_index=False,
                geometry_type="POINT",
                srid=4326,
                dimension=2,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.Column(
            "blurred_location",
            geoalchemy2.types.Geometry(
                geometry_type="POINT",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.Column("capacity", sa.Float(), nullable=True),
        sa.Column("capacity_unit", sa.String(length=50), nullable=True),
        sa.Column("ownership", sa.String(length=20), nullable=True),
        sa.Column("contact", sa.Text(), nullable=True),
        sa.Column("opening_hours", sa.Text(), nullable=True),
        sa.Column("source", sa.String(length=100), nullable=True),
        sa.Column("source_id", sa.String(length=200), nullable=True),
        sa.Column("verified", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("sensitive", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("status", sa.String(length=16), server_default="approved", nullable=False),
        sa.Column("review_note", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("import_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "category IN ('individual', 'association', 'institution', 'physical_space', 'economy', 'culture')",
            name=op.f("ck_asset_category_known"),
        ),
        sa.CheckConstraint(
            "ownership IS NULL OR ownership IN ('public', 'community', 'charity', 'private')",
            name=op.f("ck_asset_ownership_known"),
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'approved', 'rejected')", name=op.f("ck_asset_status_known")
        ),
        sa.CheckConstraint("capacity IS NULL OR capacity >= 0", name=op.f("ck_asset_capacity_nonnegative")),
        sa.ForeignKeyConstraint(
            ["city_id"], ["city.id"], name=op.f("fk_asset_city_id_city"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["app_user.id"], name=op.f("fk_asset_created_by_app_user"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["import_id"], ["import_run.id"], name=op.f("fk_asset_import_id_import_run"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["neighbourhood_id"],
            ["neighbourhood.id"],
            name=op.f("fk_asset_neighbourhood_id_neighbourhood"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_asset")),
    )
    op.create_index("idx_asset_geom", "asset", ["geom"], unique=False, postgresql_using="gist")
    op.create_index(
        "ix_asset_blurred_location", "asset", ["blurred_location"], unique=False, postgresql_using="gist"
    )
    op.create_index("ix_asset_city_id_id", "asset", ["city_id", "id"], unique=False)
    op.create_index(op.f("ix_asset_neighbourhood_id"), "asset", ["neighbourhood_id"], unique=False)
    op.create_index(op.f("ix_asset_status"), "asset", ["status"], unique=False)
    op.create_index("uq_asset_city_source", "asset", ["city_id", "source", "source_id"], unique=True)
    op.create_table(
        "need",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("city_id", sa.Integer(), nullable=False),
        sa.Column("neighbourhood_id", sa.Integer(), nullable=True),
        sa.Column("service_type_id", sa.Integer(), nullable=False),
        sa.Column(
            "geom",
            geoalchemy2.types.Geometry(
                spatial_index=False,
                srid=4326,
                dimension=2,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.Column("people_affected", sa.Integer(), nullable=True),
        sa.Column("severity", sa.Integer(), server_default="3", nullable=False),
        sa.Column("source", sa.String(length=40), nullable=True),
        sa.Column("source_ref", sa.String(length=200), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("observed_on", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=16), server_default="approved", nullable=False),
        sa.Column("review_note", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("import_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "GeometryType(geom) IN ('POINT', 'POLYGON', 'MULTIPOLYGON')",
            name=op.f("ck_need_geom_point_or_area"),
        ),
        sa.CheckConstraint(
            "source IS NULL OR source IN ('survey', 'ethnographic_observation', 'statistic', 'organiser_report')",
            name=op.f("ck_need_source_known"),
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'approved', 'rejected')", name=op.f("ck_need_status_known")
        ),
        sa.CheckConstraint(
            "people_affected IS NULL OR people_affected >= 0", name=op.f("ck_need_people_nonnegative")
        ),
        sa.CheckConstraint("severity BETWEEN 1 AND 5", name=op.f("ck_need_severity_range")),
        sa.ForeignKeyConstraint(
            ["city_id"], ["city.id"], name=op.f("fk_need_city_id_city"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["app_user.id"], name=op.f("fk_need_created_by_app_user"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["import_id"], ["import_run.id"], name=op.f("fk_need_import_id_import_run"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["neighbourhood_id"],
            ["neighbourhood.id"],
            name=op.f("fk_need_neighbourhood_id_neighbourhood"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["service_type_id"],
            ["service_type.id"],
            name=op.f("fk_need_service_type_id_service_type"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_need")),
    )
    op.create_index("idx_need_geom", "need", ["geom"], unique=False, postgresql_using="gist")
    op.create_index("ix_need_city_id_id", "need", ["city_id", "id"], unique=False)
    op.create_index(op.f("ix_need_neighbourhood_id"), "need", ["neighbourhood_id"], unique=False)
    op.create_index(op.f("ix_need_service_type_id"), "need", ["service_type_id"], unique=False)
    op.create_index(op.f("ix_need_status"), "need", ["status"], unique=False)
    op.create_index("uq_need_city_source", "need", ["city_id", "source_ref"], unique=True)
    op.create_table(
        "user_neighbourhood",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("neighbourhood_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["neighbourhood_id"],
            ["neighbourhood.id"],
            name=op.f("fk_user_neighbourhood_neighbourhood_id_neighbourhood"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["app_user.id"],
            name=op.f("fk_user_neighbourhood_user_id_app_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "neighbourhood_id", name=op.f("pk_user_neighbourhood")),
    )
    op.create_index(
        op.f("ix_user_neighbourhood_neighbourhood_id"),
        "user_neighbourhood",
        ["neighbourhood_id"],
        unique=False,
    )
    op.create_table(
        "asset_service_type",
        sa.Column("asset_id", sa.Integer(), nullable=False),
        sa.Column("service_type_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["asset_id"], ["asset.id"], name=op.f("fk_asset_service_type_asset_id_asset"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["service_type_id"],
            ["service_type.id"],
            name=op.f("fk_asset_service_type_service_type_id_service_type"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("asset_id", "service_type_id", name=op.f("pk_asset_service_type")),
    )
    op.create_index(
        op.f("ix_asset_service_type_service_type_id"), "asset_service_type", ["service_type_id"], unique=False
    )
    op.create_table(
        "link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("city_id", sa.Integer(), nullable=False),
        sa.Column("source_asset_id", sa.Integer(), nullable=False),
        sa.Column("target_asset_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("weight", sa.Float(), nullable=True),
        sa.Column("directed", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=16), server_default="approved", nullable=False),
        sa.Column("review_note", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("import_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "kind IN ('partnership', 'referral', 'shared_space', 'funding', 'volunteers')",
            name=op.f("ck_link_kind_known"),
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'approved', 'rejected')", name=op.f("ck_link_status_known")
        ),
        sa.CheckConstraint("source_asset_id <> target_asset_id", name=op.f("ck_link_not_self")),
        sa.CheckConstraint("weight IS NULL OR weight >= 0", name=op.f("ck_link_weight_nonnegative")),
        sa.ForeignKeyConstraint(
            ["city_id"], ["city.id"], name=op.f("fk_link_city_id_city"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["app_user.id"], name=op.f("fk_link_created_by_app_user"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["import_id"], ["import_run.id"], name=op.f("fk_link_import_id_import_run"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["source_asset_id"], ["asset.id"], name=op.f("fk_link_source_asset_id_asset"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["target_asset_id"], ["asset.id"], name=op.f("fk_link_target_asset_id_asset"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_link")),
    )
    op.create_index("ix_link_city_id_id", "link", ["city_id", "id"], unique=False)
    op.create_index(op.f("ix_link_source_asset_id"), "link", ["source_asset_id"], unique=False)
    op.create_index(op.f("ix_link_status"), "link", ["status"], unique=False)
    op.create_index(op.f("ix_link_target_asset_id"), "link", ["target_asset_id"], unique=False)
    op.create_index(
        "uq_link_pair_kind",
        "link",
        [
            sa.literal_column("kind"),
            sa.literal_column("LEAST(source_asset_id, target_asset_id)"),
            sa.literal_column("GREATEST(source_asset_id, target_asset_id)"),
        ],
        unique=True,
    )
    op.create_table(
        "resource",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("city_id", sa.Integer(), nullable=False),
        sa.Column("asset_id", sa.Integer(), nullable=True),
        sa.Column("neighbourhood_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("quantity", sa.Float(), nullable=True),
        sa.Column("unit", sa.String(length=50), nullable=True),
        sa.Column("available_from", sa.Date(), nullable=True),
        sa.Column("available_until", sa.Date(), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("source_ref", sa.String(length=200), nullable=True),
        sa.Column("status", sa.String(length=16), server_default="approved", nullable=False),
        sa.Column("review_note", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("import_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "kind IN ('funding', 'volunteers', 'space', 'equipment', 'skills')",
            name=op.f("ck_resource_kind_known"),
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'approved', 'rejected')", name=op.f("ck_resource_status_known")
        ),
        sa.CheckConstraint(
            "asset_id IS NOT NULL OR neighbourhood_id IS NOT NULL", name=op.f("ck_resource_has_owner")
        ),
        sa.CheckConstraint(
            "available_until IS NULL OR available_from IS NULL OR available_until >= available_from",
            name=op.f("ck_resource_availability_order"),
        ),
        sa.CheckConstraint(
            "quantity IS NULL OR quantity >= 0", name=op.f("ck_resource_quantity_nonnegative")
        ),
        sa.ForeignKeyConstraint(
            ["asset_id"], ["asset.id"], name=op.f("fk_resource_asset_id_asset"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["city_id"], ["city.id"], name=op.f("fk_resource_city_id_city"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["app_user.id"], name=op.f("fk_resource_created_by_app_user"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["import_id"],
            ["import_run.id"],
            name=op.f("fk_resource_import_id_import_run"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["neighbourhood_id"],
            ["neighbourhood.id"],
            name=op.f("fk_resource_neighbourhood_id_neighbourhood"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_resource")),
    )
    op.create_index(op.f("ix_resource_asset_id"), "resource", ["asset_id"], unique=False)
    op.create_index("ix_resource_city_id_id", "resource", ["city_id", "id"], unique=False)
    op.create_index(op.f("ix_resource_neighbourhood_id"), "resource", ["neighbourhood_id"], unique=False)
    op.create_index(op.f("ix_resource_status"), "resource", ["status"], unique=False)
    op.create_index("uq_resource_city_source", "resource", ["city_id", "source_ref"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_resource_city_source", table_name="resource")
    op.drop_index(op.f("ix_resource_status"), table_name="resource")
    op.drop_index(op.f("ix_resource_neighbourhood_id"), table_name="resource")
    op.drop_index("ix_resource_city_id_id", table_name="resource")
    op.drop_index(op.f("ix_resource_asset_id"), table_name="resource")
    op.drop_table("resource")
    op.drop_index("uq_link_pair_kind", table_name="link")
    op.drop_index(op.f("ix_link_target_asset_id"), table_name="link")
    op.drop_index(op.f("ix_link_status"), table_name="link")
    op.drop_index(op.f("ix_link_source_asset_id"), table_name="link")
    op.drop_index("ix_link_city_id_id", table_name="link")
    op.drop_table("link")
    op.drop_index(op.f("ix_asset_service_type_service_type_id"), table_name="asset_service_type")
    op.drop_table("asset_service_type")
    op.drop_index(op.f("ix_user_neighbourhood_neighbourhood_id"), table_name="user_neighbourhood")
    op.drop_table("user_neighbourhood")
    op.drop_index("uq_need_city_source", table_name="need")
    op.drop_index(op.f("ix_need_status"), table_name="need")
    op.drop_index(op.f("ix_need_service_type_id"), table_name="need")
    op.drop_index(op.f("ix_need_neighbourhood_id"), table_name="need")
    op.drop_index("ix_need_city_id_id", table_name="need")
    op.drop_index("idx_need_geom", table_name="need", postgresql_using="gist")
    op.drop_table("need")
    op.drop_index("uq_asset_city_source", table_name="asset")
    op.drop_index(op.f("ix_asset_status"), table_name="asset")
    op.drop_index(op.f("ix_asset_neighbourhood_id"), table_name="asset")
    op.drop_index("ix_asset_city_id_id", table_name="asset")
    op.drop_index("ix_asset_blurred_location", table_name="asset", postgresql_using="gist")
    op.drop_index("idx_asset_geom", table_name="asset", postgresql_using="gist")
    op.drop_table("asset")
    op.drop_index(op.f("ix_neighbourhood_parent_id"), table_name="neighbourhood")
    op.drop_index(op.f("ix_neighbourhood_city_id"), table_name="neighbourhood")
    op.drop_index("idx_neighbourhood_geom", table_name="neighbourhood", postgresql_using="gist")
    op.drop_table("neighbourhood")
    op.drop_index("ix_change_kind_item", table_name="change")
    op.drop_index(op.f("ix_change_city_id"), table_name="change")
    op.drop_table("change")
    op.drop_table("analysis_cell")
    op.drop_index(op.f("ix_import_run_city_id"), table_name="import_run")
    op.drop_table("import_run")
    op.drop_index(op.f("ix_api_token_user_id"), table_name="api_token")
    op.drop_table("api_token")
    op.drop_index(op.f("ix_analysis_run_service_type_id"), table_name="analysis_run")
    op.drop_index(op.f("ix_analysis_run_city_id"), table_name="analysis_run")
    op.drop_table("analysis_run")
    op.drop_table("service_type")
    op.drop_table("login_failure")
    op.drop_table("city")
    op.drop_table("app_user")
