"""Back office for waste collection: the depot's open work orders (deliver, pick up, swap a
bin) with "done", and the properties and bins on the person page. Every query is limited to
the clerk's municipality."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from backoffice.blueprint import bp
from backoffice.lookups import rows_by_id
from backoffice.persons import person_page_section
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
    props = rows_by_id(session, WasteProperty, {o.property_id for o in orders})
    return render_template(
        "backoffice/waste/work_orders.html",
        orders=orders,
        properties=props,
        bins=rows_by_id(session, WasteBin, {o.bin_id for o in orders}),
        people=rows_by_id(session, persons.Person, {p.person_id for p in props.values()}),
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


@person_page_section
def waste_section(person: persons.Person) -> dict[str, object]:
    """The person's properties and their bins."""
    session = db()
    props = properties_of(session, person.id, person.municipality_id)
    bins: dict[int, list[WasteBin]] = {}
    for b in bins_of(session, [p.id for p in props]):
        bins.setdefault(b.property_id, []).append(b)
    return {"waste_properties": props, "waste_bins": bins, "rhythms": RHYTHMS}
