"""Paying in the portal: by card (card.py, provider wired in provider.py) and SEPA mandates
(sepa.py)."""
