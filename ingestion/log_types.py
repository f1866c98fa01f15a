"""Guessing the kind of log a file holds from its field names alone."""

from collections.abc import Iterable

from ingestion.field_names import normalize_name


def guess_log_type(fields: Iterable[str]) -> str:
    """A label for the kind of log, from its field names alone."""
    names = {normalize_name(field) for field in fields}
    if names & {"eventlabel", "cardbin", "transactionid", "transactionamount", "cardnumber", "isfraud"}:
        return "transaction"
    if names & {"orderid", "invoiceno", "invoice", "invoicenumber", "ordernumber", "products"}:
        return "order"
    requested = names & {"request", "response", "status", "statuscode", "method", "verb"}
    client = names & {"url", "clientip", "agent", "useragent", "remoteaddr", "uri", "path", "referer", "referrer"}
    if requested and client:
        return "access"
    if names & {"error", "exception", "level", "loglevel", "severity", "stack", "stacktrace", "traceback"}:
        return "error"
    viewed = names & {"page", "pageurl", "url", "referrer", "referer", "pagepath"}
    if viewed and any("session" in name for name in names):
        return "page_view"
    return "event"


# The labels guess_log_type gives, as people read them.
LOG_TYPE_LABELS = {
    "transaction": "Transactions",
    "order": "Orders",
    "page_view": "Page views",
    "error": "Errors",
    "access": "Web access logs",
    "event": "Other events",
}
