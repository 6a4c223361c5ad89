"""Retention (Aufbewahrung und Löschung): periods as statute data, legal holds, and the
retention run that deletes or anonymises what is past its period (docs/RETENTION.md)."""
