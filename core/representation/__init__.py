"""Representation: who may act for a person — an organisation's representatives (Vertreter) and
powers of attorney (Vollmachten) — and what they may do (core.representation.access)."""
