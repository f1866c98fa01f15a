"""The alert pages: rules with their state and last run, the rule form with its preview, a rule's run history and
events, and the list of alert events with links into search."""

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from config.errors import ApplicationError
from notifications import selectors
from notifications.models import AlertEvent, AlertRule
from notifications.rule_forms import RuleForm
from notifications.rules import words
from notifications.rules.durations import duration_text
from notifications.services import rules as rule_services
from notifications.services.evaluation import rule_history, rule_terms

RUNS_PER_PAGE = 25
EVENTS_PER_PAGE = 25


def _rule_or_404(request: HttpRequest, rule_id: int) -> AlertRule:
    try:
        return selectors.rule_get(user=request.user, rule_id=rule_id)
    except ApplicationError as error:
        raise Http404(error.message) from error


def describe(rule: AlertRule) -> str:
    """The rule's condition in words, e.g. "at least 50 matching events in 5m"."""
    return words.condition(rule_terms(rule), rule_history(rule))


def search_terms(query: dict) -> list[tuple[str, str]]:
    """The saved search as (parameter, its values) pairs to read: ("status", "404, 503")."""
    return [(name, ", ".join(values) if isinstance(values, list) else values) for name, values in query.items()]


def _rows(rules: list[AlertRule]) -> list[dict]:
    runs = selectors.last_runs(rules)
    return [
        {"rule": rule, "state": selectors.rule_state(rule), "condition": describe(rule), "run": runs.get(rule.pk)}
        for rule in rules
    ]


@login_required
@require_GET
def alerts_page(request: HttpRequest) -> HttpResponse:
    rules = list(selectors.rule_list(user=request.user))
    context = {
        "nav": "alerts",
        "rows": _rows(rules),
        "recent": selectors.alert_event_list(user=request.user)[:10],
    }
    return render(request, "alerts/rules.html", context)


def _shown(preview: dict | None) -> dict | None:
    """A preview with its times as datetimes for the page (the first 200 fired windows listed)."""
    if preview is None:
        return None
    # "values" (per-value counts) is renamed: a template reading item.values would call dict.values().
    rows = [
        {**item, "moment": dt.datetime.fromisoformat(item["at"]), "per_value": item.get("values", {})}
        for item in preview["fired"][:200]
    ]
    start, end = (dt.datetime.fromisoformat(preview[name]) for name in ("from", "to"))
    return {**preview, "rows": rows, "start": start, "end": end}


def _form_page(request: HttpRequest, form: RuleForm, rule: AlertRule | None) -> HttpResponse:
    """Save the rule, or show when it would have fired (Preview), or show the form again with what is wrong."""
    preview = None
    if request.method == "POST" and form.is_valid():
        values = form.values()
        try:
            if "preview" in request.POST:
                fields, _channels = rule_services.rule_checked(owner=request.user, values=values)
                preview = rule_services.rule_preview(owner=request.user, fields=fields, days=form.cleaned_data["days"])
            elif rule is None:
                rule = rule_services.rule_create(owner=request.user, **values)
                messages.success(
                    request, f'Rule "{rule.name}" saved. It is evaluated every {duration_text(rule.every_seconds)}.'
                )
                return redirect("alert-rule-page", rule.pk)
            else:
                rule_services.rule_update(rule=rule, **values)
                messages.success(request, f'Rule "{rule.name}" saved.')
                return redirect("alert-rule-page", rule.pk)
        except ApplicationError as error:
            form.add_error(None, error.message)
    context = {"nav": "alerts", "form": form, "rule": rule, "preview": _shown(preview)}
    return render(request, "alerts/rule_form.html", context, status=400 if form.errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def rule_create(request: HttpRequest) -> HttpResponse:
    form = RuleForm(request.POST if request.method == "POST" else None, user=request.user)
    return _form_page(request, form, None)


@login_required
@require_http_methods(["GET", "POST"])
def rule_edit(request: HttpRequest, rule_id: int) -> HttpResponse:
    rule = _rule_or_404(request, rule_id)
    if request.method == "POST":
        form = RuleForm(request.POST, user=request.user)
    else:
        form = RuleForm(user=request.user, initial=RuleForm.initial_for(rule))
    return _form_page(request, form, rule)


def _days(request: HttpRequest) -> int:
    text = request.GET.get("days", "")
    return int(text) if text.isdigit() and len(text) < 4 else 7


@login_required
@require_GET
def rule_page(request: HttpRequest, rule_id: int) -> HttpResponse:
    rule = _rule_or_404(request, rule_id)
    preview = preview_error = None
    if "preview" in request.GET:
        try:
            preview = rule_services.rule_preview(
                owner=request.user, fields=rule_services.rule_fields(rule), days=_days(request)
            )
        except ApplicationError as error:
            preview_error = error.message
    runs = Paginator(selectors.rule_evaluation_list(rule=rule), RUNS_PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "nav": "alerts",
        "rule": rule,
        "state": selectors.rule_state(rule),
        "condition": describe(rule),
        "settings": rule_services.rule_settings(rule),
        "search_terms": search_terms(rule.query),
        "channels": rule.channels.all(),
        "events": selectors.alert_event_list(user=request.user, rule_id=rule.pk)[:20],
        "runs": runs,
        "preview": _shown(preview),
        "preview_error": preview_error,
        "days": _days(request),
    }
    return render(request, "alerts/rule.html", context)


@login_required
@require_POST
def rule_enable(request: HttpRequest, rule_id: int) -> HttpResponse:
    rule = _rule_or_404(request, rule_id)
    enabled = request.POST.get("enabled") == "true"
    try:
        rule_services.rule_update(rule=rule, enabled=enabled)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        if enabled:
            messages.success(request, f'Rule "{rule.name}" is enabled: its evaluations start again from now.')
        else:
            messages.success(request, f'Rule "{rule.name}" is disabled; its open events are resolved.')
    return redirect("alert-rule-page", rule.pk)


@login_required
@require_http_methods(["GET", "POST"])
def rule_delete(request: HttpRequest, rule_id: int) -> HttpResponse:
    rule = _rule_or_404(request, rule_id)
    if request.method == "POST":
        rule_services.rule_delete(rule=rule)
        messages.success(request, f'Rule "{rule.name}", its runs and its events deleted.')
        return redirect("alerts")
    return render(request, "alerts/rule_delete.html", {"nav": "alerts", "rule": rule})


@login_required
@require_GET
def events_page(request: HttpRequest) -> HttpResponse:
    rules = list(selectors.rule_list(user=request.user))
    rule_id = request.GET.get("rule", "")
    rule_id = int(rule_id) if rule_id.isdigit() and len(rule_id) < 19 else None
    state = request.GET.get("state") if request.GET.get("state") in AlertEvent.State.values else ""
    alert_events = selectors.alert_event_list(user=request.user, rule_id=rule_id, state=state)
    page = Paginator(alert_events, EVENTS_PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "nav": "alerts",
        "page": page,
        "rules": rules,
        "rule_id": rule_id,
        "state": state,
        "states": AlertEvent.State.choices,
    }
    return render(request, "alerts/events.html", context)
