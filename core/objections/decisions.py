"""The clerk's decision on an objection (Widerspruch), once:

* **Abhilfe** (§ 72 VwGO, § 367 (2) AO: the objection is granted, fully or in part): the clerk
  enters the new amount; the difference to what stands assessed of the notice is taken off its
  claims with the ledger's correction (core.ledger.claims.reduce_claim, newest instalment first,
  as a change assessment lowers them: the open part first, what was paid beyond the new amount
  becomes credit and is offset against other open items). The levies' change assessments
  recompute from the tax object's facts and cannot take an amount a clerk decided on, so the
  ledger's correction is the path here. An Abhilfebescheid is written.
* **Zurückweisung** (§ 73 VwGO): a Widerspruchsbescheid with the reasons and the legal remedy
  (a suit at the Verwaltungsgericht within one month, § 74 (1) VwGO).
* **Rücknahme** (§ 362 AO): the citizen withdrew the objection; a confirmation is written.

Four eyes as for trade-tax notices (core.levies.trade_tax.approval): an Abhilfe that refunds
anything (the new amount is below what was paid) or lowers the claim by more than the levy
statute's ``objection_approval_above_euro`` waits as *pending* until an approver — never the
clerk who prepared it — approves it; nothing is booked and no letter exists until then. An
approver may refuse it instead (the objection is open again).

The final decision ends the objection's dunning blocks (the suspension, core.dunning.blocks)
on the day decided, is in the audit trail and puts the letter (PDF/A-3b,
core.objections.letters) into the citizen's account."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.dunning import blocks
from core.dunning.models import DunningBlock
from core.identity.models import Role, UserAccount
from core.kernel import audit
from core.kernel.errors import AccessDenied, IllegalTransition, NotFound, ValidationError
from core.ledger.balances import ClaimBalance, claim_balances
from core.ledger.claims import reduce_claim
from core.ledger.models import Claim
from core.notices.records import Notice
from core.objections.models import (
    GRANTED,
    DecisionKind,
    DecisionStatus,
    Objection,
    ObjectionDecision,
)
from core.tenancy.statutes import statute_on

APPROVERS = (Role.APPROVER, Role.ADMIN)
MAX_REASONS = 5000


def notice_claims(session: Session, notice: Notice) -> list[Claim]:
    """The claims the notice assessed: of its person, Kassenzeichen and levy, booked for its
    year (assessment key ``levy:year:…``) or by the notice itself; not cancelled."""
    claims = session.scalars(
        select(Claim)
        .where(
            Claim.municipality_id == notice.municipality_id,
            Claim.person_id == notice.person_id,
            Claim.kassenzeichen == notice.kassenzeichen,
            Claim.cancelled_by_entry_id.is_(None),
        )
        .order_by(Claim.id)
    )
    prefix = f"{notice.levy}:{notice.year}:"
    return [
        c for c in claims if (c.assessment_key or "").startswith(prefix) or c.notice_id == notice.id
    ]


def standing_cents(session: Session, notice: Notice) -> int:
    """What stands assessed of the notice's claims now (in cents)."""
    balances = claim_balances(session, notice_claims(session, notice))
    return sum(b.assessed_cents for b in balances.values())


def current(session: Session, objection: Objection) -> ObjectionDecision | None:
    """The objection's decision, pending or final (None: not decided)."""
    return session.scalar(
        select(ObjectionDecision).where(
            ObjectionDecision.objection_id == objection.id,
            ObjectionDecision.status != DecisionStatus.DISCARDED,
        )
    )


def current_of(session: Session, objection_ids: list[int]) -> dict[int, ObjectionDecision]:
    """The decisions (pending or final) of many objections, by objection id (one query)."""
    if not objection_ids:
        return {}
    return {
        d.objection_id: d
        for d in session.scalars(
            select(ObjectionDecision).where(
                ObjectionDecision.objection_id.in_(objection_ids),
                ObjectionDecision.status != DecisionStatus.DISCARDED,
            )
        )
    }


