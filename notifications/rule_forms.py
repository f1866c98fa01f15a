"""The alert rule form: the saved search as the search page asks it, the type's settings, schedule and channels,
read into the settings the rule services take."""

import re

from django import forms

from ingestion.contract import LOG_TYPE_LABELS
from notifications.models import AlertRule, Channel
from notifications.services.rules import PREVIEW_DAYS, rule_settings

# Filters with a box of their own; any other field goes on a "field=value" line.
OWN_BOXES = ("q", "log_type", "status", "country")


def _split(text: str) -> list[str]:
    """ "404, 503" or "404 503" -> ["404", "503"]."""
    return [item for item in re.split(r"[\s,]+", text.strip()) if item]


def filters_from_text(text: str) -> dict[str, list[str]]:
    """ "field=value" lines into {field: [values]}; a line without "=" is a form error."""
    filters: dict[str, list[str]] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        name, equals, value = line.partition("=")
        if not equals or not name.strip() or not value.strip():
            raise forms.ValidationError(f'Line {number} of the other filters needs the form "field=value".')
        filters.setdefault(name.strip(), []).append(value.strip())
    return filters


class RuleForm(forms.Form):
    name = forms.CharField(max_length=100)
    q = forms.CharField(label="Search", required=False, max_length=1000)
    log_type = forms.ChoiceField(label="Log type", required=False)
    status = forms.CharField(label="HTTP status", required=False, max_length=200)
    country = forms.CharField(label="Country", required=False, max_length=200)
    filters = forms.CharField(label="Other filters", required=False, widget=forms.Textarea(attrs={"rows": 2}))
    type = forms.ChoiceField(label="Rule type", choices=AlertRule.Type.choices, initial=AlertRule.Type.FREQUENCY)
    window = forms.CharField(label="Window", max_length=20, initial="5m")
    threshold = forms.CharField(label="Threshold", required=False, max_length=30)
    field = forms.CharField(label="Field", required=False, max_length=200)
    metric = forms.ChoiceField(label="Metric", required=False, choices=AlertRule.Metric.choices, initial="sum")
    metric_direction = forms.ChoiceField(
        label="Fires when the metric is",
        required=False,
        choices=[(AlertRule.Direction.ABOVE, "At or above the threshold"), (AlertRule.Direction.BELOW, "Below it")],
    )
    ratio = forms.CharField(label="Ratio", required=False, max_length=30)
    spike_direction = forms.ChoiceField(
        label="Direction",
        required=False,
        choices=[
            (AlertRule.Direction.BOTH, "Either way"),
            (AlertRule.Direction.UP, "Up (more)"),
            (AlertRule.Direction.DOWN, "Down (fewer)"),
        ],
    )
    history = forms.CharField(label="Unseen for", required=False, max_length=20, initial="30d")
    series = forms.CharField(label="Series", required=False, max_length=210, initial="count")
    sensitivity = forms.ChoiceField(
        label="Sensitivity", required=False, choices=AlertRule.Sensitivity.choices, initial="medium"
    )
    every = forms.CharField(label="Evaluate every", max_length=20, initial="1m")
    realert = forms.CharField(label="Tell again while firing, every", max_length=20, initial="0")
    channels = forms.MultipleChoiceField(label="Channels", required=False, widget=forms.CheckboxSelectMultiple)
    notify_resolved = forms.BooleanField(label="Also tell when it resolves", required=False, initial=True)
    enabled = forms.BooleanField(label="Enabled", required=False, initial=True)
    days = forms.IntegerField(
        label="Preview over the last", min_value=PREVIEW_DAYS[0], max_value=PREVIEW_DAYS[1], initial=7
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["log_type"].choices = [("", "Any"), *LOG_TYPE_LABELS.items()]
        self.owned_channels = list(Channel.objects.filter(owner=user))
        self.fields["channels"].choices = [(str(channel.pk), channel.name) for channel in self.owned_channels]

    def clean_filters(self) -> dict[str, list[str]]:
        return filters_from_text(self.cleaned_data.get("filters", ""))

    def query(self) -> dict:
        """The saved search, as /api/search's parameters."""
        data = self.cleaned_data
        query = {"q": data["q"]} if data["q"].strip() else {}
        if data["log_type"]:
            query["log_type"] = [data["log_type"]]
        for name in ("status", "country"):
            if _split(data[name]):
                query[name] = _split(data[name])
        for name, values in data["filters"].items():
            query.setdefault(name, []).extend(values)
        return query

    def values(self) -> dict:
        """The settings as the rule services take them."""
        data = self.cleaned_data
        kind = data["type"]
        return {
            "name": data["name"],
            "type": kind,
            "query": self.query(),
            "window": data["window"],
            "every": data["every"],
            "threshold": data["threshold"].strip() or None,
            "field": data["field"],
            "metric": data["metric"] if kind == AlertRule.Type.METRIC else "",
            "direction": data["spike_direction"] if kind == AlertRule.Type.SPIKE else data["metric_direction"],
            "ratio": data["ratio"].strip() or None,
            "history": data["history"],
            "series": data["series"] if kind == AlertRule.Type.ANOMALY else "",
            "sensitivity": data["sensitivity"] if kind == AlertRule.Type.ANOMALY else "",
            "channels": [int(pk) for pk in data["channels"]],
            "realert": data["realert"],
            "notify_resolved": data["notify_resolved"],
            "enabled": data["enabled"],
        }

    @staticmethod
    def initial_for(rule: AlertRule) -> dict:
        settings = rule_settings(rule)
        query = dict(settings["query"])
        # The log type box holds one; several go on lines like any other filter.
        boxed = OWN_BOXES if len(query.get("log_type", [])) <= 1 else tuple(set(OWN_BOXES) - {"log_type"})
        others = {name: values for name, values in query.items() if name not in boxed}

        def number(value: float | None) -> str:
            return "" if value is None else f"{value:g}"

        return {
            **settings,
            "q": query.get("q", ""),
            "log_type": (query.get("log_type") or [""])[0] if "log_type" in boxed else "",
            "status": ", ".join(query.get("status", [])),
            "country": ", ".join(query.get("country", [])),
            "filters": "\n".join(f"{name}={value}" for name, values in others.items() for value in values),
            "threshold": number(rule.threshold),
            "ratio": number(rule.ratio),
            "metric_direction": rule.direction if rule.type == AlertRule.Type.METRIC else "above",
            "spike_direction": rule.direction if rule.type == AlertRule.Type.SPIKE else "both",
            "history": settings["history"] or "30d",
            "series": settings["series"] or "count",
            "sensitivity": settings["sensitivity"] or "medium",
            "channels": [str(pk) for pk in settings["channels"]],
            "days": 7,
        }
