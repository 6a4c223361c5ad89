"""Property tax (Grundsteuer): the Hebesatz statute and the computation rules (rules), the
Hebesatz simulator for the council (simulate). Pure functions over plain values; the tax
objects and basis notices live in core/levies/basis_notices/."""
