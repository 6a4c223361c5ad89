"""A citizen answers a clerk's question: the conversation is kept in the application's data,
the application goes back to the review queue, and the audit trail holds no answer text."""

from datetime import date
from typing import Any

import pytest
from sqlalchemy.orm import Session

from core.kernel import audit
from core.kernel.errors import IllegalTransition, ValidationError
from core.workflow.applications import Application, ApplicationStatus, review_queue
from core.workflow.pipeline import submit
from core.workflow.review import MAX_ANSWER_LENGTH, answer_question, reject, request_information

QUESTION = "Bitte reichen Sie den Sachkundenachweis nach."
ANSWER = "Der Nachweis liegt seit gestern beim Bürgerbüro,\nabgegeben von Erika Mustermann."


@pytest.fixture
def pending(db: Session, make: Any) -> Application:
    m = make.municipality()
    person = make.person(m)
    return submit(
        db,
        person_id=person.id,
        municipality_id=m.id,
        service="dog_registration",
        data={"name": "Bello"},
        reasons=["Rasse steht auf der Liste"],
        as_of=date(2026, 1, 10),
        actor="user:citizen",
        approve=lambda *_: None,
    )


def ask(db: Session, application: Application, question: str = QUESTION) -> None:
    request_information(db, application, question=question, actor="user:clerk")


def reloaded(db: Session, application: Application) -> Application:
    db.expire_all()
    return db.get_one(Application, application.id)


def test_answer_goes_back_to_review_and_the_conversation_is_kept(
    db: Session, pending: Application
) -> None:
    ask(db, pending)
    assert pending.status is ApplicationStatus.INFO_REQUESTED
    answer_question(db, pending, answer=f"  {ANSWER}  ", actor="user:citizen")

    application = reloaded(db, pending)
    assert application.status is ApplicationStatus.IN_REVIEW
    assert application in review_queue(db, application.municipality_id)
    assert application.data["name"] == "Bello"  # the citizen's entries stay
    entries = application.data["conversation"]
    assert [(e["from"], e["text"]) for e in entries] == [
        ("clerk", QUESTION),
        ("citizen", ANSWER),
    ]
    conversation = application.conversation
    assert [e.from_clerk for e in conversation] == [True, False]
    assert conversation[0].at <= conversation[1].at
    assert conversation[1].at.tzinfo is not None


def test_a_second_round_adds_to_the_conversation(db: Session, pending: Application) -> None:
    ask(db, pending)
    answer_question(db, pending, answer="Erste Antwort", actor="user:citizen")
    ask(db, pending, "Und die Haftpflichtversicherung?")
    answer_question(db, pending, answer="Liegt bei.", actor="user:citizen")
    application = reloaded(db, pending)
    assert [e.text for e in application.conversation] == [
        QUESTION,
        "Erste Antwort",
        "Und die Haftpflichtversicherung?",
        "Liegt bei.",
    ]


def test_a_question_asked_before_conversations_were_kept_is_recorded_with_the_answer(
    db: Session, pending: Application
) -> None:
    ask(db, pending)
    pending.data = {k: v for k, v in pending.data.items() if k != "conversation"}
    db.flush()
    answer_question(db, pending, answer=ANSWER, actor="user:citizen")
    entries = reloaded(db, pending).conversation
    assert [(e.sender, e.text) for e in entries] == [("clerk", QUESTION), ("citizen", ANSWER)]


@pytest.mark.parametrize("decide", ["in_review", "rejected"])
def test_no_answer_without_an_open_question(db: Session, pending: Application, decide: str) -> None:
    if decide == "rejected":
        reject(db, pending, reason="Unvollständig.", actor="user:clerk")
    with pytest.raises(IllegalTransition, match="keine Antwort möglich"):
        answer_question(db, pending, answer=ANSWER, actor="user:citizen")
    assert "conversation" not in reloaded(db, pending).data


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ("", "Bitte geben Sie Ihre Antwort ein."),
        ("   \n ", "Bitte geben Sie Ihre Antwort ein."),
        ("x" * (MAX_ANSWER_LENGTH + 1), "höchstens 2000 Zeichen"),
    ],
)
def test_empty_or_too_long_answers_are_refused(
    db: Session, pending: Application, answer: str, message: str
) -> None:
    ask(db, pending)
    with pytest.raises(ValidationError, match=message):
        answer_question(db, pending, answer=answer, actor="user:citizen")
    application = reloaded(db, pending)
    assert application.status is ApplicationStatus.INFO_REQUESTED
    assert len(application.conversation) == 1


def test_an_answer_of_exactly_the_limit_is_taken(db: Session, pending: Application) -> None:
    ask(db, pending)
    answer_question(db, pending, answer="x" * MAX_ANSWER_LENGTH, actor="user:citizen")
    assert reloaded(db, pending).status is ApplicationStatus.IN_REVIEW


def test_audit_trail_records_the_answer_but_not_its_text(db: Session, pending: Application) -> None:
    ask(db, pending)
    answer_question(db, pending, answer=ANSWER, actor="user:citizen")
    trail = audit.trail(db, pending.municipality_id, "application", pending.id)
    [answered] = [e for e in trail if e.action == "application.answered"]
    assert answered.actor == "user:citizen"
    assert answered.after == {"answer_length": len(ANSWER)}
    assert any(
        e.action == "application.in_review" and e.after and e.after["status"] == "in_review"
        for e in trail
    )
    for event in trail:
        recorded = f"{event.before} {event.after}"
        assert "Bürgerbüro" not in recorded and "Erika" not in recorded
