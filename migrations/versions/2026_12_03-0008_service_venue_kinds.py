"""Venue kinds: what sort of place an asset is, and which kinds of place suit each service type.

`asset.kind` is one of the venue kinds of geo.vocab.VENUE_KINDS (NULL: not known). `service_type.venue_kinds`
lists the kinds that could host the service (seeded below for the service types of migration 0002; an empty list
for others); `city_service_venue_kinds` holds a city's own list for a service type, which replaces it. A site
suggestion's default candidates (ANALYSIS.md (d), "venues") are places whose kind is on the list, or that offer
a space resource that is still available.

The kinds and the seeded lists are frozen here as they were when this revision was written; geo.vocab holds the
current ones (tests/app/test_venues.py checks that they still agree).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

VENUE_KINDS = (
    "community_centre",
    "family_centre",
    "youth_centre",
    "senior_centre",
    "cultural_centre",
    "library",
    "school",
    "kindergarten",
    "place_of_worship",
    "hall",
    "clinic",
    "office",
    "makerspace",
    "clubhouse",
    "sports_centre",
    "swimming_pool",
    "fitness_studio",
    "sports_pitch",
    "playground",
    "park",
    "garden",
)
SERVICE_VENUE_KINDS = {
    "food-support": ("community_centre", "family_centre", "senior_centre", "place_of_worship", "hall"),
    "childcare": ("family_centre", "kindergarten", "community_centre", "place_of_worship", "hall"),
    "schools": ("school", "community_centre", "hall"),
    "youth": (
        "youth_centre",
        "community_centre",
        "cultural_centre",
        "makerspace",
        "sports_centre",
        "clubhouse",
    ),
    "older-people": (
        "senior_centre",
        "community_centre",
        "family_centre",
        "place_of_worship",
        "hall",
        "library",
        "cultural_centre",
    ),
    "health": ("clinic", "community_centre", "family_centre", "senior_centre", "hall"),
    "learning": (
        "library",
        "school",
        "community_centre",
        "family_centre",
        "youth_centre",
        "senior_centre",
        "cultural_centre",
        "makerspace",
    ),
    "digital-inclusion": (
        "library",
        "community_centre",
        "youth_centre",
        "senior_centre",
        "family_centre",
        "makerspace",
        "school",
    ),
    "employment": ("community_centre", "office", "library", "youth_centre", "makerspace"),
    "housing-advice": ("office", "community_centre", "family_centre", "senior_centre", "library"),
    "sport-and-play": (
        "playground",
        "sports_pitch",
        "park",
        "sports_centre",
        "swimming_pool",
        "fitness_studio",
        "school",
        "clubhouse",
    ),
    "community-space": (
        "community_centre",
        "family_centre",
        "youth_centre",
        "senior_centre",
        "cultural_centre",
        "place_of_worship",
        "hall",
        "library",
        "clubhouse",
    ),
    "culture": ("cultural_centre", "community_centre", "library", "hall", "place_of_worship", "park"),
}
KNOWN = "ARRAY[" + ", ".join(f"'{k}'" for k in VENUE_KINDS) + "]::varchar[]"
KINDS = postgresql.ARRAY(sa.String(length=30))


def upgrade() -> None:
    """Add asset.kind, the service types' venue kinds (seeded) and the per-city table."""
    op.add_column("asset", sa.Column("kind", sa.String(length=30), nullable=True))
    op.create_check_constraint(
        "kind_known",
        "asset",
        "kind IS NULL OR kind IN (" + ", ".join(f"'{k}'" for k in VENUE_KINDS) + ")",
    )
    op.add_column(
        "service_type",
        sa.Column("venue_kinds", KINDS, server_default=sa.text("'{}'::varchar[]"), nullable=False),
    )
    op.create_check_constraint("venue_kinds_known", "service_type", f"venue_kinds <@ {KNOWN}")
    op.create_table(
        "city_service_venue_kinds",
        sa.Column("city_id", sa.Integer(), nullable=False),
        sa.Column("service_type_id", sa.Integer(), nullable=False),
        sa.Column("venue_kinds", KINDS, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint(f"venue_kinds <@ {KNOWN}", name="venue_kinds_known"),
        sa.ForeignKeyConstraint(["city_id"], ["city.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["service_type_id"],
            ["service_type.id"],
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("city_id", "service_type_id"),
    )
    op.create_index(
        "ix_city_service_venue_kinds_service_type_id", "city_service_venue_kinds", ["service_type_id"]
    )
    seed = sa.text("UPDATE service_type SET venue_kinds = CAST(:kinds AS varchar[]) WHERE slug = :slug")
    for slug, kinds in SERVICE_VENUE_KINDS.items():
        op.get_bind().execute(seed, {"slug": slug, "kinds": list(kinds)})


def downgrade() -> None:
    """Drop them again."""
    op.drop_index("ix_city_service_venue_kinds_service_type_id", table_name="city_service_venue_kinds")
    op.drop_table("city_service_venue_kinds")
    op.drop_constraint("venue_kinds_known", "service_type", type_="check")
    op.drop_column("service_type", "venue_kinds")
    op.drop_constraint("kind_known", "asset", type_="check")
    op.drop_column("asset", "kind")
