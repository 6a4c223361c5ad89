"""Card payments: the provider port and its Stripe adapter, attempts and settlement (booked exactly
once), surplus refunds and clerks' refunds with four-eyes limits."""
