"""The back office (Flask blueprint under /backoffice/) for municipal clerks."""
