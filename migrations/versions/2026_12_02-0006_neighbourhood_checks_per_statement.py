"""Neighbourhood references of assets and needs checked once per statement instead of once per row.

Every imported asset and need names the neighbourhood its location falls in. As a foreign key, `neighbourhood_id`
was checked row by row (about 6 microseconds a row: 3 s for 500,000 points imported into Berlin's 460 areas), although
such an import names a few hundred areas in all. Now a statement trigger looks at the distinct neighbourhoods of the
new or updated rows, locks them as a foreign key would (FOR KEY SHARE, so none is deleted before the transaction
ends) and refuses the statement, with the foreign key's name and error code, if one does not exist. Deleting
neighbourhoods clears the references to them (a statement trigger), as `ON DELETE SET NULL` did, and a
neighbourhood's id cannot change (a row trigger), as the foreign key refused while it was referenced.
The neighbourhood index of assets and needs only holds the items that have one: items outside every area (all of a
new city's items before its boundaries, most of a national register) are never searched by neighbourhood.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LOCATED = ("asset", "need")
HAS_AREA = "neighbourhood_id IS NOT NULL"

CHECK_NEIGHBOURHOOD = """
CREATE FUNCTION assetmap_check_neighbourhood() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    areas integer[];
    missing integer;
BEGIN
    SELECT array_agg(DISTINCT neighbourhood_id) INTO areas FROM new_rows WHERE neighbourhood_id IS NOT NULL;
    IF areas IS NULL THEN
        RETURN NULL;
    END IF;
    -- Lock the neighbourhoods as a foreign key would, so none is deleted before this transaction ends.
    PERFORM 1 FROM neighbourhood WHERE id = ANY (areas) FOR KEY SHARE;
    SELECT a INTO missing FROM unnest(areas) AS a WHERE NOT EXISTS (SELECT 1 FROM neighbourhood WHERE id = a) LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'insert or update on table "%" names neighbourhood %, which does not exist', TG_TABLE_NAME,
            missing USING ERRCODE = 'foreign_key_violation',
            CONSTRAINT = 'fk_' || TG_TABLE_NAME || '_neighbourhood_id_neighbourhood';
    END IF;
    RETURN NULL;
END
$$
"""
CLEAR_NEIGHBOURHOOD = """
CREATE FUNCTION assetmap_clear_neighbourhood() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE asset SET neighbourhood_id = NULL WHERE neighbourhood_id IN (SELECT id FROM old_rows);
    UPDATE need SET neighbourhood_id = NULL WHERE neighbourhood_id IN (SELECT id FROM old_rows);
    RETURN NULL;
END
$$
"""
ID_FIXED = """
CREATE FUNCTION assetmap_id_fixed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the id of a row of table "%" cannot change (% to %)', TG_TABLE_NAME, OLD.id, NEW.id
        USING ERRCODE = 'foreign_key_violation';
END
$$
"""


def upgrade() -> None:
    op.execute(CHECK_NEIGHBOURHOOD)
    op.execute(CLEAR_NEIGHBOURHOOD)
    op.execute(ID_FIXED)
    for table in LOCATED:
        op.drop_constraint(f"fk_{table}_neighbourhood_id_neighbourhood", table, type_="foreignkey")
        for event in ("INSERT", "UPDATE"):
            op.execute(
                f"CREATE TRIGGER {table}_neighbourhood_exists_{event.lower()} AFTER {event} ON {table} "
                "REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION assetmap_check_neighbourhood()"
            )
        op.drop_index(f"ix_{table}_neighbourhood_id", table_name=table)
        op.create_index(
            f"ix_{table}_neighbourhood_id", table, ["neighbourhood_id"], postgresql_where=sa.text(HAS_AREA)
        )
    op.execute(
        "CREATE TRIGGER neighbourhood_delete_clears AFTER DELETE ON neighbourhood REFERENCING OLD TABLE AS old_rows "
        "FOR EACH STATEMENT EXECUTE FUNCTION assetmap_clear_neighbourhood()"
    )
    op.execute(
        "CREATE TRIGGER neighbourhood_id_fixed BEFORE UPDATE OF id ON neighbourhood FOR EACH ROW "
        "WHEN (OLD.id IS DISTINCT FROM NEW.id) EXECUTE FUNCTION assetmap_id_fixed()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER neighbourhood_id_fixed ON neighbourhood")
    op.execute("DROP TRIGGER neighbourhood_delete_clears ON neighbourhood")
    for table in LOCATED:
        op.drop_index(f"ix_{table}_neighbourhood_id", table_name=table)
        op.create_index(f"ix_{table}_neighbourhood_id", table, ["neighbourhood_id"])
        for event in ("insert", "update"):
            op.execute(f"DROP TRIGGER {table}_neighbourhood_exists_{event} ON {table}")
        op.create_foreign_key(
            f"fk_{table}_neighbourhood_id_neighbourhood",
            table,
            "neighbourhood",
            ["neighbourhood_id"],
            ["id"],
            ondelete="SET NULL",
        )
    op.execute("DROP FUNCTION assetmap_id_fixed()")
    op.execute("DROP FUNCTION assetmap_clear_neighbourhood()")
    op.execute("DROP FUNCTION assetmap_check_neighbourhood()")
