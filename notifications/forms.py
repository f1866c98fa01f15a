"""The channel form of the notifications page: plain fields read into what the channel services take."""

from django import forms

from notifications import events
from notifications.models import Channel


def headers_from_text(text: str) -> dict[str, str]:
    """ "Name: value" lines into a dict; a line without a colon is a form error."""
    headers = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        name, colon, value = line.partition(":")
        if not colon:
            raise forms.ValidationError(f'Line {number} of the headers needs the form "Name: value".')
        headers[name.strip()] = value.strip()
    return headers


def headers_as_text(headers: dict[str, str]) -> str:
    return "\n".join(f"{name}: {value}" for name, value in headers.items())


class ChannelForm(forms.Form):
    name = forms.CharField(max_length=100)
    kind = forms.ChoiceField(choices=Channel.Kind.choices, initial=Channel.Kind.WEBHOOK)
    url = forms.CharField(
        label="URL", required=False, max_length=2000, help_text="Webhook or Slack incoming-webhook address"
    )
    email = forms.CharField(label="Email address", required=False, max_length=254, help_text="Email channels")
    events = forms.MultipleChoiceField(
        choices=[(value, events.EVENT_LABELS[value]) for value in events.EVENT_TYPES],
        widget=forms.CheckboxSelectMultiple,
        initial=[events.JOB_FAILED, events.FRAUD_ALERT],
    )
    min_tier = forms.ChoiceField(label="Fraud alerts", choices=Channel.Tier.choices, initial=Channel.Tier.HIGH)
    headers = forms.CharField(
        label="Extra headers",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text='Webhooks only: one "Name: value" per line',
    )
    shared = forms.BooleanField(label="Share with everyone (their events come to this channel too)", required=False)

    def __init__(self, *args, user, editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if not user.is_staff:
            del self.fields["shared"]
        if editing:
            # A channel keeps its kind; the page says which it is.
            del self.fields["kind"]

    def clean_headers(self) -> dict[str, str]:
        return headers_from_text(self.cleaned_data.get("headers", ""))

    @staticmethod
    def initial_for(channel: Channel) -> dict:
        return {
            "name": channel.name,
            "url": channel.url,
            "email": channel.email,
            "events": channel.events,
            "min_tier": channel.min_tier,
            "headers": headers_as_text(channel.headers),
            "shared": channel.shared,
        }
