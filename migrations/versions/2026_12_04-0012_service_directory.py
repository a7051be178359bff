"""Service directory (docs/DIRECTORY.md): what each of an asset's services costs, who may use it, when and how.

`service_offer` is one service an asset offers, of one service type: its cost (free, a fixed price per session or
per month, or a range per session or per month, with a currency), its eligibility (an age range, the population
group it serves, whether residency or a referral is required), languages, accessibility, its schedule in
OpenStreetMap `opening_hours` syntax, and how to book. `city.time_zone` is the IANA zone its schedules are read in
("open now", "open at"); NULL reads them in UTC. Offers are versioned and their changes go to `change` with the
kind 'service_offers', like other items. An offer goes with its asset (CASCADE); a service type with offers cannot
be deleted (RESTRICT).

Revision ID: 0012
Revises: 0009
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# frozen as they were when this revision was written (geo/directory.py holds the current ones)
COST_KINDS = ("free", "fixed", "range")
COST_PERIODS = ("session", "month")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    op.add_column("city", sa.Column("time_zone", sa.String(length=64), nullable=True))
    op.create_table(
        "service_offer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("city_id", sa.Integer(), nullable=False),
        sa.Column("asset_id", sa.Integer(), nullable=False),
        sa.Column("service_type_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("cost_kind", sa.String(length=10), server_default="free", nullable=False),
        sa.Column("cost_period", sa.String(length=10), nullable=True),
        sa.Column("cost_min", sa.Numeric(10, 2), nullable=True),
        sa.Column("cost_max", sa.Numeric(10, 2), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("sessions_per_month", sa.Float(), nullable=True),
        sa.Column("cost_note", sa.Text(), nullable=True),
        sa.Column("min_age", sa.Integer(), nullable=True),
        sa.Column("max_age", sa.Integer(), nullable=True),
        sa.Column("population_group", sa.String(length=32), nullable=True),
        sa.Column("residency_required", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("referral_required", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("eligibility_note", sa.Text(), nullable=True),
        sa.Column(
            "languages",
            postgresql.ARRAY(sa.String(length=35)),
            server_default=sa.text("'{}'::varchar[]"),
            nullable=False,
        ),
        sa.Column("accessibility", sa.Text(), nullable=True),
        sa.Column("opening_hours", sa.Text(), nullable=True),
        sa.Column("booking", sa.Text(), nullable=True),
        sa.Column("booking_url", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(_in("cost_kind", COST_KINDS), name=op.f("ck_service_offer_cost_kind_known")),
        sa.CheckConstraint(
            f"cost_period IS NULL OR {_in('cost_period', COST_PERIODS)}",
            name=op.f("ck_service_offer_cost_period_known"),
        ),
        sa.CheckConstraint(
            "(cost_kind = 'free' AND cost_min IS NULL AND cost_max IS NULL AND cost_period IS NULL)"
            " OR (cost_kind = 'fixed' AND cost_min IS NOT NULL AND cost_min >= 0 AND cost_max IS NULL"
            " AND cost_period IS NOT NULL AND currency IS NOT NULL)"
            " OR (cost_kind = 'range' AND cost_min IS NOT NULL AND cost_max IS NOT NULL AND 0 <= cost_min"
            " AND cost_min <= cost_max AND cost_period IS NOT NULL AND currency IS NOT NULL)",
            name=op.f("ck_service_offer_cost_consistent"),
        ),
        sa.CheckConstraint(
            "sessions_per_month IS NULL OR (sessions_per_month > 0 AND sessions_per_month <= 100)",
            name=op.f("ck_service_offer_sessions_range"),
        ),
        sa.CheckConstraint(
            "(min_age IS NULL OR min_age BETWEEN 0 AND 130) AND (max_age IS NULL OR max_age BETWEEN 0 AND 130)"
            " AND (min_age IS NULL OR max_age IS NULL OR min_age <= max_age)",
            name=op.f("ck_service_offer_age_range"),
        ),
        sa.ForeignKeyConstraint(
            ["asset_id"], ["asset.id"], name=op.f("fk_service_offer_asset_id_asset"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["service_type_id"],
            ["service_type.id"],
            name=op.f("fk_service_offer_service_type_id_service_type"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_offer")),
    )
    op.create_index(op.f("ix_service_offer_asset_id"), "service_offer", ["asset_id"], unique=False)
    op.create_index(
        op.f("ix_service_offer_service_type_id"), "service_offer", ["service_type_id"], unique=False
    )
    op.create_index("ix_service_offer_city_id_id", "service_offer", ["city_id", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_service_offer_city_id_id", table_name="service_offer")
    op.drop_index(op.f("ix_service_offer_service_type_id"), table_name="service_offer")
    op.drop_index(op.f("ix_service_offer_asset_id"), table_name="service_offer")
    op.drop_table("service_offer")
    op.drop_column("city", "time_zone")
