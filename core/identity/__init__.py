"""Identity: log-in accounts of citizens, businesses and staff, the password rules, self-
registration, e-mailed account links and the counts behind log-in throttling."""
