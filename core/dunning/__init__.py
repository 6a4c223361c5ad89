"""Dunning (Mahnwesen): Säumniszuschläge (surcharges), Mahngebühren as selectable fee models
(fees), the municipality's dunning procedure as statute data and the step rule of a run
(procedure). Pure rules first; runs, blocks, letters and enforcement build on them (issue #13)."""
