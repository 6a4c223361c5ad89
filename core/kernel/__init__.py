"""The kernel every area builds on: database base and column types, money, months, clock, errors,
references, signed tokens, audit trail, document archive, PDF rendering, GiroCode, the e-mail
outbox."""
