"""Backtesting: the rules' signals against a label field of the indexed events (precision, recall, F1)."""

from dataclasses import dataclass

from django.conf import settings
from elasticsearch_dsl import Q, Search

from analytics.fraud.models import FraudSignal
from analytics.fraud.rules import RULES
from analytics.search import iter_hits


@dataclass(frozen=True)
class Score:
    name: str
    flagged: int
    true_positives: int
    positives: int

    @property
    def precision(self) -> float:
        return self.true_positives / self.flagged if self.flagged else 0.0

    @property
    def recall(self) -> float:
        return self.true_positives / self.positives if self.positives else 0.0

    @property
    def f1(self) -> float:
        total = self.precision + self.recall
        return 2 * self.precision * self.recall / total if total else 0.0


def labels(*, label_field: str, job_id: str | None, owner_id: int | None) -> dict[str, str]:
    """{event id: label, lower-cased} for the events whose label field has a value (empty means unlabelled)."""
    search = Search().filter(Q("exists", field=label_field)).source([label_field])
    if job_id:
        search = search.filter(Q("term", job_id=job_id))
    if owner_id is not None:
        search = search.filter(Q("term", owner=str(owner_id)))
    found = {}
    for hit in iter_hits(search, sort="line"):
        value = hit["_source"].get(label_field)
        if value not in (None, ""):
            found[hit["_id"]] = str(value).strip().lower()
    return found


def evaluate(*, label_field: str, positive: list[str], job_id: str | None = None, owner_id: int | None = None) -> dict:
    """Precision, recall and F1 of each rule and each tier on the labelled events."""
    labelled = labels(label_field=label_field, job_id=job_id, owner_id=owner_id)
    wanted = {value.strip().lower() for value in positive}
    truth = {doc_id: label in wanted for doc_id, label in labelled.items()}
    signals = {signal.doc_id: signal for signal in FraudSignal.objects.filter(doc_id__in=list(truth))}
    positives = sum(truth.values())

    def score(name: str, predicted) -> Score:
        flagged = [doc_id for doc_id in truth if (signal := signals.get(doc_id)) and predicted(signal)]
        return Score(name, len(flagged), sum(truth[doc_id] for doc_id in flagged), positives)

    rules = [score(key, lambda signal, key=key: key in signal.rules) for key in RULES]
    tiers = [
        score("review", lambda signal: signal.score >= settings.FRAUD_REVIEW_SCORE),
        score("high", lambda signal: signal.score >= settings.FRAUD_HIGH_SCORE),
    ]
    values = sorted(set(labelled.values()))
    return {"labelled": len(truth), "positives": positives, "rules": rules, "tiers": tiers, "values": values}