def _lock(session: Session, objection: Objection) -> None:
    """Lock the objection's row (PostgreSQL): a second decision at the same time waits and then
    finds the first one."""
    session.get_one(Objection, objection.id, with_for_update=True, populate_existing=True)


def _limit_cents(session: Session, notice: Notice) -> int | None:
    try:
        data = statute_on(session, notice.municipality_id, notice.levy, notice.issued_on).data
    except NotFound:
        return None
    limit = data.get("objection_approval_above_euro")
    return None if limit is None else int(limit) * 100


def _review_reasons(session: Session, notice: Notice, lowered: int, refund: int) -> list[str]:
    """Why an Abhilfe needs a second person (German; empty: decided at once)."""
    reasons = []
    limit = _limit_cents(session, notice)
    if limit is not None and lowered > limit:
        reasons.append(
            f"Minderung über der Freigabegrenze von {limit // 100:,} €".replace(",", ".")
        )
    if refund > 0:
        reasons.append("Erstattung")
    return reasons


def decide(
    session: Session,
    objection: Objection,
    *,
    kind: DecisionKind,
    reasons: str,
    day: date,
    actor: str,
    after_cents: int | None = None,
) -> ObjectionDecision:
    """Record the decision on ``objection``: final at once, or pending for an approver."""
    _lock(session, objection)
    if current(session, objection) is not None:
        raise IllegalTransition("Über diesen Widerspruch ist schon entschieden.")
    text = (reasons or "").strip()
    if kind is not DecisionKind.WITHDRAWN and not text:
        raise ValidationError("Bitte begründen Sie die Entscheidung.")
    notice = session.get_one(Notice, objection.notice_id)
    before = standing_cents(session, notice)
    after, refund, review = before, 0, []
    if kind in GRANTED:
        if isinstance(after_cents, bool) or not isinstance(after_cents, int):
            raise ValidationError("Bitte geben Sie den neuen Betrag an.")
        if not 0 <= after_cents < before:
            raise ValidationError(
                "Der neue Betrag muss kleiner sein als der festgesetzte Betrag und darf nicht "
                "negativ sein."
            )
        after = after_cents
        paid = sum(b.assessed_cents - b.open_cents for b in _balances(session, notice))
        refund = max(paid - after, 0)
        review = _review_reasons(session, notice, before - after, refund)
    decision = ObjectionDecision(
        municipality_id=objection.municipality_id,
        objection_id=objection.id,
        kind=kind,
        status=DecisionStatus.PENDING if review else DecisionStatus.FINAL,
        before_cents=before,
        after_cents=after,
        refund_cents=refund,
        reasons=text[:MAX_REASONS],
        review_reasons=review,
        proposed_by=actor,
    )
    session.add(decision)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="objection.decision_prepared" if review else "objection.decided",
        obj=objection,
        municipality_id=objection.municipality_id,
        after={"kind": kind.value, "before_cents": before, "after_cents": after,
               "review_reasons": review},
    )  # fmt: skip
    if not review:
        _finish(session, decision, objection, notice, day=day, actor=actor)
    return decision


def _balances(session: Session, notice: Notice) -> list[ClaimBalance]:
    return list(claim_balances(session, notice_claims(session, notice)).values())


def _role_of(session: Session, actor: str) -> Role | None:
    kind, _, number = actor.partition(":")
    if kind != "user" or not number.isdigit():
        return None
    account = session.get(UserAccount, int(number))
    return account.role if account is not None else None


