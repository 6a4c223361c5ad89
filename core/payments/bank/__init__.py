"""Bank files in: camt.053/.054 statements and pain.002 status reports, parsed, matched to open
items, booked, and the clerks' queue for what could not be matched."""
