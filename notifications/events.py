"""The event types a channel may subscribe to (contract), and which job status makes which job event."""

JOB_COMPLETED = "job.completed"
JOB_COMPLETED_WITH_ERRORS = "job.completed_with_errors"
JOB_FAILED = "job.failed"
FRAUD_ALERT = "fraud.alert"
RULE_FIRED = "rule.fired"
RULE_RESOLVED = "rule.resolved"
# Sent by "send test" to one channel whatever it subscribes to; not a subscription choice.
TEST = "test"

EVENT_TYPES = [JOB_COMPLETED, JOB_COMPLETED_WITH_ERRORS, JOB_FAILED, FRAUD_ALERT, RULE_FIRED, RULE_RESOLVED]

EVENT_LABELS = {
    JOB_COMPLETED: "Job completed",
    JOB_COMPLETED_WITH_ERRORS: "Job completed with errors",
    JOB_FAILED: "Job failed",
    FRAUD_ALERT: "Fraud alert (new, or its tier changed)",
    RULE_FIRED: "Alert rule fired",
    RULE_RESOLVED: "Alert rule resolved",
    TEST: "Test",
}

# A finished job's status (ingestion's words) -> the event it sends.
JOB_EVENT_BY_STATUS = {
    "completed": JOB_COMPLETED,
    "completed_with_errors": JOB_COMPLETED_WITH_ERRORS,
    "failed": JOB_FAILED,
}
