"""Auszahlungen: a person's credit (Guthaben) paid out to their bank account by SEPA credit
transfer (pain.001), in runs a second person approves."""
