"""A token bucket for query_sm (platform point 16: the client sets the rate) and for an
account's submit rate cap (``max_submit_rate``): pure, the time is an argument."""

from __future__ import annotations


class TokenBucket:
    """``rate`` tokens per second, at most ``burst`` saved up."""

    __slots__ = ("_stamp", "_tokens", "burst", "rate")

    def __init__(self, rate: float, burst: float = 1.0, now: float = 0.0) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be positive and burst at least 1")
        self.rate = rate
        self.burst = burst
        self._tokens = burst
        self._stamp = now

    def _refill(self, now: float) -> None:
        if now > self._stamp:
            self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now

    def delay(self, now: float) -> float:
        """Seconds until a token is available (0 when one is)."""
        self._refill(now)
        return 0.0 if self._tokens >= 1 else (1 - self._tokens) / self.rate

    def take(self, now: float) -> float:
        """Take a token if available: returns 0; else take nothing, return the wait."""
        wait = self.delay(now)
        if wait == 0.0:
            self._tokens -= 1
        return wait

    def available(self, now: float) -> int:
        """Whole tokens that may be spent now (0 while in debt)."""
        self._refill(now)
        return max(0, int(self._tokens))

    def spend(self, count: int, now: float) -> None:
        """Take ``count`` tokens, going into debt if there are fewer: the parts of one message
        leave together, and the debt holds back what follows, so the long-run rate is kept."""
        self._refill(now)
        self._tokens -= count
