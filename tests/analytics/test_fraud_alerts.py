"""Fraud alerts on the shared shop files, on the real servers: orders rather than their lines, a handful of
customers rather than all of them, reasons in plain words, and one alert per customer however often a file
is uploaded, naming its uploader and jobs."""

import pytest
from rest_framework.test import APIClient

from analytics.fraud.models import FraudAlert
from analytics.fraud.services import fraud_scan
from tests.analytics.conftest import ANALYST_ID
from tests.conftest import fresh_user_id
from tests.datafiles import ONLINE_RETAIL_FRANCE
from tests.helpers import data_lines, upload_and_screen

pytestmark = pytest.mark.django_db(transaction=True)


def alerts_of(owner_id: int, job_id: str) -> dict[str, FraudAlert]:
    return {alert.entity: alert for alert in FraudAlert.objects.filter(owner_id=owner_id) if job_id in alert.job_ids}


def test_the_retail_file_is_screened_per_order_with_its_cancellations_apart(read_side):
    report = fraud_scan(owner_id=ANALYST_ID, job_id=read_side.retail["job_id"])

    # 392 orders made of 8,408 invoice lines; the 69 cancelled invoices are not orders.
    assert (report.events, report.documents, report.cancellations) == (392, 8_408, 69)
    alerts = alerts_of(ANALYST_ID, read_side.retail["job_id"])
    assert 0 < len(alerts) <= 15  # of the file's 87 customers
    order = next(item for item in alerts["12536"].evidence if item["order_id"] == "570672")
    assert (order["amount"], order["lines"], len(order["ids"])) == (4279.71, 259, 259)
    assert order["reasons"]["first_order_large"] == (
        "this customer's first order: 4,279.71 is more than 90% of this shop's orders (1,057.15)"
    )


def test_the_kibana_orders_alert_on_the_outsized_order_not_on_every_customer(read_side, analyst):
    fraud_scan(owner_id=ANALYST_ID, job_id=read_side.orders["job_id"])

    alerts = alerts_of(ANALYST_ID, read_side.orders["job_id"])
    assert "15" in alerts and len(alerts) <= 5  # of the file's 46 customers, each with about 100 orders
    detail = analyst.get(f"/api/fraud/alerts/{alerts['15'].pk}").json()
    (order,) = detail["evidence"]
    assert (order["amount"], order["currency"]) == (2249.92, "EUR")
    assert order["reasons"]["amount_p90"] == (
        "2,249.92 EUR is more than 90% of this shop's orders (127.96), and 40.2 times this customer's usual (55.98)"
    )


def test_a_file_uploaded_twice_makes_one_alert_per_customer_naming_both_uploads(celery_worker, django_user_model):
    user = django_user_model.objects.create_user(id=fresh_user_id(), username="ines")
    client = APIClient()
    client.force_authenticate(user)
    content = data_lines(ONLINE_RETAIL_FRANCE.name, 400)  # December 2010: 21 invoices

    first = upload_and_screen(client, ONLINE_RETAIL_FRANCE.name, content)
    orders_once = {alert.entity: alert.event_count for alert in FraudAlert.objects.filter(owner_id=user.pk)}
    second = upload_and_screen(client, ONLINE_RETAIL_FRANCE.name, content)

    alerts = FraudAlert.objects.filter(owner_id=user.pk)
    both = sorted([first["job_id"], second["job_id"]])
    assert orders_once and {alert.entity: alert.event_count for alert in alerts} == orders_once
    for alert in alerts:
        assert alert.job_ids == both
        assert len({item["order_id"] for item in alert.evidence}) == len(alert.evidence)  # each order once
        assert all(item["jobs"] == both for item in alert.evidence)
    listed = client.get("/api/fraud/alerts").json()["results"]
    assert {alert["uploader"] for alert in listed} == {"ines"}
    assert listed[0]["jobs"] == [{"job_id": job_id, "filename": ONLINE_RETAIL_FRANCE.name} for job_id in both]
