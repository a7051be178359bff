"""Citizen budgets (docs/BUDGETS.md): rounds with phase dates, proposals with their place and need score,
one-time voting codes (only their hash) and approval ballots, one per resident account or code.

Revision ID: 0013
Revises: 0009
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the round, proposal, voting-code and ballot tables."""
    op.create_table(
        "budget_round",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("city_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column(
            "neighbourhood_ids",
            postgresql.ARRAY(sa.Integer()),
            server_default=sa.text("'{}'"),
            nullable=False,
        ),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(3), server_default="EUR", nullable=False),
        sa.Column("limit_to_budget", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("proposals_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("review_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("voting_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("results_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint("amount > 0", name=op.f("ck_budget_round_amount_positive")),
        sa.CheckConstraint(
            "proposals_at < review_at AND review_at < voting_at AND voting_at < results_at",
            name=op.f("ck_budget_round_phases_ordered"),
        ),
        sa.ForeignKeyConstraint(
            ["city_id"], ["city.id"], name=op.f("fk_budget_round_city_id_city"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_budget_round")),
    )
    op.create_index("ix_budget_round_city_id", "budget_round", ["city_id"])
    op.create_table(
        "budget_proposal",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("cost", sa.BigInteger(), nullable=False),
        sa.Column("service_type_id", sa.Integer(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("neighbourhood_id", sa.Integer(), nullable=True),
        sa.Column("submitted_by", sa.Integer(), nullable=True),
        sa.Column("for_resident", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("feasible", sa.Boolean(), nullable=True),
        sa.Column("feasibility_reason", sa.Text(), nullable=True),
        sa.Column("score", postgresql.JSONB(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint("cost > 0", name=op.f("ck_budget_proposal_cost_positive")),
        sa.CheckConstraint("(lon IS NULL) = (lat IS NULL)", name=op.f("ck_budget_proposal_point_whole")),
        sa.ForeignKeyConstraint(
            ["round_id"],
            ["budget_round.id"],
            name=op.f("fk_budget_proposal_round_id_budget_round"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["service_type_id"],
            ["service_type.id"],
            name=op.f("fk_budget_proposal_service_type_id_service_type"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["neighbourhood_id"],
            ["neighbourhood.id"],
            name=op.f("fk_budget_proposal_neighbourhood_id_neighbourhood"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_budget_proposal")),
    )
    op.create_index("ix_budget_proposal_round_id_id", "budget_proposal", ["round_id", "id"])
    op.create_table(
        "budget_voting_code",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.ForeignKeyConstraint(
            ["round_id"],
            ["budget_round.id"],
            name=op.f("fk_budget_voting_code_round_id_budget_round"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_budget_voting_code")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_budget_voting_code_code_hash")),
    )
    op.create_index("ix_budget_voting_code_round_id", "budget_voting_code", ["round_id"])
    op.create_table(
        "budget_ballot",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("code_id", sa.Integer(), nullable=True),
        sa.Column(
            "approvals", postgresql.ARRAY(sa.Integer()), server_default=sa.text("'{}'"), nullable=False
        ),
        sa.Column("cast_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint("(user_id IS NULL) <> (code_id IS NULL)", name=op.f("ck_budget_ballot_one_voter")),
        sa.ForeignKeyConstraint(
            ["round_id"],
            ["budget_round.id"],
            name=op.f("fk_budget_ballot_round_id_budget_round"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["app_user.id"], name=op.f("fk_budget_ballot_user_id_app_user"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["code_id"],
            ["budget_voting_code.id"],
            name=op.f("fk_budget_ballot_code_id_budget_voting_code"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_budget_ballot")),
        sa.UniqueConstraint("round_id", "user_id", name="uq_budget_ballot_round_user"),
        sa.UniqueConstraint("code_id", name="uq_budget_ballot_code"),
    )
    op.create_index("ix_budget_ballot_round_id", "budget_ballot", ["round_id"])


def downgrade() -> None:
    """Drop them: ballots, codes, proposals, rounds."""
    op.drop_table("budget_ballot")
    op.drop_table("budget_voting_code")
    op.drop_table("budget_proposal")
    op.drop_table("budget_round")
