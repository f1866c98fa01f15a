"""WSGI entry point of the ingest port (INGEST_ES_PORT, 9201): the Elasticsearch-compatible endpoints at its root.

For shippers that take a host and port but no URL path (rsyslog's omelasticsearch): `/_bulk` here is
`/api/ingest/es/_bulk` of the app, served by the same code. Every path is taken under that prefix, so nothing
else of the app (pages, the rest of the API, the admin) is reachable on this port.
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
PREFIX = "/api/ingest/es"
_app = get_wsgi_application()


def application(environ: dict, start_response):
    environ["PATH_INFO"] = PREFIX + (environ.get("PATH_INFO") or "/")
    return _app(environ, start_response)
