"""Default capacities: what a run gives assets whose capacity is unknown (docs/ANALYSIS.md "Unknown capacity").

`service_type.default_capacity` holds the service type's default (NULL: none); `city_service_capacity` holds a
city's own default for a service type, which overrides it. Both are positive numbers. A demand unit's access and
shortfall may be NULL: not computable where capacity is unknown and no default is set.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOT_COMPUTABLE = ("access", "shortfall")


def upgrade() -> None:
    """Add the service type's default capacity and the per-city table; let cells hold "not computable"."""
    op.add_column("service_type", sa.Column("default_capacity", sa.Float(), nullable=True))
    op.create_check_constraint("default_capacity_positive", "service_type", "default_capacity > 0")
    op.create_table(
        "city_service_capacity",
        sa.Column("city_id", sa.Integer(), nullable=False),
        sa.Column("service_type_id", sa.Integer(), nullable=False),
        sa.Column("default_capacity", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint("default_capacity > 0", name="default_capacity_positive"),
        sa.ForeignKeyConstraint(["city_id"], ["city.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["service_type_id"], ["service_type.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("city_id", "service_type_id"),
    )
    op.create_index("ix_city_service_capacity_service_type_id", "city_service_capacity", ["service_type_id"])
    for column in NOT_COMPUTABLE:
        op.alter_column("analysis_cell", column, existing_type=sa.Float(), nullable=True)


def downgrade() -> None:
    """Drop them again (cells that are not computable go: they cannot be stored without a number)."""
    op.execute(f"DELETE FROM analysis_cell WHERE {' OR '.join(f'{c} IS NULL' for c in NOT_COMPUTABLE)}")
    for column in NOT_COMPUTABLE:
        op.alter_column("analysis_cell", column, existing_type=sa.Float(), nullable=False)
    op.drop_index("ix_city_service_capacity_service_type_id", table_name="city_service_capacity")
    op.drop_table("city_service_capacity")
    op.drop_constraint("default_capacity_positive", "service_type", type_="check")
    op.drop_column("service_type", "default_capacity")
