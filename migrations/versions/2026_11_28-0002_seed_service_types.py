"""Seed the default service-type taxonomy (slugs are stable; names and radii can be edited later).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# slug, name, description, default catchment radius in metres, population group served (geo.vocab.POPULATION_GROUPS)
SERVICE_TYPES = [
    ("food-support", "Food support", "Food banks, community pantries, shared meals.", 1000, "all"),
    ("childcare", "Childcare", "Nurseries, day care and kindergartens for children under 6.", 500, "under_6"),
    ("schools", "Schools", "Primary and secondary schooling.", 1000, "6_18"),
    ("youth", "Youth", "Youth clubs, youth work and support for young people aged 15 to 26.", 1000, "15_27"),
    (
        "older-people",
        "Older people",
        "Day centres, lunch clubs and support for people over 65.",
        800,
        "over_65",
    ),
    ("health", "Health", "Clinics, health centres and community health services.", 1500, "all"),
    ("learning", "Learning and libraries", "Libraries, adult learning and homework help.", 1500, "all"),
    (
        "digital-inclusion",
        "Digital inclusion",
        "Public computers, wifi and help getting online.",
        1000,
        "all",
    ),
    ("employment", "Employment", "Job clubs, training and employment advice.", 2000, "18_65"),
    ("housing-advice", "Housing advice", "Advice on tenancy, homelessness and housing rights.", 2000, "all"),
    ("sport-and-play", "Sport and play", "Playgrounds, sports halls and pitches.", 800, "all"),
    ("community-space", "Community space", "Rooms and halls that residents can use and book.", 800, "all"),
    ("culture", "Culture", "Arts, music, heritage and cultural groups.", 1500, "all"),
]


def upgrade() -> None:
    table = sa.table(
        "service_type",
        sa.column("slug", sa.String),
        sa.column("name", sa.String),
        sa.column("description", sa.Text),
        sa.column("default_radius_m", sa.Float),
        sa.column("population_group", sa.String),
    )
    op.bulk_insert(
        table,
        [
            {"slug": s, "name": n, "description": d, "default_radius_m": r, "population_group": g}
            for s, n, d, r, g in SERVICE_TYPES
        ],
    )


def downgrade() -> None:
    slugs = ", ".join(f"'{s[0]}'" for s in SERVICE_TYPES)
    op.execute(f"DELETE FROM service_type WHERE slug IN ({slugs})")
