"""Notices (Bescheide): the record of an assessment as issued, its PDF, and the instalment
periods."""
