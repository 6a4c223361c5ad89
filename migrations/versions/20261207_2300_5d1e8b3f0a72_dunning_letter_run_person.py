"""dunning_letter: the index on the run becomes one on (run, person).

A preview chunk asks which of its persons already have a letter in the run (so a chunk done
again stores nothing twice). With an index on the run alone, PostgreSQL read every letter of
the run for each chunk and checked it against the chunk's persons: at 250,000 persons the
question took 0.5–0.8 s per chunk of 1,000 (BENCHMARKS.md, 2026-12-07). The new index answers
it from the index and still serves every lookup by run.

Revision ID: 5d1e8b3f0a72
Revises: 7c41e2a9d5f3
Create Date: 2026-12-07 23:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "5d1e8b3f0a72"
down_revision: str | None = "7c41e2a9d5f3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("dunning_letter", schema=None) as batch_op:
        batch_op.create_index("ix_dunning_letter_run_person", ["run_id", "person_id"])
        batch_op.drop_index("ix_dunning_letter_run")


def downgrade() -> None:
    with op.batch_alter_table("dunning_letter", schema=None) as batch_op:
        batch_op.create_index("ix_dunning_letter_run", ["run_id"])
        batch_op.drop_index("ix_dunning_letter_run_person")
