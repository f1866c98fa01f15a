"""Template filters for the read-side pages."""

from django import template

register = template.Library()


@register.filter
def get_item(mapping: dict, key: str) -> object:
    """mapping[key] for keys a template cannot spell (`@timestamp`, `geo.country_iso_code`)."""
    return mapping.get(key) if isinstance(mapping, dict) else None


@register.filter
def money(value: float | None, currency: str | None = None) -> str:
    """1,234.50, or 1,234.50 EUR when the currency is known: an amount is never shown without it."""
    if value is None:
        return "—"
    return f"{value:,.2f} {currency}" if currency else f"{value:,.2f}"


@register.filter
def percent(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f} %"


@register.filter
def currency_label(code: str | None) -> str:
    """A currency as the figures name it: events with no currency column stand in a group of their own."""
    return code or "no currency stated"
