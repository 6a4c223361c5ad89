"""SEPA Core direct debit: mandates, pre-notifications, collection runs and the pain.008 file."""
