"""Fraud writes: scan an owner's events (one job, or everything), score them, keep alerts; review alerts."""

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field, replace

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from rest_framework import status

from analytics.fraud import scan
from analytics.fraud.documents import index_alerts
from analytics.fraud.models import FraudAlert, FraudAlertChange, FraudRuleSetting, FraudSignal
from analytics.fraud.rules import ENTITIES, RULES, Baselines, Event, Rule, present_fields
from config.errors import ApplicationError

MAX_EVIDENCE = 500
# Below this many events a rule's share of them says little about the data.
NOISY_MIN_EVENTS = 200


@dataclass
class ScanReport:
    owner_id: int
    job_id: str | None
    events: int = 0  # orders and other events scored: an order of several lines counts once
    documents: int = 0  # the indexed documents they stand for
    cancellations: int = 0
    rules: dict[str, dict] = field(default_factory=dict)
    alerts_created: int = 0
    alerts_updated: int = 0


def effective_rules() -> list[Rule]:
    """The rules with the analyst's settings applied (points, thresholds, on/off)."""
    changes = {setting.rule: setting for setting in FraudRuleSetting.objects.all()}
    rules = []
    for rule in RULES.values():
        setting = changes.get(rule.key)
        if setting is None:
            rules.append(rule)
        elif setting.enabled:
            rules.append(replace(rule, points=setting.points, params={**rule.params, **(setting.params or {})}))
    return rules


def tier_of(score: int) -> str | None:
    if score >= settings.FRAUD_HIGH_SCORE:
        return FraudAlert.Tier.HIGH
    if score >= settings.FRAUD_REVIEW_SCORE:
        return FraudAlert.Tier.REVIEW
    return None


def _evaluate(
    events: list[Event], scored_ids: set[str], baselines: Baselines, report: ScanReport
) -> dict[str, dict[str, str]]:
    """Rule hits per scored event: {event id: {rule: why}}; noisy rules keep their hits but score nothing.

    Every rule runs over all loaded events (the context windows), and keeps its hits on the scored ones.
    """
    present = present_fields(events)
    hits: dict[str, dict[str, str]] = defaultdict(dict)
    for rule in effective_rules():
        missing = rule.missing(present)
        if missing:
            report.rules[rule.key] = {
                "fired": 0,
                "points": 0,
                "skipped": f"this data has no {', '.join(missing)} field",
            }
            continue
        fired = {key: why for key, why in rule.check(events, baselines, rule.params).items() if key in scored_ids}
        share = len(fired) / len(scored_ids) if scored_ids else 0
        # A descriptive rule that flags most of enough events describes the data: shown, but scores nothing.
        noisy = rule.may_describe_data and len(scored_ids) >= NOISY_MIN_EVENTS and share > settings.FRAUD_NOISY_SHARE
        report.rules[rule.key] = {
            "fired": len(fired),
            "share": round(share, 4),
            "points": 0 if noisy else rule.points,
            "skipped": f"fires on {share:.0%} of the events, so it describes this data rather than an anomaly"
            if noisy
            else None,
        }
        for event_id, why in fired.items():
            hits[event_id][rule.key] = why
    return hits


def _entity(event: Event) -> tuple[str, str]:
    # An alert is about the customer when the event names one, else the card, else the IP.
    for kind in ENTITIES:
        value = getattr(event, kind)
        if value:
            return kind, value
    return "event", event.id


def _evidence(event: Event, score: int, reasons: dict[str, str]) -> dict:
    return {
        "id": event.id,
        # Every document the event stands for: an order's lines, and its copies in other uploads.
        "ids": list(event.documents),
        "jobs": list(event.jobs),
        "order_id": event.order_id,
        "lines": event.lines,
        "time": event.time.isoformat(),
        "amount": event.amount,
        "currency": event.currency,
        "ip": event.ip,
        "country": event.country,
        "lat": event.located[0] if event.located else None,
        "lon": event.located[1] if event.located else None,
        "score": score,
        "rules": sorted(reasons),
        "reasons": reasons,
    }


def fraud_scan(*, owner_id: int, job_id: str | None = None) -> ScanReport:
    """Score the owner's orders and events (of one job, or all), store each scored document's signal, upsert alerts.

    Re-running is safe: signals are keyed by document id and alerts by owner and entity.
    """
    report = ScanReport(owner_id=owner_id, job_id=job_id)
    fields = scan.choose_fields()
    # Page views and access logs without payments, customers or cards have nothing to screen.
    span = scan.job_span(owner_id, job_id, fields)
    if span is None:
        return report
    loaded = [
        (event, job_id in event.jobs if job_id else span[0] <= event.time <= span[1])
        for event in scan.load_events(owner_id, span, fields)
    ]
    # A cancelled order is not an order: no rule counts it, and the report says how many were set apart.
    events = [event for event, _in_scope in loaded if not event.cancelled]
    scored = [event for event, in_scope in loaded if in_scope and not event.cancelled]
    report.events = len(scored)
    report.documents = sum(len(event.documents) for event in scored)
    report.cancellations = sum(1 for event, in_scope in loaded if in_scope and event.cancelled)
    baselines = scan.baselines(
        owner_id,
        until=span[1],
        days=settings.FRAUD_BASELINE_DAYS,
        fields=fields,
        customers={event.customer for event in events if event.customer},
    )
    hits = _evaluate(events, {event.id for event in scored}, baselines, report)
    points = {key: info["points"] for key, info in report.rules.items()}
    by_id = {event.id: event for event in scored}
    signals, flagged = [], defaultdict(list)
    for event_id, reasons in hits.items():
        event = by_id[event_id]
        score = sum(points.get(rule, 0) for rule in reasons)
        # Each document gets its event's signal: every line of a flagged order is part of it.
        signals.extend(
            FraudSignal(
                doc_id=document,
                owner_id=owner_id,
                job_id=job_id or "",
                time=event.time,
                score=score,
                rules=sorted(reasons),
            )
            for document in event.documents
        )
        if tier_of(score):
            flagged[_entity(event)].append(_evidence(event, score, reasons))
    _store_signals(owner_id, {document for event in scored for document in event.documents}, signals)
    alerts = _upsert_alerts(owner_id, flagged, report)
    index_alerts(alerts)
    return report


