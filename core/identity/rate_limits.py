"""Counted events for rate limits (failed log-ins per account and per client address).

One row per counted event, so that a moving window ("at most N in the last T minutes") is one
indexed query on any database, shared by every web worker, with nothing to install beside the
database. Keys are keyed hashes made by the caller: no e-mail address or IP address is stored.
Times are integer milliseconds since the epoch (the project keeps floats out of core).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from core.kernel.db import Base


class RateLimitHit(Base):
    __tablename__ = "rate_limit_hit"
    __table_args__ = (
        Index("ix_rate_limit_hit_key_at", "key", "at_ms"),
        Index("ix_rate_limit_hit_expires", "expires_ms"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200))
    at_ms: Mapped[int] = mapped_column(BigInteger)
    expires_ms: Mapped[int] = mapped_column(BigInteger)
