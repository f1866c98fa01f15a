"""The fault tests run last; they start from a small Elasticsearch, so each restart they cause is quick."""

import re

import pytest
from django.conf import settings

from config.es import get_es
from tests.faults import figures


@pytest.fixture(scope="module", autouse=True)
def few_daily_indices():
    """Drop the daily indices earlier tests left (hundreds of them slow an Elasticsearch restart)."""
    es = get_es()
    daily = re.compile(rf"{re.escape(settings.LOGS_INDEX_PREFIX)}-\d{{4}}\.\d{{2}}\.\d{{2}}")
    names = [name for name in es.indices.get(index=f"{settings.LOGS_INDEX_PREFIX}-*") if daily.fullmatch(name)]
    for start in range(0, len(names), 50):  # index names go in the URL, which has a length limit
        es.indices.delete(index=",".join(names[start : start + 50]))


@pytest.fixture(scope="session", autouse=True)
def fresh_figures():
    figures.start()
