"""Widerspruch online: objections against a notice, their deadline and the suspension block."""
