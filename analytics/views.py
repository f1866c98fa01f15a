"""Search, analytics, dashboard and fraud pages (filled by the read-side issues)."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

TITLES = {"search": "Search", "analytics": "Analytics", "dashboard": "Dashboard", "fraud": "Fraud alerts"}


@login_required
@require_GET
def coming_soon(request: HttpRequest, page: str) -> HttpResponse:
    return render(request, "analytics/coming_soon.html", {"nav": page, "title": TITLES[page]})
