"""Notification services. The one entry point for code that has something to tell is `deliveries_create`:

    from notifications.services import deliveries_create

    deliveries_create(
        owner_id=rule.owner_id,              # whose event it is (their channels, plus staff-shared ones, hear it)
        event_type="rule.fired",             # one of notifications.events.EVENT_TYPES (contract):
                                             #   job.completed, job.completed_with_errors, job.failed,
                                             #   fraud.alert, rule.fired, rule.resolved
        data={"rule_id": 7, "summary": "404 burst: 57 events in 5 m", "url": "https://.../alerts/7/", ...},
        channel_ids=[3, 4],                  # optional: only these (still only enabled, subscribed, visible ones)
        key="rule:7:event:42:fired",         # optional idempotency key: a channel never gets a key twice
        at=event_time,                       # optional: the body's "timestamp" (default: now)
    ) -> list[Delivery]                      # the deliveries it created (none for a key already used)

- It creates one `Delivery` per enabled channel of the owner (or shared by staff) whose `events` include
  `event_type` (for `fraud.alert`, also at or above the channel's `min_tier`, from `data["tier"]`), and
  queues each to be sent once the surrounding transaction commits. An unknown event type is a ValueError.
- `data` must be JSON-serialisable (datetimes become ISO 8601). Webhooks receive it verbatim as
  `{"type": event_type, "timestamp": at, "data": data}`, signed per Standard Webhooks; the
  same bytes and the same `webhook-id` on every retry and resend. Slack and email show a title, lines and a
  link: for event types `notifications.messages` does not know (rule events), from `data["summary"]` (one
  sentence), `data.get("lines", [])` and `data["url"]` (absolute; `settings.SITE_URL` + the page path).
- Sending is retried with backoff (NOTIFICATIONS_RETRY_DELAYS) by Celery tasks; callers never wait for it.

The other modules here: `channels` (channel CRUD, secret rotation, disabling), `deliveries` (create, the
claimed attempt, resend, test), `sources` (job events from ingestion's outbox, fraud alerts from analytics).
"""

from notifications.services.deliveries import deliveries_create

__all__ = ["deliveries_create"]
