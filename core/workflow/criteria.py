"""Review criteria: the rules that send an application to a clerk instead of straight through.

The check behind each criterion is code (per ``code``: a flag the service raises when it checks
the form, or "backdated", judged here by the day the application takes effect); whether a
criterion applies and its parameter are data of the municipality, edited in the back office.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import ForeignKey, String, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.kernel import audit
from core.kernel.db import Base
from core.kernel.errors import ValidationError
from core.kernel.months import months_between

BACKDATED = "backdated"  # the one criterion every dated service shares: "more than N months back"


class ReviewCriterion(Base):
    """A rule that sends an application to a clerk. The check itself is code (per ``code``);
    whether it applies and its parameter are data of the municipality."""

    __tablename__ = "review_criterion"
    __table_args__ = (UniqueConstraint("municipality_id", "service", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id", ondelete="RESTRICT"))
    service: Mapped[str] = mapped_column(String(40))
    code: Mapped[str] = mapped_column(String(40))
    label: Mapped[str] = mapped_column(String(200))
    enabled: Mapped[bool] = mapped_column(default=True)
    parameter: Mapped[int | None]  # e.g. months for "backdated by more than N months"


@dataclass(frozen=True)
class CriterionSpec:
    service: str
    code: str
    label: str
    parameter: int | None = None


def criteria_for(
    session: Session, municipality_id: int, service: str
) -> dict[str, ReviewCriterion]:
    return {
        c.code: c
        for c in session.scalars(
            select(ReviewCriterion).where(
                ReviewCriterion.municipality_id == municipality_id,
                ReviewCriterion.service == service,
            )
        )
    }


def ensure_criteria(session: Session, municipality_id: int, specs: Sequence[CriterionSpec]) -> None:
    """Create the default criteria a municipality does not have yet (never overwrites)."""
    for spec in specs:
        if spec.code not in criteria_for(session, municipality_id, spec.service):
            session.add(
                ReviewCriterion(
                    municipality_id=municipality_id,
                    service=spec.service,
                    code=spec.code,
                    label=spec.label,
                    parameter=spec.parameter,
                )
            )
    session.flush()


def update_criterion(
    session: Session,
    criterion: ReviewCriterion,
    *,
    enabled: bool,
    parameter: int | None,
    actor: str,
) -> None:
    if parameter is not None and not 0 <= parameter <= 120:
        raise ValidationError("Der Wert muss zwischen 0 und 120 liegen.")
    before = {"enabled": criterion.enabled, "parameter": criterion.parameter}
    criterion.enabled, criterion.parameter = enabled, parameter
    audit.record(
        session,
        actor=actor,
        action="criterion.changed",
        obj=criterion,
        municipality_id=criterion.municipality_id,
        before=before,
        after={"enabled": enabled, "parameter": parameter},
    )
    session.flush()


def review_reasons(
    session: Session,
    municipality_id: int,
    service: str,
    specs: Sequence[CriterionSpec],
    *,
    flags: Mapping[str, bool],
    details: Mapping[str, str],
    takes_effect_on: date | None,
    as_of: date,
) -> list[str]:
    """The labels of the municipality's enabled criteria of ``service`` that apply, in the order
    of ``specs`` (the service's defaults).

    A flagged criterion gives its label (with the flag's detail in brackets, if any); "backdated"
    applies when ``takes_effect_on`` lies more than the parameter's months before ``as_of``.
    """
    if not specs:
        return []
    criteria = criteria_for(session, municipality_id, service)
    reasons = []
    for spec in specs:
        c = criteria.get(spec.code)
        if c is None or not c.enabled:
            continue
        months = c.parameter or 0
        if spec.code == BACKDATED:
            if takes_effect_on is not None and months_between(takes_effect_on, as_of) > months:
                reasons.append(c.label.replace(" N ", f" {months} "))
        elif flags.get(spec.code):
            detail = details.get(spec.code)
            reasons.append(f"{c.label} ({detail})" if detail else c.label)
    return reasons
