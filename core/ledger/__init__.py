"""The ledger: person accounts, claims (open items), payments, double-entry postings, allocation."""
