"""Query builders over the indexed events (elasticsearch-dsl), shared by the analytics APIs and pages.

They read only ingestion's document contract (`ingestion.documents`) and the client from `config`.
"""

from elasticsearch_dsl import Search

from config.es import get_es
from ingestion.documents import events_alias


def events_search() -> Search:
    """A search over every daily index of the events, through their alias."""
    return Search(using=get_es(), index=events_alias())
