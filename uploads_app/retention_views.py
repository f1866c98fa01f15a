"""The retention settings page: your policy, the staff default, what a run would delete now, and the audit."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from config.errors import ServiceUnavailable
from ingestion.services import retention

LABELS = {
    "upload_events_days": "Keep uploaded files' events (days after upload)",
    "stream_events_days": "Keep streamed events (days, by event day)",
    "files_days": "Keep the uploaded files themselves (days after upload)",
    "dead_letters_days": "Keep rejected rows (days after upload)",
}


class PolicyForm(forms.Form):
    def __init__(self, *args, empty_means: str, **kwargs):
        super().__init__(*args, **kwargs)
        for name, label in LABELS.items():
            self.fields[name] = forms.IntegerField(
                label=label, required=False, min_value=1, max_value=36_500, help_text=f"Empty: {empty_means}."
            )


def _initial(policy: retention.Policy) -> dict:
    return {name: getattr(policy, name) for name in retention.POLICY_FIELDS}


@login_required
@require_http_methods(["GET", "POST"])
def retention_settings(request: HttpRequest) -> HttpResponse:
    default = retention.policy_default()
    own_form = PolicyForm(initial=_initial(retention.policy_own(user=request.user)), empty_means="as the default")
    default_form = PolicyForm(initial=_initial(default), empty_means="keep for ever", prefix="default")
    if request.method == "POST":
        if request.POST.get("scope") == "default":
            if not request.user.is_staff:
                raise PermissionDenied("Only staff set the default policy")
            default_form = PolicyForm(request.POST, empty_means="keep for ever", prefix="default")
            if default_form.is_valid():
                retention.policy_default_update(values=default_form.cleaned_data)
                messages.success(request, "The default retention policy is saved.")
                return redirect("retention-settings")
        else:
            own_form = PolicyForm(request.POST, empty_means="as the default")
            if own_form.is_valid():
                retention.policy_update(user=request.user, values=own_form.cleaned_data)
                messages.success(request, "Your retention policy is saved.")
                return redirect("retention-settings")
    effective = retention.policy_effective(user=request.user)
    context = {
        "nav": "retention",
        "own_fields": [(field, getattr(effective, field.name)) for field in own_form],
        "default_form": default_form,
        **_dry_run(request),
        "runs": retention.retention_runs(limit=10) if request.user.is_staff else [],
    }
    return render(request, "uploads/retention.html", context)


def _dry_run(request: HttpRequest) -> dict:
    owner = None if request.user.is_staff else request.user.pk
    try:
        return {"dry_run": retention.retention_dry_run(owner_id=owner)}
    except ServiceUnavailable:
        return {"dry_run_unavailable": True}
