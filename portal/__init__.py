"""The citizen portal (Flask application) of OpenKasse."""
