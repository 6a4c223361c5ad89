"""Back office for SEPA direct debit: the collections (runs, pain.008) and the mandates."""
