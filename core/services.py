"""The online services the portal offers, in one registry: their labels, and the service that
carries out an application a clerk approves (the review queue and the clerk's decisions are the
same for every service; core.workflow.pipeline). A new service is one more line here.

Also the hooks lower layers ask through: what a direct debit may collect of an instalment
plan's claims (core.payments.collection_limits, filled by core.dunning.instalment_debits)."""

from __future__ import annotations

from core import address as address_services
from core.dunning import instalment_debits, instalments
from core.levies.dog_tax import services as dog_services
from core.levies.trade_tax import approval as trade_tax_approval
from core.levies.waste import services as waste_services
from core.payments import collection_limits
from core.workflow.pipeline import Registry

REGISTRY = Registry(
    *dog_services.SERVICES,
    *waste_services.SERVICES,
    *address_services.SERVICES,
    *instalments.SERVICES,
    *trade_tax_approval.SERVICES,
)
SERVICE_LABELS = REGISTRY.labels
approve = REGISTRY.approve

collection_limits.register(instalment_debits.debit_limits)
