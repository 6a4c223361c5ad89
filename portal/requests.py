"""The one request pattern of every view that changes something (portal and back office).

A view loads what the request names and checks access (decorators, scoped lookups), then hands
**one** core service call to :func:`carry_out`: it runs inside the request's transaction, which is
committed once when the call returns. A :class:`~core.kernel.errors.DomainError` rolls everything
back and its German message goes where the user looks: onto the form's fields (``FieldErrors``),
onto one named field, into the form's error summary, or — without a form — into a flash message.
Side effects that must not happen for a rolled-back change (mail, provider calls, redirects) come
after, guarded by ``outcome.ok``. Errors the view answers in its own way (a question to confirm, a
page of its own) are named in ``handled``: they are rolled back too, but shown by the caller from
``outcome.error``. In the spirit of Indico's ``RH.process``, without the classes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from flask import flash

from core.kernel.errors import DomainError, FieldErrors
from portal.database import db

T = TypeVar("T")


@dataclass(frozen=True)
class Outcome(Generic[T]):
    """What became of one service call: its value once committed, or the refused error."""

    value: T | None = None
    error: DomainError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def result(self) -> T:
        """The committed value (only after checking ``ok``)."""
        if self.error is not None:
            raise RuntimeError("the service call was refused") from self.error
        return self.value  # type: ignore[return-value]


def carry_out(
    call: Callable[[], T],
    *,
    form: Any | None = None,
    field: str | None = None,
    flash_category: str = "error",
    handled: tuple[type[DomainError], ...] = (),
    rename: Mapping[str, str] | None = None,
) -> Outcome[T]:
    """Run one core service call as the request's unit of work: commit, or roll back and show.

    Without ``form`` the message is flashed; with ``form`` it goes onto ``field`` (when named), the
    fields of a ``FieldErrors`` (``rename`` maps the service's field names to the form's), or the
    form's own errors shown in its error summary. An error of a ``handled`` type is not shown.
    """
    session = db()
    try:
        value = call()
    except DomainError as exc:
        session.rollback()
        if not isinstance(exc, handled):
            show_error(exc, form=form, field=field, flash_category=flash_category, rename=rename)
        return Outcome(error=exc)
    session.commit()
    return Outcome(value=value)


def show_error(
    exc: DomainError,
    *,
    form: Any | None = None,
    field: str | None = None,
    flash_category: str = "error",
    rename: Mapping[str, str] | None = None,
) -> None:
    """Put a refused call's German message where the user sees it (see :func:`carry_out`)."""
    if form is None:
        flash(exc.message, flash_category)
    elif isinstance(exc, FieldErrors) and field is None:
        show_field_errors(form, {(rename or {}).get(k, k): v for k, v in exc.errors.items()})
    elif field is not None:
        target = form[field]
        target.errors = [*target.errors, exc.message]
    else:
        form.form_errors.append(exc.message)


def show_field_errors(form: Any, errors: dict[str, str]) -> None:
    """Put a core service's German messages (FieldErrors) onto the form's fields; those for no
    field go to the form's own errors (shown in the error summary)."""
    for name, message in errors.items():
        target = form[name] if name in form._fields else None
        if target is None:
            form.form_errors.append(message)
        else:
            target.errors = [*target.errors, message]
