"""Property tax (Grundsteuer): the Hebesatz statute and the computation rules (rules), the
payments per due date after a notice (payments), the levy of the pipeline (assessment, reading
the plots: plots), its notice (notice), the change assessments after new basis notices
(changes), and the Hebesatz simulator for the council (simulate). The tax objects and basis
notices live in core/levies/basis_notices/."""
