"""Commitments of resources to needs (docs/MATCHING.md): quantity, dates, stage and the outcome recorded.

A resource's remaining quantity is not stored: it is its quantity less what its commitments that are not
cancelled hold, computed under a row lock on the resource when a commitment is made (app/services/matching).

Revision ID: 0011
Revises: 0009
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The stages as they were when this migration was written (geo/vocab.py COMMITMENT_STAGES).
STAGES = ("proposed", "agreed", "active", "done", "cancelled")


def upgrade() -> None:
    """Create the commitment table."""
    op.create_table(
        "commitment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("city_id", sa.Integer(), nullable=False),
        sa.Column("resource_id", sa.Integer(), nullable=False),
        sa.Column("need_id", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Float(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=True),
        sa.Column("stage", sa.String(12), server_default="proposed", nullable=False),
        sa.Column("hours_given", sa.Float(), nullable=True),
        sa.Column("people_helped", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint(
            "stage IN (" + ", ".join(repr(s) for s in STAGES) + ")", name=op.f("ck_commitment_stage_known")
        ),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_commitment_quantity_positive")),
        sa.CheckConstraint("ends_on IS NULL OR ends_on >= starts_on", name=op.f("ck_commitment_date_order")),
        sa.CheckConstraint(
            "hours_given IS NULL OR hours_given >= 0", name=op.f("ck_commitment_hours_nonnegative")
        ),
        sa.CheckConstraint(
            "people_helped IS NULL OR people_helped >= 0", name=op.f("ck_commitment_people_nonnegative")
        ),
        sa.ForeignKeyConstraint(
            ["city_id"], ["city.id"], name=op.f("fk_commitment_city_id_city"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["resource_id"],
            ["resource.id"],
            name=op.f("fk_commitment_resource_id_resource"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["need_id"], ["need.id"], name=op.f("fk_commitment_need_id_need"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_commitment")),
    )
    op.create_index("ix_commitment_city_id_id", "commitment", ["city_id", "id"])
    op.create_index(op.f("ix_commitment_resource_id"), "commitment", ["resource_id"])
    op.create_index(op.f("ix_commitment_need_id"), "commitment", ["need_id"])


def downgrade() -> None:
    """Drop the commitment table (its history rows in `change` stay, as for deleted items)."""
    op.drop_table("commitment")
