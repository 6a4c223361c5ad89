"""Payments: pure building blocks for paying a claim (EPC QR code / GiroCode, later SEPA files).

Nothing here touches the database or the web framework.
"""
