"""delivery of letters: a delivery record for an archived letter (an objection decision) as for a
notice: ``document_id`` beside ``notice_id``, exactly one of them set (core.delivery); retention
of bank statement lines (object type ``bank_line``) and the consent register's one allowed
anonymising update (core.retention)

The consent register (delivery_consent) stays append-only except for one UPDATE: ``address``
from a value to NULL with every other column unchanged (core/retention/erasure.py, when its
person is anonymised). DELETE stays refused.

Revision ID: b7c3e9f14a26
Revises: e8b1f4c27d35
Create Date: 2026-12-03 07:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from core.kernel.schema_changes import (
    create_append_only_trigger,
    drop_append_only_trigger,
    replace_enum_check,
)

revision: str = "b7c3e9f14a26"
down_revision: str | None = "e8b1f4c27d35"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


OBJECT_TYPES = ["document", "outbox_message", "delivery_dispatch", "person"]


def upgrade() -> None:
    replace_enum_check(
        "retention_item", "retention_object_type", "object_type", [*OBJECT_TYPES, "bank_line"]
    )
    _allow_consent_anonymising()
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.add_column(sa.Column("document_id", sa.Integer(), nullable=True))
        batch_op.alter_column("notice_id", existing_type=sa.Integer(), nullable=True)
        batch_op.create_foreign_key(
            batch_op.f("fk_delivery_document_id_document"),
            "document",
            ["document_id"],
            ["id"],
            ondelete="RESTRICT",
        )
        batch_op.create_unique_constraint(batch_op.f("uq_delivery_document_id"), ["document_id"])
        batch_op.create_check_constraint(
            batch_op.f("ck_delivery_notice_or_letter"),
            "(notice_id IS NULL) <> (document_id IS NULL)",
        )


def downgrade() -> None:
    _refuse_consent_anonymising()
    op.execute("DELETE FROM retention_item WHERE object_type = 'bank_line'")
    replace_enum_check("retention_item", "retention_object_type", "object_type", OBJECT_TYPES)
    op.execute("DELETE FROM delivery_dispatch WHERE delivery_id IN "
               "(SELECT id FROM delivery WHERE document_id IS NOT NULL)")  # fmt: skip
    op.execute("DELETE FROM delivery WHERE document_id IS NOT NULL")
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_delivery_notice_or_letter"), type_="check")
        batch_op.drop_constraint(batch_op.f("uq_delivery_document_id"), type_="unique")
        batch_op.drop_constraint(batch_op.f("fk_delivery_document_id_document"), type_="foreignkey")
        batch_op.alter_column("notice_id", existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column("document_id")


def _unchanged(dialect: str) -> str:
    """The only change the consent register allows: the address removed, the rest unchanged."""
    same = "IS NOT DISTINCT FROM" if dialect == "postgresql" else "IS"
    return " AND ".join(
        [
            "OLD.address IS NOT NULL",
            "NEW.address IS NULL",
            *(
                f"NEW.{c} = OLD.{c}"
                for c in ("id", "municipality_id", "person_id", "action", "how", "actor")
            ),
            f"NEW.channel {same} OLD.channel",
            "NEW.recorded_at = OLD.recorded_at",
        ]
    )


def _allow_consent_anonymising() -> None:
    drop_append_only_trigger("delivery_consent")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"""
            CREATE FUNCTION openkasse_consent_anonymising() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF TG_OP = 'UPDATE' AND {_unchanged("postgresql")} THEN
                    RETURN NEW;
                END IF;
                RAISE EXCEPTION 'table % is append-only', TG_TABLE_NAME;
            END $$;
            """
        )
        op.execute(
            "CREATE TRIGGER delivery_consent_append_only BEFORE UPDATE OR DELETE ON "
            "delivery_consent FOR EACH ROW EXECUTE FUNCTION openkasse_consent_anonymising()"
        )
        return
    op.execute(
        "CREATE TRIGGER delivery_consent_no_delete BEFORE DELETE ON delivery_consent "
        "BEGIN SELECT RAISE(ABORT, 'table delivery_consent is append-only'); END"
    )
    op.execute(
        "CREATE TRIGGER delivery_consent_no_update BEFORE UPDATE ON delivery_consent "
        f"WHEN NOT ({_unchanged('sqlite')}) "
        "BEGIN SELECT RAISE(ABORT, 'table delivery_consent is append-only'); END"
    )


def _refuse_consent_anonymising() -> None:
    drop_append_only_trigger("delivery_consent")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS openkasse_consent_anonymising()")
    create_append_only_trigger("delivery_consent")
