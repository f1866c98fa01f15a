"""The retry schedule: one retry per configured delay, each within 20 % of it, then give up."""

import random

from notifications.schedule import retry_delay

DELAYS = [10, 60, 300, 1800, 7200]


def test_each_retry_waits_its_delay_give_or_take_a_fifth():
    rng = random.Random(7)

    waits = [[retry_delay(failed_attempts=n, delays=DELAYS, rng=rng) for n in range(1, 6)] for _ in range(200)]

    for attempt, base in enumerate(DELAYS):
        observed = [row[attempt] for row in waits]
        assert min(observed) >= base * 0.8
        assert max(observed) <= base * 1.2
        assert len(set(observed)) > 100  # jittered, not one fixed value


def test_after_the_last_delay_there_is_no_retry():
    assert retry_delay(failed_attempts=5, delays=DELAYS) is not None
    assert retry_delay(failed_attempts=6, delays=DELAYS) is None
    assert retry_delay(failed_attempts=0, delays=DELAYS) is None