def _check_approver(session: Session, decision: ObjectionDecision, actor: str) -> None:
    """Four eyes: an approver, and not the clerk who prepared the decision."""
    _lock(session, session.get_one(Objection, decision.objection_id))
    session.refresh(decision)
    if decision.status is not DecisionStatus.PENDING:
        raise IllegalTransition("Diese Entscheidung wartet nicht auf eine Freigabe.")
    if _role_of(session, actor) not in APPROVERS:
        raise AccessDenied(
            "Entscheidungen über Widersprüche gibt nur frei, wer zur Freigabe berechtigt ist "
            "(Rolle „Freigabe“)."
        )
    if actor == decision.proposed_by:
        raise AccessDenied(
            "Vier-Augen-Prinzip: Wer die Entscheidung vorbereitet hat, darf sie nicht selbst "
            "freigeben."
        )


def approve(session: Session, decision: ObjectionDecision, *, day: date, actor: str) -> None:
    """The second person approves: booked, blocks ended, letter written. Refused when what
    stands assessed changed since the decision was prepared."""
    _check_approver(session, decision, actor)
    objection = session.get_one(Objection, decision.objection_id)
    notice = session.get_one(Notice, objection.notice_id)
    if standing_cents(session, notice) != decision.before_cents:
        raise ValidationError(
            "Der festgesetzte Betrag hat sich seit der Vorbereitung geändert. Bitte lehnen Sie "
            "die Freigabe ab und entscheiden Sie neu."
        )
    decision.approved_by = actor
    audit.record(
        session, actor=actor, action="objection.decision_approved", obj=objection,
        municipality_id=objection.municipality_id, after={"decision_id": decision.id},
    )  # fmt: skip
    _finish(session, decision, objection, notice, day=day, actor=actor)


def refuse(session: Session, decision: ObjectionDecision, *, actor: str) -> None:
    """The second person refuses the prepared decision: nothing booked, the objection is open."""
    _check_approver(session, decision, actor)
    decision.status = DecisionStatus.DISCARDED
    session.flush()
    audit.record(
        session, actor=actor, action="objection.decision_refused",
        obj=session.get_one(Objection, decision.objection_id),
        municipality_id=decision.municipality_id, after={"decision_id": decision.id},
    )  # fmt: skip


def _finish(
    session: Session,
    decision: ObjectionDecision,
    objection: Objection,
    notice: Notice,
    *,
    day: date,
    actor: str,
) -> None:
    from core.objections import letters  # the letter needs the decision's final state

    if decision.granted:
        _reduce(session, notice, decision.before_cents - decision.after_cents, day, actor)
    for block_id in objection.block_ids:
        block = session.get(DunningBlock, block_id)
        if block is not None and (block.ends_on is None or block.ends_on > day):
            blocks.end_block(session, block, last_day=max(day, block.starts_on), actor=actor)
    decision.status, decision.decided_on = DecisionStatus.FINAL, day
    session.flush()
    decision.document_id = letters.archive_letter(session, decision, actor=actor).id
    session.flush()
    audit.record(
        session, actor=actor, action="objection.decision_final", obj=objection,
        municipality_id=objection.municipality_id,
        after={"kind": decision.kind.value, "on": day.isoformat(),
               "difference_cents": decision.after_cents - decision.before_cents,
               "document_id": decision.document_id},
    )  # fmt: skip


def _reduce(session: Session, notice: Notice, cents: int, day: date, actor: str) -> None:
    """Lower the notice's claims by ``cents``, newest first (as a change assessment does)."""
    claims = notice_claims(session, notice)
    balances = claim_balances(session, claims)
    reason = f"Abhilfe auf Widerspruch gegen Bescheid Nr. {notice.number}"
    for claim in reversed(claims):
        part = min(balances[claim.id].assessed_cents, cents)
        if part:
            reduce_claim(session, claim, part, as_of=day, actor=actor, reason=reason)
            cents -= part
        if not cents:
            return
    raise ValidationError("Der Betrag ist höher als die festgesetzten Forderungen.")


def get_decision(session: Session, municipality_id: int, decision_id: int) -> ObjectionDecision:
    found = session.get(ObjectionDecision, decision_id)
    if found is None or found.municipality_id != municipality_id:
        raise NotFound("Diese Entscheidung wurde nicht gefunden.")
    return found
