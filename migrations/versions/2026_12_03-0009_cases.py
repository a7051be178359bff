"""Community-rights cases (docs/CASES.md): a city's regime, cases on assets, their dated events and documents.

`case_regime` holds a city's own periods and time zone (a city without one uses England's periods). A case's
stage and deadlines are not stored: they follow from its events, the regime and the calendar, so time alone (a
listing's five years ending) moves a case without a write. The table is `community_case`, not `case`: CASE is an
SQL keyword. An asset with cases cannot be deleted (RESTRICT): the record of a legal process outlives a map entry.
The community body's contact is a column of its own, so every public answer can leave it out by name.

Revision ID: 0009
Revises: 0006
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The vocabulary as it was when this migration was written (geo/vocab.py may grow; a later migration follows).
CASE_KINDS = ("acv", "challenge", "transfer")
COMMUNITY_BODY_KINDS = (
    "parish_council",
    "neighbourhood_forum",
    "charity",
    "community_interest_company",
    "community_group",
    "voluntary_body",
    "employees",
    "other",
)
EVENT_KINDS = (
    "nominated",
    "listed",
    "unsuccessful",
    "withdrawn",
    "review_requested",
    "review_upheld",
    "removed",
    "notice_of_sale",
    "bidder_request",
    "sale_completed",
    "expression_of_interest",
    "accepted",
    "modified",
    "rejected",
    "procurement_started",
    "procurement_ended",
    "requested",
    "approved",
    "refused",
    "terms_agreed",
    "completed",
)
DOCUMENT_KINDS = ("nomination", "decision", "notice", "review", "correspondence", "evidence", "other")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    """Create the regime, case, event and document tables."""
    op.create_table(
        "case_regime",
        sa.Column("city_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("time_zone", sa.String(64), nullable=False),
        sa.Column("periods", postgresql.JSONB(), server_default=sa.text("'{}'::jsonb"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.ForeignKeyConstraint(
            ["city_id"], ["city.id"], name=op.f("fk_case_regime_city_id_city"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("city_id", name=op.f("pk_case_regime")),
    )
    op.create_table(
        "community_case",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("city_id", sa.Integer(), nullable=False),
        sa.Column("asset_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("reference", sa.String(100), nullable=True),
        sa.Column("community_body_name", sa.String(300), nullable=False),
        sa.Column("community_body_kind", sa.String(40), nullable=False),
        sa.Column("community_body_contact", sa.Text(), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint(_in("kind", CASE_KINDS), name=op.f("ck_community_case_kind_known")),
        sa.CheckConstraint(
            _in("community_body_kind", COMMUNITY_BODY_KINDS),
            name=op.f("ck_community_case_community_body_kind_known"),
        ),
        sa.ForeignKeyConstraint(
            ["city_id"], ["city.id"], name=op.f("fk_community_case_city_id_city"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["asset_id"], ["asset.id"], name=op.f("fk_community_case_asset_id_asset"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_community_case")),
    )
    op.create_index("ix_community_case_city_id_id", "community_case", ["city_id", "id"])
    op.create_index("ix_community_case_asset_id", "community_case", ["asset_id"])
    op.create_table(
        "case_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("occurred_on", sa.Date(), nullable=False),
        sa.Column("to_community_interest_group", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("recorded_by", sa.Integer(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint(_in("kind", EVENT_KINDS), name=op.f("ck_case_event_kind_known")),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["community_case.id"],
            name=op.f("fk_case_event_case_id_community_case"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_event")),
    )
    op.create_index("ix_case_event_case_id_id", "case_event", ["case_id", "id"])
    op.create_table(
        "case_document",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("document_kind", sa.String(30), nullable=False),
        sa.Column("document_date", sa.Date(), nullable=True),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("media_type", sa.String(100), nullable=True),
        sa.Column("size_bytes", sa.BigInteger(), nullable=True),
        sa.Column("public", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("added_by", sa.Integer(), nullable=True),
        sa.Column("added_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint(
            _in("document_kind", DOCUMENT_KINDS), name=op.f("ck_case_document_document_kind_known")
        ),
        sa.CheckConstraint(
            "size_bytes IS NULL OR size_bytes >= 0", name=op.f("ck_case_document_size_nonnegative")
        ),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["community_case.id"],
            name=op.f("fk_case_document_case_id_community_case"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_document")),
    )
    op.create_index("ix_case_document_case_id_id", "case_document", ["case_id", "id"])


def downgrade() -> None:
    """Drop them (their history rows stay in `change`, as a deleted item's do)."""
    op.drop_table("case_document")
    op.drop_table("case_event")
    op.drop_table("community_case")
    op.drop_table("case_regime")
