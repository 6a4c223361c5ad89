"""The invitation e-mails, queued in the outbox in the same transaction as the invitation.
The portal builds the link from ``PUBLIC_BASE_URL`` (never from the request's Host header)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from core.kernel.mail import OutboxMessage, queue_email
from core.representation.models import PowerOfAttorney, Representative
from core.tenancy.municipalities import Municipality


def _signature(municipality: Municipality) -> str:
    return (
        f"Mit freundlichen Grüßen\n{municipality.cash_office_name}\n{municipality.name}\n"
        f"{municipality.email} · {municipality.phone}\n"
    )


def _how_to_accept(url: str) -> str:
    return (
        "Zum Annehmen öffnen Sie diesen Link und melden sich an – mit Ihrem Kundenkonto, mit "
        "BundID oder mit Ihrem Unternehmenskonto – oder legen ein Konto an:\n\n"
        f"{url}\n\nDer Link gilt 7 Tage und nur einmal. Wer ihn annimmt, erhält den Zugang: "
        "Bitte leiten Sie ihn nicht weiter.\n\n"
        "Sie kennen den Absender nicht? Dann ignorieren Sie diese E-Mail; ohne Annahme entsteht "
        "kein Zugang.\n\n"
    )


def send_representative_invitation(
    session: Session, municipality: Municipality, representative: Representative, url: str
) -> OutboxMessage:
    organisation = representative.organisation.display_name
    return queue_email(
        session,
        municipality_id=municipality.id,
        recipient=representative.email,
        subject=f"Einladung als Vertreter von {organisation} – {municipality.name}",
        body=(
            "Guten Tag,\n\n"
            f"Sie wurden eingeladen, im Portal von {municipality.name} für {organisation} zu "
            f"handeln (Rolle: {representative.role.label}).\n\n"
            + _how_to_accept(url)
            + _signature(municipality)
        ),
    )


def send_attorney_invitation(
    session: Session, municipality: Municipality, power: PowerOfAttorney, url: str
) -> OutboxMessage:
    until = f" bis {power.valid_until:%d.%m.%Y}" if power.valid_until else ""
    return queue_email(
        session,
        municipality_id=municipality.id,
        recipient=power.agent_email,
        subject=f"Vollmacht von {power.principal.display_name} – {municipality.name}",
        body=(
            "Guten Tag,\n\n"
            f"{power.principal.display_name} hat Ihnen im Portal von {municipality.name} eine "
            f"Vollmacht erteilt (Umfang: {power.scope.label}, gültig ab "
            f"{power.valid_from:%d.%m.%Y}{until}).\n\n"
            + _how_to_accept(url)
            + _signature(municipality)
        ),
    )
