"""Back office for payments: card refunds (card.py), SEPA (sepa/), bank statements (bank.py)."""
