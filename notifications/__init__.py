"""Notifications: channels (signed webhooks, Slack, email) and deliveries of platform events to them.

What other code may call is `notifications.services.deliveries_create` (see that package's docstring); nothing
outside this app imports it except the alert rules built inside it. The app reads `analytics` and
`ingestion.contract` only, and no other app imports it (tests/config/test_layers.py).
"""
