"""Query builders over the indexed events (elasticsearch-dsl), shared by the analytics APIs and pages.

They read only ingestion's public contract (`ingestion.contract`) and the client from `config`.
"""

from elasticsearch_dsl import Search

from config.es import get_es
from ingestion.contract import events_alias


def events_search() -> Search:
    """A search over every daily index of the events, through their alias (empty before the first one exists)."""
    return Search(using=get_es(), index=events_alias()).params(ignore_unavailable=True)
