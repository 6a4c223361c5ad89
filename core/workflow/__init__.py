"""Workflow: applications from the portal, review criteria as data, clerks' decisions, the daily
limit, and the one application pipeline online services plug into."""
