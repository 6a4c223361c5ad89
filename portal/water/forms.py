"""The forms of water metering: the citizen's reading from the reading card, and the clerk's
entry of a reading and of a meter change."""

from __future__ import annotations

from flask_wtf.file import FileAllowed, FileField, FileSize
from wtforms import BooleanField, DateField, StringField
from wtforms.validators import Length, Regexp

from portal.form_fields import UPLOAD_MAX_BYTES, GermanForm, required


class ReadingForm(GermanForm):
    value = StringField(
        "Neuer Zählerstand in m³",
        validators=[
            required("Bitte geben Sie den Zählerstand an."),
            Regexp(r"^\d{1,7}$", message="Bitte nur volle Kubikmeter als Zahl angeben."),
        ],
        description="Nur die schwarzen Ziffern, ohne Nachkommastellen.",
        render_kw={"inputmode": "numeric", "autocomplete": "off"},
    )
    confirm = BooleanField("Ja, der Zählerstand ist richtig abgelesen.")
    photo = FileField(
        "Foto des Zählers (JPG oder PNG, höchstens 5 MB)",
        validators=[
            FileAllowed(["jpg", "jpeg", "png"], "Bitte laden Sie ein JPG- oder PNG-Foto hoch."),
            FileSize(UPLOAD_MAX_BYTES, message="Das Foto ist größer als 5 MB."),
        ],
    )


class ClerkReadingForm(GermanForm):
    meter_number = StringField(
        "Zählernummer",
        validators=[required(), Length(max=30)],
        render_kw={"autocomplete": "off", "autofocus": True},
    )
    value = StringField(
        "Zählerstand (m³)",
        validators=[
            required(),
            Regexp(r"^\d{1,7}$", message="Bitte nur volle Kubikmeter angeben."),
        ],
        render_kw={"inputmode": "numeric", "autocomplete": "off"},
    )
    period = StringField(
        "Jahr", validators=[required(), Regexp(r"^\d{4}$", message="Vierstellige Jahreszahl.")]
    )


class MeterChangeForm(GermanForm):
    old_number = StringField(
        "Nummer des ausgebauten Zählers", validators=[required(), Length(max=30)]
    )
    final_reading = StringField(
        "Endstand des ausgebauten Zählers (m³)",
        validators=[
            required(),
            Regexp(r"^\d{1,7}$", message="Bitte nur volle Kubikmeter angeben."),
        ],
    )
    new_number = StringField("Nummer des neuen Zählers", validators=[required(), Length(max=30)])
    start_reading = StringField(
        "Anfangsstand des neuen Zählers (m³)",
        validators=[
            required(),
            Regexp(r"^\d{1,7}$", message="Bitte nur volle Kubikmeter angeben."),
        ],
    )
    changed_on = DateField("Datum des Wechsels", validators=[required()])
