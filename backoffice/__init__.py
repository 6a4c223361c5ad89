"""The back office (Flask blueprint under /backoffice/) for municipal clerks.

One module per area, named as in ``core/`` (identity, persons, workflow, levies, dog_tax, waste,
water, payments/{card,sepa,bank}); each adds its routes to the one blueprint of
:mod:`backoffice.blueprint`, so no area imports another for its views; :mod:`backoffice.areas`
assembles them. Every query is limited to the clerk's own municipality.
"""
