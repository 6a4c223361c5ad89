"""Persons (Finanzadressen): the debtors of a municipality with their address history, and
finding them."""
