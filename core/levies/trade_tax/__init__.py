"""Trade tax (Gewerbesteuer): the Hebesatz statute, advance payments, the final settlement and
§ 233a AO interest (rules). Pure functions over plain values; the businesses and basis notices
live in core/levies/basis_notices/."""
