"""A token bucket per webhook source, so one runaway sender cannot starve the others."""

import threading
import time
from dataclasses import dataclass


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """`rate_per_minute` deliveries a minute per key, with bursts of up to `burst`.

    Kept in the process: each instance limits what it is sent. That bounds the damage a
    misconfigured sender does to the database, which is the point; a shared limit would cost a
    database round trip on the hottest path.
    """

    def __init__(self, rate_per_minute: int, burst: int) -> None:
        self.rate = rate_per_minute / 60.0
        self.burst = float(burst)
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def allow(self, key: str) -> float | None:
        """None when allowed; otherwise the seconds until the next delivery would be."""
        now = time.monotonic()
        with self._lock:
            bucket = self._buckets.setdefault(key, _Bucket(self.burst, now))
            bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate)
            bucket.updated = now
            if bucket.tokens >= 1:
                bucket.tokens -= 1
                return None
            return (1 - bucket.tokens) / self.rate
