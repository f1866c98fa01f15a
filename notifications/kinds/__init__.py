"""One module per channel kind, each with `send(*, channel, delivery, now) -> Answer`."""

from notifications.kinds import email, slack, webhook

SENDERS = {"webhook": webhook.send, "slack": slack.send, "email": email.send}
