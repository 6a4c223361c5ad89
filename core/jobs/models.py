"""The tables of the job engine: a job, its chunks, and the objects that failed.

A chunk is claimed inside the transaction that does its work (core.jobs.worker): it is either
done, with its result, or still pending — there is no committed "in progress" state that a dead
worker could leave behind.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.kernel import clock
from core.kernel.db import Base, UTCDateTime, enum_column


class JobState(enum.Enum):
    RUNNING = "running"  # chunks are taken by workers
    CANCELLED = "cancelled"  # stopped by a clerk: pending chunks wait for a resume
    DONE = "done"  # every chunk done (some objects may have failed)


STATE_TEXT = {
    JobState.RUNNING: "läuft",
    JobState.CANCELLED: "abgebrochen",
    JobState.DONE: "fertig",
}


class ChunkState(enum.Enum):
    PENDING = "pending"
    DONE = "done"


class Job(Base):
    __tablename__ = "job"
    __table_args__ = (Index("ix_job_municipality_state", "municipality_id", "state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id", ondelete="RESTRICT"))
    kind: Mapped[str] = mapped_column(String(40))  # a name of core.jobs.kinds' registry
    params: Mapped[dict[str, Any]] = mapped_column(JSON)  # plain values, never a secret
    title: Mapped[str] = mapped_column(String(200))  # German, e.g. "Hundesteuer 2027"
    state: Mapped[JobState] = mapped_column(enum_column(JobState, "job_state"))
    total: Mapped[int] = mapped_column(Integer)  # objects planned
    planned: Mapped[dict[str, int]] = mapped_column(JSON)  # what the plan counted already
    started_by: Mapped[str] = mapped_column(String(60))  # actor id, as in the audit trail
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class JobChunk(Base):
    __tablename__ = "job_chunk"
    __table_args__ = (
        UniqueConstraint("job_id", "seq"),
        Index("ix_job_chunk_job_state", "job_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("job.id", ondelete="RESTRICT"))
    seq: Mapped[int] = mapped_column(Integer)
    keys: Mapped[list[int]] = mapped_column(JSON)  # the objects (ids) of this chunk
    size: Mapped[int] = mapped_column(Integer)
    state: Mapped[ChunkState] = mapped_column(enum_column(ChunkState, "job_chunk_state"))
    worker: Mapped[str | None] = mapped_column(String(120))  # host:pid that did it
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    result: Mapped[dict[str, int] | None] = mapped_column(JSON)  # the kind's counts
    failed: Mapped[int] = mapped_column(Integer, default=0)


class JobFailure(Base):
    """An object of a chunk that could not be done, with the German reason."""

    __tablename__ = "job_failure"

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("job.id", ondelete="RESTRICT"), index=True)
    chunk_id: Mapped[int] = mapped_column(ForeignKey("job_chunk.id", ondelete="RESTRICT"))
    key: Mapped[int] = mapped_column(Integer)
    label: Mapped[str] = mapped_column(String(120))  # e.g. "Person 100234"
    message: Mapped[str] = mapped_column(Text)
    retried: Mapped[bool] = mapped_column(default=False)  # taken into a retry chunk
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)
