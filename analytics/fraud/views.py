"""The fraud pages: the alert queue, an alert with its evidence, and the review actions."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from analytics.fraud import selectors, services
from analytics.fraud.models import FraudAlert
from analytics.fraud.rules import RULES
from config.errors import ApplicationError

PER_PAGE = 25


@login_required
@require_GET
def alert_queue(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "open")
    status = status if status in FraudAlert.Status.values or status == "all" else "open"
    tier = request.GET.get("tier") if request.GET.get("tier") in FraudAlert.Tier.values else None
    rule = request.GET.get("rule") if request.GET.get("rule") in RULES else None
    entity = request.GET.get("entity", "").strip()[:200]
    alerts = selectors.alert_list(
        user=request.user, status_filter=None if status == "all" else status, tier=tier, rule=rule, entity=entity
    )
    page = Paginator(alerts, PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "nav": "fraud",
        "page": page,
        "uploads": selectors.alert_uploads(alerts=page.object_list, user=request.user),
        "status": status,
        "tier": tier or "",
        "rule": rule or "",
        "entity": entity,
        "statuses": FraudAlert.Status.choices,
        "tiers": FraudAlert.Tier.choices,
        "rules": RULES,
        "rule_titles": {key: rule.title for key, rule in RULES.items()},
        "counts": selectors.alert_counts(user=request.user),
        "described": services.rules_described(),
    }
    return render(request, "fraud/queue.html", context)


def _alert_or_404(request: HttpRequest, alert_id: int) -> FraudAlert:
    try:
        return selectors.alert_get(user=request.user, alert_id=alert_id)
    except ApplicationError as error:
        raise Http404(error.message) from error


@login_required
@require_GET
def alert_page(request: HttpRequest, alert_id: int) -> HttpResponse:
    alert = _alert_or_404(request, alert_id)
    context = {
        "nav": "fraud",
        "alert": alert,
        "uploads": selectors.alert_uploads(alerts=[alert], user=request.user),
        "rule_titles": {key: rule.title for key, rule in RULES.items()},
        "changes": alert.changes.select_related("changed_by"),
        "statuses": FraudAlert.Status.choices,
        "chart_points": [
            {
                "time": item["time"],
                "amount": item["amount"],
                "currency": item.get("currency"),
                "lat": item["lat"],
                "lon": item["lon"],
                "score": item["score"],
            }
            for item in alert.evidence
        ],
    }
    return render(request, "fraud/alert.html", context)


@login_required
@require_POST
def alert_status(request: HttpRequest, alert_id: int) -> HttpResponse:
    alert = _alert_or_404(request, alert_id)
    try:
        services.alert_set_status(
            alert=alert, user=request.user, new_status=request.POST.get("status", ""), note=request.POST.get("note", "")
        )
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"Alert marked {alert.get_status_display().lower()}.")
    return redirect("fraud-alert-page", alert_id=alert.pk)
