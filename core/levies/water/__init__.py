"""Water: meters and readings (models, readings, links, cards), plausibility and consumption billing
(rules, guard, assessment) and the bill's snapshot (notice)."""
