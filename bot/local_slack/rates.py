"""Slack's Web API rate limits, as the stand-in answers them: HTTP 429 + Retry-After.

https://docs.slack.dev/apis/web-api/rate-limits: limits apply "per API method per
workspace/team per app"; Tier 1 is 1+ per minute, Tier 2 20+, Tier 3 50+, Tier 4 100+;
special tiers are described on each method's page: chat.postMessage "generally allows
posting one message per second per channel" ("Short bursts >1 allowed"); auth.test and
chat.getPermalink "allow hundreds of requests per minute"; since 2025
conversations.history / replies allow apps outside the Marketplace 1 request a minute.
The tier of each method is on its reference page (docs.slack.dev/reference/methods/…).

Every attempt is counted on the stand-in's clock (`now()`, which tests move forward with
`skew` instead of waiting), so tests can read what the app sent per minute
(`counts`) and its peak in any window (`peak`) — "rates held in aggregate".
"""

from __future__ import annotations

import time
from collections import defaultdict, deque
from collections.abc import Mapping
from dataclasses import dataclass

TIER_PER_MINUTE = {1: 1, 2: 20, 3: 50, 4: 100}
HUNDREDS_PER_MINUTE = 200  # "hundreds of requests per minute": the least that phrase allows

# Per-method limits per workspace per minute (each method's reference page).
METHOD_PER_MINUTE: dict[str, int] = {
    "auth.test": HUNDREDS_PER_MINUTE,  # special
    "chat.getPermalink": HUNDREDS_PER_MINUTE,  # special
    "chat.update": TIER_PER_MINUTE[3],
    "chat.delete": TIER_PER_MINUTE[3],
    "chat.postEphemeral": TIER_PER_MINUTE[4],
    "views.open": TIER_PER_MINUTE[4],
    "views.push": TIER_PER_MINUTE[4],
    "views.update": TIER_PER_MINUTE[4],
    "views.publish": TIER_PER_MINUTE[4],
    "users.info": TIER_PER_MINUTE[4],
    "conversations.info": TIER_PER_MINUTE[3],
    "conversations.members": TIER_PER_MINUTE[4],
    "conversations.open": TIER_PER_MINUTE[3],
    # Tier 3 for Marketplace apps; 1 a minute for apps distributed outside it (2025).
    "conversations.history": 1,
    "conversations.replies": 1,
}
UNLISTED_PER_MINUTE = TIER_PER_MINUTE[2]  # "Most methods allow at least 20 requests per minute"
POST_PER_SECOND = 1.0  # chat.postMessage, per channel
POST_BURST = 5  # "short bursts >1 allowed": how many a channel's bucket holds
PER_CHANNEL = "chat.postMessage"  # the one method limited per channel, not per workspace


@dataclass(frozen=True)
class Attempt:
    """One call counted against a limit: `key` is the channel for chat.postMessage,
    the workspace otherwise; `refused` when it was answered 429."""

    method: str
    key: str
    at: float
    refused: bool


class RateLimits:
    """Sliding 60 s windows per (method, workspace); a token bucket per channel for
    chat.postMessage."""

    def __init__(
        self,
        per_minute: Mapping[str, int] | None = None,
        *,
        post_burst: int = POST_BURST,
        post_per_second: float = POST_PER_SECOND,
    ) -> None:
        self.per_minute = {**METHOD_PER_MINUTE, **(per_minute or {})}
        self.post_burst = post_burst
        self.post_per_second = post_per_second
        self._windows: dict[tuple[str, str], deque[float]] = defaultdict(deque)
        self._buckets: dict[str, tuple[float, float]] = {}  # channel → tokens, last refill
        self.attempts: list[Attempt] = []
        self.skew = 0.0

    def now(self) -> float:
        return time.monotonic() + self.skew

    def limit(self, method: str) -> int:
        return self.per_minute.get(method, UNLISTED_PER_MINUTE)

    def take(self, method: str, key: str) -> float:
        """Count one call; the seconds to wait (Retry-After) when over the limit, else 0."""
        now = self.now()
        per_channel = method == PER_CHANNEL
        wait = self._post(key, now) if per_channel else self._window(method, key, now)
        self.attempts.append(Attempt(method, key, now, wait > 0))
        return wait

    def note(self, method: str, key: str) -> None:
        """A request answered before its limit was looked at (an injected fault): it
        counts in what the app sent, not against the window."""
        self.attempts.append(Attempt(method, key, self.now(), False))

    def _window(self, method: str, key: str, now: float) -> float:
        window = self._windows[(method, key)]
        while window and window[0] <= now - 60:
            window.popleft()
        if len(window) >= self.limit(method):
            return window[0] + 60 - now
        window.append(now)
        return 0.0

    def _post(self, channel: str, now: float) -> float:
        tokens, last = self._buckets.get(channel, (float(self.post_burst), now))
        tokens = min(float(self.post_burst), tokens + (now - last) * self.post_per_second)
        if tokens < 1:
            self._buckets[channel] = (tokens, now)
            return (1 - tokens) / self.post_per_second
        self._buckets[channel] = (tokens - 1, now)
        return 0.0

    def counts(self, method: str, *, refused: bool | None = None) -> dict[str, dict[int, int]]:
        """{key: {minute: calls}} for `method` (minute = the stand-in's clock // 60);
        all calls, or only those refused (True) or accepted (False)."""
        out: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
        for a in self.attempts:
            if a.method == method and (refused is None or a.refused == refused):
                out[a.key][int(a.at // 60)] += 1
        return {k: dict(v) for k, v in out.items()}

    def peak(self, method: str, key: str, seconds: float = 60.0) -> int:
        """The most calls to `method` for `key` in any `seconds`-long window."""
        times = [a.at for a in self.attempts if a.method == method and a.key == key]
        best, start = 0, 0
        for end, t in enumerate(times):
            while t - times[start] >= seconds:
                start += 1
            best = max(best, end - start + 1)
        return best

    def reset(self) -> None:
        self._windows.clear()
        self._buckets.clear()
        self.attempts.clear()
