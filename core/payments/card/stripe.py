"""Stripe adapter of the payment-provider port (official ``stripe`` library).

Everything Stripe-specific lives here. ``api_base`` points the library at another server: in
tests and the demo that is localstripe on loopback, in production Stripe itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import stripe

from core.payments.card.provider import (
    CardDeclined,
    Intent,
    InvalidSignature,
    ProviderError,
    ProviderEventData,
)


@dataclass
class StripeProvider:
    secret_key: str
    publishable_key: str
    webhook_secret: str
    js_url: str = "https://js.stripe.com/v3/"
    api_base: str | None = None  # None: Stripe's own API
    max_network_retries: int = 2
    name: str = "stripe"

    def _client(self) -> stripe.StripeClient:
        kwargs: dict[str, Any] = {"max_network_retries": self.max_network_retries}
        if self.api_base:
            kwargs["base_addresses"] = {"api": self.api_base}
        return stripe.StripeClient(self.secret_key, **kwargs)

    @staticmethod
    def _intent(obj: Any) -> Intent:
        data = obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)
        return Intent(
            ref=data["id"],
            status=data["status"],
            amount_cents=int(data["amount"]),
            currency=str(data["currency"]).upper(),
            client_secret=data.get("client_secret") or "",
            metadata={k: str(v) for k, v in (data.get("metadata") or {}).items()},
        )

    def create_intent(
        self,
        *,
        amount_cents: int,
        currency: str,
        idempotency_key: str,
        description: str,
        metadata: dict[str, str],
    ) -> Intent:
        try:
            obj = self._client().v1.payment_intents.create(
                # The description travels as metadata and card is named explicitly:
                # localstripe (tests, demo) knows neither descriptions nor automatic methods.
                params={  # type: ignore[typeddict-unknown-key]
                    "amount": amount_cents,
                    "currency": currency.lower(),
                    "payment_method_types": ["card"],
                    "metadata": {**metadata, "purpose": description[:500]},
                },
                options={"idempotency_key": idempotency_key},
            )
        except stripe.StripeError as exc:
            raise ProviderError(f"Stripe: {exc.__class__.__name__}") from exc
        return self._intent(obj)

    def retrieve_intent(self, ref: str) -> Intent:
        try:
            return self._intent(self._client().v1.payment_intents.retrieve(ref))
        except stripe.StripeError as exc:
            raise ProviderError(f"Stripe: {exc.__class__.__name__}") from exc

    def pay_with_card_token(self, ref: str, card_token: str) -> Intent:
        # The token (from Stripe.js createToken) becomes a card of a one-off customer that the
        # intent is confirmed with; Stripe and localstripe (tests, demo) both support this.
        client = self._client()
        try:
            customer = client.v1.customers.create(params={"source": card_token})
            client.v1.payment_intents.update(
                ref,
                params={"customer": customer.id, "payment_method": str(customer.default_source)},
            )
            return self._intent(client.v1.payment_intents.confirm(ref))
        except stripe.CardError as exc:
            raise CardDeclined("Die Karte wurde abgelehnt.") from exc
        except stripe.StripeError as exc:
            raise ProviderError(f"Stripe: {exc.__class__.__name__}") from exc

    def cancel_intent(self, ref: str) -> Intent:
        try:
            return self._intent(self._client().v1.payment_intents.cancel(ref))
        except stripe.StripeError as exc:
            raise ProviderError(f"Stripe: {exc.__class__.__name__}") from exc

    def refund(self, *, ref: str, amount_cents: int, idempotency_key: str) -> str:
        try:
            obj = self._client().v1.refunds.create(
                params={"payment_intent": ref, "amount": amount_cents},
                options={"idempotency_key": idempotency_key},
            )
        except stripe.StripeError as exc:
            raise ProviderError(f"Stripe: {exc.__class__.__name__}") from exc
        return str(obj.id)

    def parse_event(self, payload: bytes, signature_header: str) -> ProviderEventData:
        try:
            event = stripe.Webhook.construct_event(payload, signature_header, self.webhook_secret)
        except (ValueError, stripe.SignatureVerificationError) as exc:
            raise InvalidSignature(str(exc)) from exc
        data = event.to_dict() if hasattr(event, "to_dict") else dict(event)
        obj = (data.get("data") or {}).get("object") or {}
        intent = self._intent(obj) if obj.get("object") == "payment_intent" else None
        return ProviderEventData(event_id=str(data["id"]), type=str(data["type"]), intent=intent)

    def client_config(self) -> dict[str, Any]:
        return {"publishable_key": self.publishable_key, "js_url": self.js_url}
