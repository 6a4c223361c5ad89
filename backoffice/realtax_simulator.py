"""Back office: the Hebesatz simulator for the council (issue #14 "Statute simulator") — "what if
the Hebesatz were X % from year Y" for property tax (one B rate, or separate rates for
residential and non-residential land where the Land allows it) or trade tax, over every object
of the clerk's municipality, without booking anything. The form is sent with its CSRF token;
the CSV export is a GET with the same parameters (it changes nothing). The figures come from
core.levies.realtax_simulator, the chart is server-rendered SVG with the tables as alternative."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from typing import Any

from flask import g, render_template, request, url_for
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response
from wtforms import SelectChoice, SelectField, StringField
from wtforms.validators import ValidationError as FieldInvalid

from backoffice.blueprint import bp
from backoffice.realtax_simulator_chart import bar_chart
from core.kernel import clock
from core.kernel.errors import DomainError, NotFound
from core.levies.property_tax.rules import NON_RESIDENTIAL, RESIDENTIAL
from core.levies.realtax import PERCENT
from core.levies.realtax_simulator import (
    KIND_LABELS,
    LEVIES,
    MAX_YEARS,
    Result,
    Scenario,
    simulate_municipality,
)
from portal.database import db
from portal.form_fields import GermanForm, required
from portal.identity.auth import staff_required

PAGE = "backoffice/realtax_simulator/index.html"
_NUMBER = re.compile(r"^(\d+)(?:[.,](\d+))?$")
MAX_PERCENT = 9999  # no law caps the Hebesatz; a typo of five digits is refused


def _percent(text: str) -> int:
    """``"412,5"`` → 41_250 (hundredths of a percent); German errors for anything else."""
    value = text.strip().removesuffix("%").strip()
    if value.startswith("-"):
        raise FieldInvalid("Ein Hebesatz darf nicht negativ sein.")
    match = _NUMBER.match(value)
    if not match:
        raise FieldInvalid(
            "Bitte geben Sie den Hebesatz als Zahl in Prozent an, z. B. 480 oder 412,5."
        )
    whole, fraction = match.groups()
    if fraction is not None and len(fraction) > 2:
        raise FieldInvalid("Bitte geben Sie den Hebesatz mit höchstens zwei Nachkommastellen an.")
    if len(whole.lstrip("0")) > len(str(MAX_PERCENT)) or int(whole) > MAX_PERCENT:
        raise FieldInvalid(f"Der Hebesatz ist zu hoch (höchstens {MAX_PERCENT} %).")
    return int(whole) * PERCENT + int((fraction or "0").ljust(2, "0"))


def _rate(form: GermanForm, field: StringField) -> None:
    if (field.data or "").strip():
        _percent(field.data)


class SimulatorForm(GermanForm):
    levy = SelectField(
        "Steuer",
        choices=[SelectChoice(code, label) for code, label in LEVIES.items()],
        default="property_tax",
    )
    hebesatz = StringField(
        "Hebesatz in %",
        description="Gewerbesteuer: der Hebesatz (mindestens 200 %). Grundsteuer: der Hebesatz B "
        "für alle Grundstücke. Zum Beispiel 480 oder 412,5.",
        validators=[_rate],
        render_kw={"inputmode": "decimal", "autocomplete": "off"},
    )
    hebesatz_a = StringField(
        "Grundsteuer A in %",
        description="Land- und Forstwirtschaft; leer: der Hebesatz der Satzung bleibt.",
        validators=[_rate],
        render_kw={"inputmode": "decimal", "autocomplete": "off"},
    )
    residential = StringField(
        "Grundsteuer B, Wohngrundstücke, in %",
        description="Getrennte Hebesätze nur, wo das Landesrecht sie zulässt (z. B. NRW); "
        "dann beide Felder ausfüllen und das Feld „Hebesatz“ leer lassen.",
        validators=[_rate],
        render_kw={"inputmode": "decimal", "autocomplete": "off"},
    )
    non_residential = StringField(
        "Grundsteuer B, Nichtwohngrundstücke, in %",
        validators=[_rate],
        render_kw={"inputmode": "decimal", "autocomplete": "off"},
    )
    from_year = StringField(
        "Ab Jahr",
        description="Vierstellig, z. B. 2027.",
        validators=[required("Bitte geben Sie das Jahr an, ab dem der Hebesatz gelten soll.")],
        render_kw={"inputmode": "numeric", "autocomplete": "off"},
    )
    years = SelectField(
        "Anzahl der Jahre",
        choices=[SelectChoice(str(n), str(n)) for n in range(1, MAX_YEARS + 1)],
        default="5",
    )

    def validate_from_year(self, field: StringField) -> None:
        text = (field.data or "").strip()
        if not re.fullmatch(r"[0-9]{4}", text) or not 2000 <= int(text) <= 2100:
            raise FieldInvalid("Bitte geben Sie das Jahr vierstellig an, zwischen 2000 und 2100.")

    def validate(self, extra_validators: Any = None) -> bool:
        if not super().validate(extra_validators):
            return False
        given = {name: bool((self[name].data or "").strip()) for name in _RATE_FIELDS}
        problem: tuple[str, str] | None = None
        if self.levy.data == "trade_tax":
            if not given["hebesatz"]:
                problem = ("hebesatz", "Bitte geben Sie den Hebesatz der Gewerbesteuer an.")
            elif any(given[n] for n in ("hebesatz_a", "residential", "non_residential")):
                problem = (
                    "hebesatz_a",
                    "Die Gewerbesteuer hat nur einen Hebesatz; bitte nur "
                    "das Feld „Hebesatz“ ausfüllen.",
                )
        elif not any(given.values()):
            problem = ("hebesatz", "Bitte geben Sie mindestens einen Hebesatz an.")
        elif given["hebesatz"] and (given["residential"] or given["non_residential"]):
            problem = (
                "residential",
                "Entweder ein Hebesatz B für alle Grundstücke oder "
                "getrennte für Wohn- und Nichtwohngrundstücke.",
            )
        elif given["residential"] != given["non_residential"]:
            missing = "non_residential" if given["residential"] else "residential"
            problem = (
                missing,
                "Getrennte Hebesätze brauchen beide Felder: Wohn- und Nichtwohngrundstücke.",
            )
        if problem:
            self[problem[0]].errors = [*self[problem[0]].errors, problem[1]]
            return False
        return True

    def scenario(self) -> Scenario:
        def rate(name: str) -> int | None:
            text = (self[name].data or "").strip()
            return _percent(text) if text else None

        rates: dict[str, int] = {}
        if self.levy.data == "trade_tax":
            rates["hebesatz"] = rate("hebesatz") or 0
        else:
            b = rate("hebesatz")
            for kind, value in (
                ("A", rate("hebesatz_a")),
                (RESIDENTIAL, b if b is not None else rate("residential")),
                (NON_RESIDENTIAL, b if b is not None else rate("non_residential")),
            ):
                if value is not None:
                    rates[kind] = value
        return Scenario(self.levy.data, rates, int(self.from_year.data), int(self.years.data))

    def params(self) -> dict[str, str]:
        """The form's values for the CSV link (the same parameters as a GET)."""
        names = ("levy", *_RATE_FIELDS, "from_year", "years")
        return {n: str(self[n].data or "").strip() for n in names if self[n].data}


