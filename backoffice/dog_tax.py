"""Back office for the dog tax: the person's dogs (tax objects) on the person page. The dog-tax
applications are decided in :mod:`backoffice.workflow`, the annual run and the change
assessment of one person are in :mod:`backoffice.levies`."""

from __future__ import annotations

from sqlalchemy import select

from backoffice.persons import person_page_section
from core.levies.dog_tax.models import Dog
from core.persons import models as persons
from portal.database import db


@person_page_section
def dogs_section(person: persons.Person) -> dict[str, object]:
    """The person's dogs, in the order they were registered."""
    dogs = db().scalars(select(Dog).where(Dog.person_id == person.id).order_by(Dog.id))
    return {"dogs": list(dogs)}
