"""Log-in in the portal and back office: sessions, throttling, known devices, registration and
account recovery, same-site redirects."""