def _store_signals(owner_id: int, scored_ids: set[str], signals: list[FraudSignal]) -> None:
    with transaction.atomic():
        FraudSignal.objects.filter(owner_id=owner_id, doc_id__in=scored_ids).exclude(
            doc_id__in=[signal.doc_id for signal in signals]
        ).delete()
        FraudSignal.objects.bulk_create(
            signals,
            batch_size=500,
            update_conflicts=True,
            unique_fields=["doc_id"],
            update_fields=["owner_id", "job_id", "time", "score", "rules"],
        )


def _alert_values(owner_id: int, kind: str, entity: str, items: list[dict], jobs: list[str]) -> dict:
    top = max(item["score"] for item in items)
    rules = sorted({rule for item in items for rule in item["rules"]})
    return {
        "owner_id": owner_id,
        "entity_type": kind,
        "entity": entity[:200],
        "rules": rules,
        "rule_list": "," + ",".join(rules) + ",",
        "score": top,
        "tier": tier_of(top),
        "first_seen": dt.datetime.fromisoformat(items[0]["time"]),
        "last_seen": dt.datetime.fromisoformat(items[-1]["time"]),
        "event_count": len(items),
        "evidence": items[-MAX_EVIDENCE:],
        "job_ids": sorted({*jobs, *(job for item in items for job in item.get("jobs", ()))}),
    }


def _documents(item: dict) -> set[str]:
    # Evidence written before orders were counted once names only its own document.
    return set(item.get("ids") or [item["id"]])


def _merged(old: list[dict], new: list[dict]) -> list[dict]:
    """The evidence with the new items, in time order: a new item replaces any old one about the same documents
    (the same order seen again, or the same event uploaded again)."""
    renewed = set().union(*map(_documents, new))
    return sorted([item for item in old if not _documents(item) & renewed] + new, key=lambda item: item["time"])


def _upsert_alerts(owner_id: int, flagged: dict, report: ScanReport) -> list[FraudAlert]:
    """One alert per entity: new evidence merges into the existing alert, whose review status is kept."""
    alerts = []
    for (kind, entity), evidence in flagged.items():
        key = f"{owner_id}:{kind}:{entity}"[:300]
        # get_or_create: a concurrent scan of the same owner may create the same alert a moment earlier.
        alert, created = FraudAlert.objects.get_or_create(
            key=key, defaults=_alert_values(owner_id, kind, entity, evidence, [])
        )
        if created:
            report.alerts_created += 1
        else:
            values = _alert_values(owner_id, kind, entity, _merged(alert.evidence, evidence), alert.job_ids)
            FraudAlert.objects.filter(pk=alert.pk).update(**values, updated_at=timezone.now())
            alert.refresh_from_db()
            report.alerts_updated += 1
        alerts.append(alert)
    return alerts


def alert_set_status(*, alert: FraudAlert, user: AbstractBaseUser, new_status: str, note: str = "") -> FraudAlert:
    """Move an alert to a review status, recording who did it and why; dismissing needs a note."""
    if new_status not in FraudAlert.Status.values:
        raise ApplicationError(f"status: one of {', '.join(FraudAlert.Status.values)}")
    if new_status == FraudAlert.Status.DISMISSED and not note.strip():
        raise ApplicationError("note: say why the alert is dismissed")
    if new_status == alert.status:
        raise ApplicationError(f"The alert is already {alert.get_status_display().lower()}", status.HTTP_409_CONFLICT)
    with transaction.atomic():
        FraudAlertChange.objects.create(
            alert=alert, from_status=alert.status, to_status=new_status, note=note.strip(), changed_by=user
        )
        alert.status = new_status
        alert.status_note = note.strip()
        alert.status_changed_by = user
        alert.status_changed_at = timezone.now()
        alert.save(update_fields=["status", "status_note", "status_changed_by", "status_changed_at", "updated_at"])
    index_alerts([alert])
    return alert


def rules_described() -> dict:
    """The rules as in force: points, thresholds, what they need; and the tier thresholds."""
    active = {rule.key: rule for rule in effective_rules()}
    return {
        "review_score": settings.FRAUD_REVIEW_SCORE,
        "high_score": settings.FRAUD_HIGH_SCORE,
        "noisy_percent": round(settings.FRAUD_NOISY_SHARE * 100),
        "rules": [
            {
                "key": rule.key,
                "title": rule.title,
                "description": rule.description,
                "enabled": rule.key in active,
                "points": active.get(rule.key, rule).points,
                "params": active.get(rule.key, rule).params,
                "needs": [need.replace("|", " or ") for need in rule.needs],
            }
            for rule in RULES.values()
        ],
    }
