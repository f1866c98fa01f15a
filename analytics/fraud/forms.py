"""The alert queue's filter form: what a reviewer picks or types, each mistake explained in a sentence."""

import datetime as dt

from django import forms

from analytics.fraud.models import FraudAlert
from analytics.fraud.rules import RULES

ANY_STATUS = "all"
STATUS_CHOICES = [(ANY_STATUS, "Any"), *FraudAlert.Status.choices]
TIER_CHOICES = [("", "Any"), *FraudAlert.Tier.choices]
RULE_CHOICES = [("", "Any"), *((key, rule.title) for key, rule in RULES.items())]


def _choose_from(label: str, choices: list[tuple[str, str]]) -> dict[str, str]:
    names = ", ".join(name for _value, name in choices)
    return {"invalid_choice": f"{label}: '%(value)s' is not one of {names}"}


class AlertFilterForm(forms.Form):
    status = forms.ChoiceField(
        choices=STATUS_CHOICES, required=False, error_messages=_choose_from("Status", STATUS_CHOICES)
    )
    tier = forms.ChoiceField(choices=TIER_CHOICES, required=False, error_messages=_choose_from("Tier", TIER_CHOICES))
    rule = forms.ChoiceField(choices=RULE_CHOICES, required=False, error_messages=_choose_from("Rule", RULE_CHOICES))
    entity = forms.CharField(
        required=False,
        max_length=200,
        error_messages={"max_length": "Customer, card or IP: at most %(limit_value)d characters"},
    )
    since = forms.DateField(required=False, error_messages={"invalid": "Seen from: write a date such as 2024-05-01"})
    until = forms.DateField(required=False, error_messages={"invalid": "Seen until: write a date such as 2024-05-31"})

    def clean(self) -> dict:
        cleaned = super().clean()
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and until < since:
            raise forms.ValidationError(f"Seen until ({until}) is before seen from ({since}): swap the two dates")
        return cleaned

    def errors_in_words(self) -> list[str]:
        return [message for messages in self.errors.values() for message in messages]

    def selection(self) -> dict:
        """The alert_list filters of a valid form; no status means the open alerts, as the queue opens."""
        data = self.cleaned_data
        status = data["status"] or FraudAlert.Status.OPEN
        return {
            "status_filter": None if status == ANY_STATUS else status,
            "tier": data["tier"] or None,
            "rule": data["rule"] or None,
            "entity": data["entity"],
            "since": _utc(data["since"], dt.time.min),
            "until": _utc(data["until"], dt.time.max),  # the whole of the last day
        }


def _utc(day: dt.date | None, moment: dt.time) -> dt.datetime | None:
    return dt.datetime.combine(day, moment, tzinfo=dt.UTC) if day else None
