"""Street networks for walking distances: one per city, with its provenance, nodes and edges (docs/ANALYSIS.md (h)).

`street_network` says where a city's network came from (file name, format, SHA-256, licence and attribution as
given, import time, the CRS it was split and measured in, and counts). `street_node` and `street_edge` hold the
routable graph: nodes numbered 0..n-1 per network, edges between them with their length in metres and their
line (EPSG:4326, drawn from source to target). Importing a network again replaces the city's network.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import geoalchemy2
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _geometry(kind: str) -> geoalchemy2.types.Geometry:
    return geoalchemy2.types.Geometry(
        geometry_type=kind,
        srid=4326,
        dimension=2,
        spatial_index=False,
        from_text="ST_GeomFromEWKT",
        name="geometry",
        nullable=False,
    )


def upgrade() -> None:
    """Create the network, node and edge tables."""
    op.create_table(
        "street_network",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("city_id", sa.Integer(), nullable=False),
        sa.Column("source_name", sa.String(length=300), nullable=False),
        sa.Column("source_format", sa.String(length=40), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("licence", sa.Text(), nullable=True),
        sa.Column("attribution", sa.Text(), nullable=True),
        sa.Column("crs", sa.String(length=40), nullable=False),
        sa.Column(
            "counts",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("imported_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.ForeignKeyConstraint(["city_id"], ["city.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["app_user.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("city_id"),
    )
    op.create_table(
        "street_node",
        sa.Column("network_id", sa.Integer(), nullable=False),
        sa.Column("node", sa.Integer(), nullable=False),
        sa.Column("geom", _geometry("POINT"), nullable=False),
        sa.ForeignKeyConstraint(["network_id"], ["street_network.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("network_id", "node"),
    )
    op.create_table(
        "street_edge",
        sa.Column("network_id", sa.Integer(), nullable=False),
        sa.Column("edge", sa.Integer(), nullable=False),
        sa.Column("source", sa.Integer(), nullable=False),
        sa.Column("target", sa.Integer(), nullable=False),
        sa.Column("length_m", sa.Float(), nullable=False),
        sa.Column("highway", sa.String(length=40), nullable=True),
        sa.Column("geom", _geometry("LINESTRING"), nullable=False),
        sa.CheckConstraint("length_m >= 0", name="length_nonnegative"),
        sa.ForeignKeyConstraint(["network_id"], ["street_network.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("network_id", "edge"),
    )


def downgrade() -> None:
    """Drop them (every city's street network goes)."""
    op.drop_table("street_edge")
    op.drop_table("street_node")
    op.drop_table("street_network")
