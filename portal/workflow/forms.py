"""The forms of the application pipeline: the citizen's answer to a clerk's question, the
clerk's decision and the review criteria."""

from __future__ import annotations

from wtforms import SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import Length, Optional, Regexp

from core.workflow import review
from portal.form_fields import GermanForm, required


class AnswerForm(GermanForm):
    answer = TextAreaField(
        "Ihre Antwort",
        description=f"Höchstens {review.MAX_ANSWER_LENGTH} Zeichen.",
        validators=[
            required("Bitte geben Sie Ihre Antwort ein."),
            Length(
                max=review.MAX_ANSWER_LENGTH,
                message=(
                    f"Ihre Antwort darf höchstens {review.MAX_ANSWER_LENGTH} Zeichen lang sein."
                ),
            ),
        ],
        render_kw={"rows": 6},
    )


class DecisionForm(GermanForm):
    message = TextAreaField(
        "Begründung oder Rückfrage an die antragstellende Person",
        validators=[Optional(), Length(max=1000)],
    )


class CriterionForm(GermanForm):
    enabled = SelectField("Aktiv", choices=[SelectChoice("1", "ja"), SelectChoice("0", "nein")])
    parameter = StringField(
        "Wert (Monate)",
        validators=[Optional(), Regexp(r"^\d{1,3}$", message="Bitte eine ganze Zahl angeben.")],
    )
