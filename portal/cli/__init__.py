"""`openkasse` command line: Flask's CLI for this app plus OpenKasse's own commands.

Each command is a thin call into core; it opens one unit of work and commits once. One module
per area: db (schema), demo, levies (annual runs, reading cards), notices, payments (card,
SEPA direct debit, bank statements), imports (the tax office's basis notices), mail (the
outbox), delivery (notifications, postal fallback), retention (Löschläufe), jobs (Job-Steuerung
and the job worker), serve (the production web server); context holds what they share.
"""

from __future__ import annotations

import click
from flask.cli import FlaskGroup

from portal import serving
from portal.cli import (
    db,
    delivery,
    demo,
    dunning,
    imports,
    jobs,
    levies,
    mail,
    notices,
    payments,
    payouts,
    retention,
    serve,
)


def _create_app():  # type: ignore[no-untyped-def]
    from portal.app import create_app

    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app, add_version_option=False)
def main() -> None:
    """OpenKasse – Kommunale Steuern und Gebühren."""


main.add_command(serving.run_command)  # replaces Flask's: no version banner, redacted log
main.add_command(serve.serve_command)  # production: gunicorn workers on portal.wsgi
main.add_command(db.db_group)
main.add_command(demo.demo)
main.add_command(levies.assess_group)
main.add_command(levies.meters_group)
main.add_command(notices.notices_group)
main.add_command(payments.payments_group)
main.add_command(payments.sepa_group)
main.add_command(payments.bank_group)
main.add_command(payouts.payouts_group)
main.add_command(mail.outbox_group)
main.add_command(jobs.jobs_group)
main.add_command(dunning.dunning_group)
main.add_command(delivery.delivery_group)
main.add_command(imports.import_group)
main.add_command(retention.retention_group)
