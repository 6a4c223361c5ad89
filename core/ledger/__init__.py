"""The ledger: person accounts, claims (open items), payments, double-entry postings, allocation.

Writing: ``claims`` (post, reduce, cancel), ``receipts`` (incoming payments), ``credit``
(offsetting credit), ``reversals``, ``refunds``, all through ``journal`` on the ``accounts``.
Reading: ``balances`` (sums of postings) and ``queries`` (a person's account). Pure rules:
``allocation`` (§ 225 AO) and ``kinds``. Nothing here imports a layer above the ledger.
"""
