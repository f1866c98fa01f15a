"""deliveries_create, the entry point for anything that notifies: which channels hear an event, and only once."""

import pytest

from notifications.models import Channel
from notifications.services import deliveries_create
from tests.conftest import fresh_user_id

pytestmark = pytest.mark.django_db

ALERT = {"alert_id": 41, "entity_type": "customer", "entity": "C1042", "score": 7, "rules": ["velocity"]}


@pytest.fixture
def ana(django_user_model):
    return django_user_model.objects.create_user(id=fresh_user_id(), username="ana")


@pytest.fixture
def olga(django_user_model):
    return django_user_model.objects.create_user(id=fresh_user_id(), username="olga", is_staff=True)


def a_channel(owner, name: str, events: list[str], **fields) -> Channel:
    values = {"kind": "webhook", "url": "http://127.0.0.1:9/hook", "secret": "whsec_" + "a" * 44}
    return Channel.objects.create(owner=owner, name=name, events=events, **{**values, **fields})


def names(deliveries) -> list[str]:
    return sorted(delivery.channel.name for delivery in deliveries)


def test_only_the_owners_enabled_channels_subscribed_to_the_event_hear_it(ana, django_user_model):
    bruno = django_user_model.objects.create_user(id=fresh_user_id(), username="bruno")
    a_channel(ana, "failures", ["job.failed"])
    a_channel(ana, "everything", ["job.completed", "job.failed"])
    a_channel(ana, "switched off", ["job.failed"], enabled=False)
    a_channel(bruno, "bruno's", ["job.failed"])

    created = deliveries_create(owner_id=ana.pk, event_type="job.failed", data={"job_id": "5f1c"})

    assert names(created) == ["everything", "failures"]
    assert {delivery.state for delivery in created} == {"pending"}
    assert {delivery.event_owner_id for delivery in created} == {ana.pk}


def test_a_channel_shared_by_staff_hears_everyones_events(ana, olga):
    a_channel(olga, "ops room", ["job.failed"], shared=True)
    a_channel(olga, "olga's own", ["job.failed"])

    created = deliveries_create(owner_id=ana.pk, event_type="job.failed", data={"job_id": "5f1c"})

    assert names(created) == ["ops room"]
    assert created[0].event_owner_id == ana.pk


def test_fraud_alerts_reach_channels_at_or_below_the_alerts_tier(ana):
    a_channel(ana, "review and up", ["fraud.alert"], min_tier="review")
    a_channel(ana, "high only", ["fraud.alert"], min_tier="high")

    review = deliveries_create(owner_id=ana.pk, event_type="fraud.alert", data={**ALERT, "tier": "review"})
    high = deliveries_create(owner_id=ana.pk, event_type="fraud.alert", data={**ALERT, "tier": "high"})

    assert names(review) == ["review and up"]
    assert names(high) == ["high only", "review and up"]


def test_given_channels_narrow_the_choice_but_subscription_still_counts(ana, django_user_model):
    bruno = django_user_model.objects.create_user(id=fresh_user_id(), username="bruno")
    pager = a_channel(ana, "pager", ["rule.fired"])
    a_channel(ana, "chat", ["rule.fired"])
    deaf = a_channel(ana, "deaf", ["job.failed"])
    other = a_channel(bruno, "bruno's", ["rule.fired"])

    created = deliveries_create(
        owner_id=ana.pk,
        event_type="rule.fired",
        data={"summary": "404 burst"},
        channel_ids=[pager.pk, deaf.pk, other.pk],
    )

    assert names(created) == ["pager"]


def test_a_key_makes_a_second_call_create_nothing(ana):
    a_channel(ana, "failures", ["job.failed"])

    first = deliveries_create(owner_id=ana.pk, event_type="job.failed", data={"job_id": "5f1c"}, key="job:5f1c:1")
    again = deliveries_create(owner_id=ana.pk, event_type="job.failed", data={"job_id": "5f1c"}, key="job:5f1c:1")

    assert len(first) == 1
    assert again == []


def test_the_body_is_the_event_type_a_timestamp_and_the_data(ana):
    a_channel(ana, "failures", ["job.failed"])

    [delivery] = deliveries_create(
        owner_id=ana.pk, event_type="job.failed", data={"job_id": "5f1c", "counts": {"indexed": 3}}
    )

    assert delivery.body.startswith('{"type":"job.failed","timestamp":"')
    assert delivery.body.endswith(',"data":{"job_id":"5f1c","counts":{"indexed":3}}}')
    assert delivery.message_id.startswith("msg_")


def test_an_unknown_event_type_is_a_programming_error(ana):
    with pytest.raises(ValueError, match=r"Unknown event type 'job\.exploded'"):
        deliveries_create(owner_id=ana.pk, event_type="job.exploded", data={})
