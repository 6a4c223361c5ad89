"""Payments: card payments through a provider port (card/), SEPA mandates and direct debits (sepa/),
bank statements and their matching (bank/), and the reservations card and SEPA share."""