_RATE_FIELDS = ("hebesatz", "hebesatz_a", "residential", "non_residential")


def _simulate(form: SimulatorForm) -> Result | None:
    """The simulation, or None with the core's German reason on the field it concerns. It only
    reads (nothing is booked or stored), so nothing is committed: the CSV stays a reading GET."""
    session = db()
    try:
        return simulate_municipality(session, g.municipality, form.scenario())
    except DomainError as exc:
        session.rollback()
        error = exc
    if isinstance(error, NotFound):
        field: str | None = "from_year"
    elif form.levy.data == "trade_tax":
        field = "hebesatz"
    elif "Wohn- und Nichtwohn" in error.message:
        field = "residential"
    else:
        field = None
    if field is None:
        form.form_errors.append(error.message)
    else:
        form[field].errors = [*form[field].errors, error.message]
    return None


def _page(form: SimulatorForm, result: Result | None, status: int = 200) -> tuple[str, int]:
    charts = {}
    if result is not None:
        charts = {
            "revenue": bar_chart(
                [
                    (str(y.year), [y.current_cents, y.simulated_cents])
                    for y in result.simulation.years
                ],
                ("Satzung", "Annahme"),
                money=True,
            ),
            "buckets": bar_chart(
                [(b.label, [b.count]) for b in result.simulation.buckets], ("Objekte",)
            ),
        }
    page = render_template(
        PAGE,
        form=form,
        result=result,
        charts=charts,
        kinds=KIND_LABELS,
        levies=LEVIES,
        rates=[
            (label, now, then)
            for (label, now), (_same, then) in zip(result.statute, result.assumed, strict=True)
        ]
        if result
        else [],
        csv_url=_csv_url(form) if result else None,
    )
    return page, status


