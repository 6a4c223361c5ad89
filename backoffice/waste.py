"""Back office for waste collection: the depot's open work orders (deliver, pick up, swap a
bin) with "done", and the properties and bins on the person page. Every query is limited to
the clerk's municipality."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from backoffice.views import bp
from core.levies.waste import services as waste_services
from core.levies.waste.models import (
    WasteBin,
    WasteProperty,
    WorkOrder,
    bins_of,
    properties_of,
    work_orders,
)
from core.levies.waste.rules import RHYTHMS
from core.persons import models as persons
from portal.database import db
from portal.form_fields import ConfirmForm
from portal.identity.auth import staff_required
from portal.requests import carry_out


@bp.get("/abfuhrauftraege")
@staff_required()
def work_order_list() -> str:
    session = db()
    orders = work_orders(session, current_user.municipality_id)
    props = {
        p.id: p
        for p in session.scalars(
            select(WasteProperty).where(WasteProperty.id.in_({o.property_id for o in orders}))
        )
    }
    bins = {
        b.id: b
        for b in session.scalars(
            select(WasteBin).where(WasteBin.id.in_({o.bin_id for o in orders}))
        )
    }
    people = {
        p.id: p
        for p in session.scalars(
            select(persons.Person).where(
                persons.Person.id.in_({p.person_id for p in props.values()})
            )
        )
    }
    return render_template(
        "backoffice/waste/work_orders.html",
        orders=orders,
        properties=props,
        bins=bins,
        people=people,
        rhythms=RHYTHMS,
        form=ConfirmForm(),
    )


@bp.post("/abfuhrauftraege/<int:order_id>/erledigt")
@staff_required()
def work_order_done(order_id: int) -> Response:
    session = db()
    if not ConfirmForm().validate_on_submit():
        abort(400)
    order = session.scalars(
        select(WorkOrder).where(
            WorkOrder.id == order_id, WorkOrder.municipality_id == current_user.municipality_id
        )
    ).first()
    if order is None:
        abort(404)
    if carry_out(lambda: waste_services.mark_done(session, order, actor=current_user.actor)).ok:
        flash(f"Auftrag {order.id} ({order.label}) erledigt.", "success")
    return redirect(url_for("backoffice.work_order_list"))


def waste_context(person: persons.Person) -> dict[str, object]:
    """Properties and their bins for the person detail page."""
    session = db()
    props = properties_of(session, person.id, person.municipality_id)
    bins: dict[int, list[WasteBin]] = {}
    for b in bins_of(session, [p.id for p in props]):
        bins.setdefault(b.property_id, []).append(b)
    return {"waste_properties": props, "waste_bins": bins, "rhythms": RHYTHMS}
