"""Water metering in the portal: the reading card's page (views) and the forms (also the
clerk's)."""
