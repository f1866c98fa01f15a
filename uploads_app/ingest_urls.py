"""The ingest endpoints (under /api/). The Elasticsearch-compatible paths are also what the
ingest port (config/ingest_wsgi.py, INGEST_ES_PORT) serves, with /api/ingest/es taken off the front."""

from django.urls import path

from uploads_app import ingest_apis

urlpatterns = [
    path("ingest", ingest_apis.IngestApi.as_view(), name="ingest"),
    path("ingest/es", ingest_apis.EsRootWithoutSlashApi.as_view()),
    path("ingest/es/", ingest_apis.EsRootApi.as_view(), name="ingest-es-root"),
    path("ingest/es/_bulk", ingest_apis.EsBulkApi.as_view(), name="ingest-es-bulk"),
    path("ingest/es/<str:index>/_bulk", ingest_apis.EsIndexBulkApi.as_view(), name="ingest-es-index-bulk"),
    path("ingest/es/_cat/health", ingest_apis.EsCatHealthApi.as_view(), name="ingest-es-cat-health"),
    path("ingest/es/_cluster/health", ingest_apis.EsClusterHealthApi.as_view(), name="ingest-es-cluster-health"),
    path("ingest/es/_license", ingest_apis.EsLicenseApi.as_view(), name="ingest-es-license"),
    path("ingest/es/_xpack", ingest_apis.EsXpackApi.as_view(), name="ingest-es-xpack"),
    path("ingest/es/_nodes", ingest_apis.EsNodesApi.as_view(), name="ingest-es-nodes"),
    path("ingest/es/_nodes/<path:selector>", ingest_apis.EsNodesSelectedApi.as_view(), name="ingest-es-nodes-selected"),
    # Last: any other path under es/ is Elasticsearch's "no handler" 404.
    path("ingest/es/<path:rest>", ingest_apis.EsUnknownApi.as_view(), name="ingest-es-unknown"),
]
