"""The fraud pages: the alert queue, an alert with its evidence, and the review actions."""

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from analytics.fraud import selectors, services
from analytics.fraud.forms import RULE_CHOICES, STATUS_CHOICES, TIER_CHOICES, AlertFilterForm
from analytics.fraud.models import FraudAlert
from analytics.fraud.rules import RULES
from config.errors import ApplicationError

PER_PAGE = 25


@login_required
@require_GET
def alert_queue(request: HttpRequest) -> HttpResponse:
    form = AlertFilterForm(request.GET)
    typed = {name: request.GET.get(name, "") for name in form.fields}
    context = {
        "nav": "fraud",
        "typed": {**typed, "status": typed["status"] or FraudAlert.Status.OPEN},
        "statuses": STATUS_CHOICES,
        "tiers": TIER_CHOICES,
        "rules": RULE_CHOICES,
        "rule_titles": {key: rule.title for key, rule in RULES.items()},
        "counts": selectors.alert_counts(user=request.user),
        "described": services.rules_described(),
    }
    if not form.is_valid():
        # Nothing is listed for filters that cannot be read; the form keeps what was typed, to fix it.
        context["errors"] = form.errors_in_words()
        return render(request, "fraud/queue.html", context, status=400)
    alerts = selectors.alert_list(user=request.user, **form.selection())
    page = Paginator(alerts, PER_PAGE).get_page(request.GET.get("page"))
    params = [(name, value) for name, value in request.GET.items() if name != "page" and value]
    uploads = selectors.alert_uploads(alerts=page.object_list, user=request.user)
    context.update({"page": page, "uploads": uploads, "page_params": urlencode(params)})
    return render(request, "fraud/queue.html", context)


def _alert_or_404(request: HttpRequest, alert_id: int) -> FraudAlert:
    try:
        return selectors.alert_get(user=request.user, alert_id=alert_id)
    except ApplicationError as error:
        raise Http404(error.message) from error


def _alert_context(request: HttpRequest, alert: FraudAlert) -> dict:
    return {
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


@login_required
@require_GET
def alert_page(request: HttpRequest, alert_id: int) -> HttpResponse:
    return render(request, "fraud/alert.html", _alert_context(request, _alert_or_404(request, alert_id)))


@login_required
@require_POST
def alert_status(request: HttpRequest, alert_id: int) -> HttpResponse:
    alert = _alert_or_404(request, alert_id)
    chosen, note = request.POST.get("status", ""), request.POST.get("note", "")
    try:
        services.alert_set_status(alert=alert, user=request.user, new_status=chosen, note=note)
    except ApplicationError as error:
        # The form comes back as it was sent (the chosen status, the note typed) with the reason beside it.
        context = {
            **_alert_context(request, alert),
            "review_error": error.message,
            "chosen_status": chosen,
            "note": note,
        }
        return render(request, "fraud/alert.html", context, status=error.status_code)
    messages.success(request, f"Alert marked {alert.get_status_display().lower()}.")
    return redirect("fraud-alert-page", alert_id=alert.pk)
