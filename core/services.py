"""The online services of all levies: their labels, and which module carries out an approved
application (the review queue and the clerk's decision are the same for every service)."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from core import address as address_services
from core.levies.dog_tax import services as dog_services
from core.levies.waste import services as waste_services
from core.notices.records import Notice
from core.workflow.applications import Application

SERVICE_LABELS = {
    **dog_services.SERVICE_LABELS,
    **waste_services.SERVICE_LABELS,
    **address_services.SERVICE_LABELS,
}


def approve(session: Session, application: Application, *, as_of: date, actor: str) -> list[Notice]:
    """Approve and carry out ``application`` with the module that offers its service."""
    if application.service in waste_services.SERVICE_LABELS:
        return waste_services.approve(session, application, as_of=as_of, actor=actor)
    if application.service in address_services.SERVICE_LABELS:
        return address_services.approve(session, application, as_of=as_of, actor=actor)
    return dog_services.approve(session, application, as_of=as_of, actor=actor)