def _csv_url(form: SimulatorForm) -> str:
    params: dict[str, Any] = form.params()
    return url_for("backoffice.realtax_simulator_csv", **params)


@bp.route("/hebesatz-simulation", methods=["GET", "POST"])
@staff_required()
def realtax_simulator() -> tuple[str, int]:
    """The form, and on sending it the figures (nothing is booked)."""
    form = SimulatorForm()
    if request.method == "GET":
        form.from_year.data = form.from_year.data or str(clock.today().year + 1)
        return _page(form, None)
    if not form.validate_on_submit():
        return _page(form, None)  # 200: the form again with its messages
    return _page(form, _simulate(form))


@bp.get("/hebesatz-simulation.csv")
@staff_required()
def realtax_simulator_csv() -> Response | tuple[str, int]:
    """The same simulation as CSV (``;``, German decimals, UTF-8 with BOM for spreadsheets);
    wrong parameters show the form with the messages."""
    form = SimulatorForm(formdata=MultiDict(request.args), meta={"csrf": False})
    if not form.validate():
        return _page(form, None, 422)
    result = _simulate(form)
    if result is None:
        return _page(form, None, 422)
    s = result.scenario
    name = f"hebesatz-simulation-{s.levy.replace('_', '-')}-ab-{s.from_year}.csv"
    return Response(
        "\ufeff" + csv_text(result),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )


def decimal(cents: int) -> str:
    """Cents as a German decimal without thousands separators: -123456 → ``-1234,56``."""
    whole, frac = divmod(abs(cents), 100)
    return f"{'-' if cents < 0 else ''}{whole},{frac:02d}"


def _text(value: str) -> str:
    """A text cell that a spreadsheet will not run as a formula."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


HEADER = (
    "Abschnitt",
    "Bezeichnung",
    "Art",
    "Messbetrag",
    "Objekte",
    "Satzung",
    "Annahme",
    "Differenz",
)


def csv_text(result: Result) -> str:
    """The simulation as one table: the rates (in %), the revenue per year, the distribution
    of the changes per object and the largest increases (amounts in EUR)."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(HEADER)
    writer.writerows(_figure_rows(result))
    writer.writerows(_object_rows(result))
    return out.getvalue()


def _figure_rows(result: Result) -> Iterator[list[str]]:
    """The rates (in %) and the revenue per year."""
    for (label, now), (_same, then) in zip(result.statute, result.assumed, strict=True):
        yield [
            "Hebesatz (%)",
            _text(label),
            "",
            "",
            "",
            now.removesuffix(" %"),
            then.removesuffix(" %"),
            "",
        ]
    sim, levy = result.simulation, LEVIES[result.scenario.levy]
    for y in sim.years:
        yield [
            "Aufkommen (EUR)",
            str(y.year),
            levy,
            "",
            str(sim.objects),
            decimal(y.current_cents),
            decimal(y.simulated_cents),
            decimal(y.change_cents),
        ]


def _object_rows(result: Result) -> Iterator[list[str]]:
    """The distribution of the changes per object and the largest increases (in EUR)."""
    sim = result.simulation
    for b in sim.buckets:
        yield [f"Änderung je Objekt {sim.from_year}", _text(b.label), "", "", str(b.count)] + [
            ""
        ] * 3
    for i in result.increases:
        c = i.change
        yield [
            "Größte Erhöhungen (EUR)",
            _text(c.key),
            _text(KIND_LABELS.get(c.kind, c.kind)),
            decimal(c.messbetrag_cents),
            "1",
            decimal(c.current_cents),
            decimal(c.simulated_cents),
            decimal(c.change_cents),
        ]
