"""Tenancy: the municipalities one deployment serves, their number sequences, and their statutes as
effective-dated data ("law as data")."""
