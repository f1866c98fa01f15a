"""The notifications pages: channels (add, change, test, rotate, delete) and the delivery log with resend."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from config.errors import ApplicationError
from notifications import events, selectors
from notifications.forms import ChannelForm
from notifications.models import Channel, Delivery
from notifications.services import channels as channel_services
from notifications.services import deliveries as delivery_services

PER_PAGE = 25
# The session key holding a secret to show once, on the next channels page.
SECRET_TO_SHOW = "notifications_new_secret"  # noqa: S105 (a session key)
DELIVERY_LOG = "/notifications/deliveries/"


def _channel_or_404(request: HttpRequest, channel_id: int) -> Channel:
    try:
        return selectors.channel_get(user=request.user, channel_id=channel_id)
    except ApplicationError as error:
        raise Http404(error.message) from error


def _show_secret_once(request: HttpRequest, channel: Channel, message: str) -> None:
    request.session[SECRET_TO_SHOW] = {"channel": channel.name, "secret": channel.secret, "message": message}


def _channels_page(request: HttpRequest, form: ChannelForm, status: int = 200) -> HttpResponse:
    channels = selectors.channel_list(user=request.user)
    context = {
        "nav": "notifications",
        "channels": channels,
        "disabled": [channel for channel in channels if not channel.enabled and channel.disabled_reason],
        "shared_with_me": selectors.channels_shared_with(user=request.user),
        "new_secret": request.session.pop(SECRET_TO_SHOW, None),
        "form": form,
        "event_labels": events.EVENT_LABELS,
    }
    return render(request, "notifications/channels.html", context, status=status)


@login_required
@require_GET
def channel_list(request: HttpRequest) -> HttpResponse:
    return _channels_page(request, ChannelForm(user=request.user))


def _form_values(form: ChannelForm) -> dict:
    values = dict(form.cleaned_data)
    values.setdefault("shared", False)
    return values


@login_required
@require_POST
def channel_create(request: HttpRequest) -> HttpResponse:
    form = ChannelForm(request.POST, user=request.user)
    if form.is_valid():
        try:
            channel = channel_services.channel_create(owner=request.user, **_form_values(form))
        except ApplicationError as error:
            form.add_error(None, error.message)
        else:
            if channel.kind == Channel.Kind.WEBHOOK:
                _show_secret_once(
                    request, channel, "Channel added. Copy its signing secret now: it is shown only once."
                )
            else:
                messages.success(request, f'Channel "{channel.name}" added.')
            return redirect("notifications")
    return _channels_page(request, form, status=400)


@login_required
@require_http_methods(["GET", "POST"])
def channel_edit(request: HttpRequest, channel_id: int) -> HttpResponse:
    channel = _channel_or_404(request, channel_id)
    form = ChannelForm(user=request.user, editing=True, initial=ChannelForm.initial_for(channel))
    if request.method == "POST":
        form = ChannelForm(request.POST, user=request.user, editing=True)
        if form.is_valid():
            try:
                channel_services.channel_update(channel=channel, user=request.user, **form.cleaned_data)
            except ApplicationError as error:
                form.add_error(None, error.message)
            else:
                messages.success(request, f'Channel "{channel.name}" saved.')
                return redirect("notifications")
    context = {"nav": "notifications", "channel": channel, "form": form}
    return render(request, "notifications/channel_edit.html", context, status=400 if form.errors else 200)


@login_required
@require_POST
def channel_test(request: HttpRequest, channel_id: int) -> HttpResponse:
    channel = _channel_or_404(request, channel_id)
    try:
        delivery_services.delivery_test(channel=channel)
    except ApplicationError as error:
        messages.error(request, error.message)
        return redirect("notifications")
    messages.success(request, f'Test sent to "{channel.name}". Its delivery is at the top of the log.')
    return redirect(f"{DELIVERY_LOG}?channel={channel.pk}")


@login_required
@require_POST
def channel_rotate_secret(request: HttpRequest, channel_id: int) -> HttpResponse:
    channel = _channel_or_404(request, channel_id)
    try:
        channel_services.channel_rotate_secret(channel=channel)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        _show_secret_once(
            request,
            channel,
            "New signing secret. Copy it now: it is shown only once. The previous one keeps signing for 24 hours.",
        )
    return redirect("notifications")


@login_required
@require_POST
def channel_enable(request: HttpRequest, channel_id: int) -> HttpResponse:
    channel = _channel_or_404(request, channel_id)
    channel_services.channel_update(channel=channel, user=request.user, enabled=True)
    messages.success(request, f'Channel "{channel.name}" is enabled again.')
    return redirect("notifications")


@login_required
@require_http_methods(["GET", "POST"])
def channel_delete(request: HttpRequest, channel_id: int) -> HttpResponse:
    channel = _channel_or_404(request, channel_id)
    if request.method == "POST":
        channel_services.channel_delete(channel=channel)
        messages.success(request, f'Channel "{channel.name}" and its delivery log deleted.')
        return redirect("notifications")
    return render(request, "notifications/channel_delete.html", {"nav": "notifications", "channel": channel})


@login_required
@require_GET
def delivery_log(request: HttpRequest) -> HttpResponse:
    channels = selectors.channel_list(user=request.user)
    channel_id = request.GET.get("channel", "")
    channel_id = int(channel_id) if channel_id.isdigit() and len(channel_id) < 19 else None
    state = request.GET.get("state") if request.GET.get("state") in Delivery.State.values else ""
    deliveries = selectors.delivery_list(user=request.user, channel_id=channel_id, state=state)
    page = Paginator(deliveries.prefetch_related("attempt_log"), PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "nav": "notifications",
        "page": page,
        # While a delivery on this page is being sent, the log refreshes itself (htmx) until it settles.
        "any_pending": any(delivery.state == Delivery.State.PENDING for delivery in page.object_list),
        "channels": channels,
        "channel_id": channel_id,
        "state": state,
        "states": Delivery.State.choices,
        "event_labels": events.EVENT_LABELS,
    }
    return render(request, "notifications/deliveries.html", context)


@login_required
@require_POST
def delivery_resend(request: HttpRequest, delivery_id: int) -> HttpResponse:
    try:
        delivery = selectors.delivery_get(user=request.user, delivery_id=delivery_id)
    except ApplicationError as error:
        raise Http404(error.message) from error
    try:
        delivery_services.delivery_resend(delivery=delivery)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "Sent again: a new series of attempts, with the same webhook-id.")
    # Back to the same page of the log (only ever a path of the log itself: no redirect elsewhere).
    back = request.POST.get("next", "")
    return redirect(back if back.startswith(DELIVERY_LOG) else DELIVERY_LOG)
