"""Typed domain errors. Edges turn them into German messages; nothing here knows HTTP."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error a core service raises on purpose. ``message`` is German, for users."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(DomainError):
    pass


class AccessDenied(DomainError):
    pass


class ValidationError(DomainError):
    pass


class LedgerError(DomainError):
    """A booking would break a ledger invariant (unbalanced, over-allocation, double reversal)."""


class IllegalTransition(DomainError):
    pass


class InvalidToken(DomainError):
    """A signed token is malformed, tampered with, or made for another purpose or secret."""


class ExpiredToken(DomainError):
    """A signed token was genuine but is older than it may be."""


class FieldErrors(ValidationError):
    """Plausibility errors per form field (German messages), raised before anything is saved."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(" ".join(errors.values()))
        self.errors = errors
