"""Waste fees (Abfallgebühren): properties, bins and work orders (models), the fee table (rules),
the levy (assessment), the online services for bins (services)."""
