"""The payment-provider port: what OpenKasse needs from any online payment service.

Stripe is the first adapter (core/payments/card/stripe.py); the public-sector platforms of
the XBezahldienste standard (ePayBL, pmPayment) or others can be added as further adapters
without touching the portal: the portal only sees :class:`PaymentProvider`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class Intent:
    """A provider's payment in progress (Stripe: PaymentIntent)."""

    ref: str  # the provider's id, e.g. "pi_…"
    status: (
        str  # "requires_payment_method", "requires_action", "processing", "succeeded", "canceled"
    )
    amount_cents: int
    currency: str  # ISO 4217, upper case
    client_secret: str = ""
    metadata: dict[str, str] = field(default_factory=dict)

    @property
    def succeeded(self) -> bool:
        return self.status == "succeeded"


@dataclass(frozen=True)
class ProviderEventData:
    """A verified notification from the provider (Stripe: webhook event)."""

    event_id: str
    type: str
    intent: Intent | None  # the payment the event is about, if any


class ProviderError(Exception):
    """The provider could not be reached or refused the request (message for logs only)."""


class CardDeclined(Exception):
    """The card was refused; ``message`` is safe to show to the payer."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidSignature(Exception):
    """A webhook whose signature does not verify: never acted upon."""


class PaymentProvider(Protocol):
    name: str

    def create_intent(
        self,
        *,
        amount_cents: int,
        currency: str,
        idempotency_key: str,
        description: str,
        metadata: dict[str, str],
    ) -> Intent: ...

    def retrieve_intent(self, ref: str) -> Intent: ...

    def pay_with_card_token(self, ref: str, card_token: str) -> Intent:
        """Confirm the payment with a card token made in the browser (the card number never
        reaches OpenKasse). Returns the intent: succeeded, or requires_action for 3-D Secure."""
        ...

    def cancel_intent(self, ref: str) -> Intent:
        """Cancel a payment not yet succeeded; a cancelled payment can never be confirmed or
        charged. Stripe cancels a PaymentIntent in requires_payment_method,
        requires_confirmation, requires_action, requires_capture (and rarely processing) and
        refuses it once succeeded (docs.stripe.com/api/payment_intents/cancel): ProviderError."""
        ...

    def refund(self, *, ref: str, amount_cents: int, idempotency_key: str) -> str: ...

    def parse_event(self, payload: bytes, signature_header: str) -> ProviderEventData: ...

    def client_config(self) -> dict[str, Any]:
        """What the payment page needs in the browser (publishable key, script URL)."""
        ...


FINAL_STATES = ("canceled", "succeeded")


def cancel_unless_done(provider: PaymentProvider, ref: str) -> Intent:
    """Cancel a provider payment unless it has already ended; return its final state.

    A payment that succeeded just before the cancellation cannot be cancelled any more: it is
    returned as succeeded so that the caller books it. Raises ``ProviderError`` while it is in
    neither state (unreachable, or still processing).
    """
    intent = provider.retrieve_intent(ref)
    if intent.status in FINAL_STATES:
        return intent
    try:
        return provider.cancel_intent(ref)
    except ProviderError:
        intent = provider.retrieve_intent(ref)  # it may have succeeded in between
        if intent.status in FINAL_STATES:
            return intent
        raise
