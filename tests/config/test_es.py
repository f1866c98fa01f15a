"""The Elasticsearch client built from ELASTICSEARCH_URL (pure construction: no request is sent)."""

from base64 import b64encode

from django.test import override_settings

from config.es import get_es


@override_settings(ELASTICSEARCH_URL="http://elastic:p%40ss-w0rd_x@elasticsearch:9200")
def test_credentials_in_the_url_are_sent_as_basic_auth():
    node = get_es().transport.node_pool.get().config

    assert (node.scheme, node.host, node.port) == ("http", "elasticsearch", 9200)
    assert node.headers["authorization"] == "Basic " + b64encode(b"elastic:p@ss-w0rd_x").decode()


@override_settings(ELASTICSEARCH_URL="http://127.0.0.1:9200")
def test_a_url_without_credentials_sends_none():
    assert "authorization" not in get_es().transport.node_pool.get().config.headers
