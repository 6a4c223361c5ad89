"""The WSGI entry point for a production server: ``openkasse serve`` (gunicorn,
portal/cli/serve.py) loads it in every worker; any other WSGI server takes ``portal.wsgi:app``.

Configuration comes from the environment (portal/config.py); the app factory puts the
log-redacting filter on gunicorn's access and error loggers as well.
"""

from portal.app import create_app

app = create_app()
