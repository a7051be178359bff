"""Lighter bulk writes: audit references without foreign keys, and a partial index for blurred locations.

History rows and the import id on items are audit trails: they must survive whatever happens to the user or import
they name, and checking a foreign key on each of hundreds of thousands of imported rows costs more than the rest of
the row. Blurred locations are only searched for people and sensitive assets, so only those rows are indexed.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

AUDIT_KEYS = [
    ("change", "user_id", "app_user"),
    ("change", "import_id", "import_run"),
    ("neighbourhood", "import_id", "import_run"),
    ("asset", "import_id", "import_run"),
    ("need", "import_id", "import_run"),
    ("resource", "import_id", "import_run"),
    ("link", "import_id", "import_run"),
]
PRIVATE = "category = 'individual' OR sensitive"


def upgrade() -> None:
    for table, column, referred in AUDIT_KEYS:
        op.drop_constraint(f"fk_{table}_{column}_{referred}", table, type_="foreignkey")
    op.drop_index("ix_asset_blurred_location", table_name="asset", postgresql_using="gist")
    op.execute(
        f"CREATE INDEX ix_asset_blurred_location ON asset USING gist (blurred_location) WHERE {PRIVATE}"
    )


def downgrade() -> None:
    op.drop_index("ix_asset_blurred_location", table_name="asset")
    op.create_index("ix_asset_blurred_location", "asset", ["blurred_location"], postgresql_using="gist")
    for table, column, referred in AUDIT_KEYS:
        op.create_foreign_key(
            f"fk_{table}_{column}_{referred}", table, referred, [column], ["id"], ondelete="SET NULL"
        )
