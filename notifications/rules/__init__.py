"""Alert rules' pure logic: durations ("5m"), judging the figures of each window, and the sentences people read.

The queries live in `analytics.rules_queries`; the engine that keeps state (evaluations, events, realert,
resolve, catch-up) is `notifications.services.evaluation`.
"""
