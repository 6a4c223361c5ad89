"""Helpers for Alembic migrations that both SQLite and PostgreSQL need to do differently.

Used only from ``migrations/versions``; importable from anywhere because it lives in core.
"""

from __future__ import annotations

from alembic import op

# Rows of these tables are written once and never changed: the database refuses UPDATE and
# DELETE, whatever client connects (the application refuses it earlier, in a session hook).
APPEND_ONLY = ("audit_event", "journal_entry", "posting", "document", "document_download")


def create_append_only_function() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            """
            CREATE FUNCTION openkasse_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION 'table % is append-only', TG_TABLE_NAME;
            END $$;
            """
        )


def create_append_only_trigger(table: str) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION openkasse_append_only()"
        )
        return
    for action in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
            f"BEGIN SELECT RAISE(ABORT, 'table {table} is append-only'); END"
        )


def drop_append_only_trigger(table: str) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        return
    for action in ("update", "delete"):
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{action}")


def replace_enum_check(table: str, name: str, column: str, values: list[str]) -> None:
    """Swap the CHECK constraint of a non-native enum column for one with ``values``.

    SQLite cannot alter a constraint: the table is rebuilt (batch mode), which drops its
    triggers, so an append-only table gets them back.
    """
    full_name = f"ck_{table}_{name}"
    condition = f"{column} IN ({', '.join(repr(v) for v in values)})"
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint(op.f(full_name), table, type_="check")
        op.create_check_constraint(op.f(full_name), table, condition)
        return
    with op.batch_alter_table(table, recreate="always") as batch:
        batch.drop_constraint(op.f(full_name), type_="check")
        batch.create_check_constraint(op.f(full_name), condition)
    if table in APPEND_ONLY:
        create_append_only_trigger(table)
