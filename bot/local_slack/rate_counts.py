"""Calls per minute, as Slack counts them against its limits: the most calls of a
method, per channel or per workspace, in any 60-second window — whichever
process made them, answered or refused (Slack counts what it receives)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable

from bot.local_slack.records import Call

# Slack's published limits, per minute: chat.postMessage about 1 a second per
# channel; chat.update Tier 3 (50+); views.publish Tier 4 (100+), per workspace.
PER_MINUTE = {"chat.postMessage": 60, "chat.update": 50, "views.publish": 100}


def by_channel(call: Call) -> str:
    return str(call.params.get("channel") or "")


def by_workspace(_call: Call) -> str:
    return "workspace"  # one stand-in is one workspace


KEYS: dict[str, Callable[[Call], str]] = {
    "chat.postMessage": by_channel,
    "chat.update": by_workspace,
    "views.publish": by_workspace,
}


def peak_per_minute(calls: Iterable[Call], method: str) -> dict[str, int]:
    """The most calls of `method` in any 60 s window, per channel or workspace."""
    key = KEYS.get(method, by_workspace)
    times: dict[str, list[float]] = defaultdict(list)
    for c in calls:
        if c.method == method:
            times[key(c)].append(c.at)
    peaks: dict[str, int] = {}
    for k, at in times.items():
        at.sort()
        start, peak = 0, 0
        for end, t in enumerate(at):
            while at[start] <= t - 60:
                start += 1
            peak = max(peak, end - start + 1)
        peaks[k] = peak
    return peaks


def over_limit(calls: Iterable[Call]) -> dict[str, dict[str, int]]:
    """Each paced method's channels or workspaces whose peak went over Slack's limit."""
    recorded = list(calls)
    out: dict[str, dict[str, int]] = {}
    for method, limit in PER_MINUTE.items():
        over = {k: n for k, n in peak_per_minute(recorded, method).items() if n > limit}
        if over:
            out[method] = over
    return out
