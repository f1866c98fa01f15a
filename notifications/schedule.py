"""The retry schedule: how long to wait after a failed attempt, with jitter, and when to give up."""

import random

# Each delay is stretched or shrunk by up to this share, so receivers that failed together are not retried
# all at the same instant.
JITTER = 0.2


def retry_delay(*, failed_attempts: int, delays: list[int], rng: random.Random | None = None) -> float | None:
    """Seconds to wait before the next attempt after `failed_attempts` failures in a row, or None: give up.

    `delays` is the schedule (NOTIFICATIONS_RETRY_DELAYS): one retry per entry, so len(delays) + 1 attempts.
    """
    if failed_attempts < 1 or failed_attempts > len(delays):
        return None
    base = delays[failed_attempts - 1]
    return base * (rng or random).uniform(1 - JITTER, 1 + JITTER)
