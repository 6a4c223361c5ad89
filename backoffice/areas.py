"""The back office assembled: every area module adds its views to the one blueprint."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    """Add every area's views to the blueprint and register it on ``app``."""
    # Importing an area module adds its routes (and its section of the person page).
    import backoffice.basis_notices
    import backoffice.delivery
    import backoffice.dog_tax
    import backoffice.dunning
    import backoffice.dunning_blocks
    import backoffice.enforcement
    import backoffice.identity
    import backoffice.jobs
    import backoffice.levies
    import backoffice.objections
    import backoffice.payments.bank
    import backoffice.payments.card
    import backoffice.payments.payouts
    import backoffice.payments.sepa.direct_debit
    import backoffice.payments.sepa.mandates
    import backoffice.persons
    import backoffice.realtax_simulator
    import backoffice.representation
    import backoffice.retention
    import backoffice.trade_tax
    import backoffice.waste
    import backoffice.water
    import backoffice.workflow  # noqa: F401
    from backoffice.blueprint import bp

    app.register_blueprint(bp)
