"""person.search_name: names folded for search (umlauts, ß, diacritics)

Revision ID: 6db26ef3555e
Revises: 05c85dbbb70b
Create Date: 2026-12-01 20:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from core.kernel.name_folding import search_name

revision: str = "6db26ef3555e"
down_revision: str | None = "05c85dbbb70b"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

person = sa.table(
    "person",
    sa.column("id", sa.Integer()),
    sa.column("given_name", sa.String()),
    sa.column("family_name", sa.String()),
    sa.column("company_name", sa.String()),
    sa.column("search_name", sa.String()),
)


def upgrade() -> None:
    with op.batch_alter_table("person") as batch:
        batch.add_column(
            sa.Column("search_name", sa.String(length=600), server_default="", nullable=False)
        )
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(person.c.id, person.c.given_name, person.c.family_name, person.c.company_name)
    ).all()
    if rows:
        connection.execute(
            person.update()
            .where(person.c.id == sa.bindparam("person_id"))
            .values(search_name=sa.bindparam("folded")),
            [
                {
                    "person_id": r.id,
                    "folded": search_name(r.given_name, r.family_name, r.company_name),
                }
                for r in rows
            ],
        )
    with op.batch_alter_table("person") as batch:
        batch.create_index(
            "ix_person_municipality_search_name", ["municipality_id", "search_name"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("person") as batch:
        batch.drop_index("ix_person_municipality_search_name")
        batch.drop_column("search_name")
