"""The job pages' template filters: status words as people read them, from the status enum."""

from ingestion.enums import JobStatus
from uploads_app.templatetags.job_format import status_label


def test_every_status_is_labelled_from_the_enum():
    labels = [status_label(status.value) for status in JobStatus]

    assert labels == ["Pending", "Processing", "Completed", "Completed with rejected or set-aside rows", "Failed"]
    assert labels == [status.label for status in JobStatus]


def test_a_word_that_is_no_status_is_shown_as_it_is():
    assert status_label("archived") == "archived"
