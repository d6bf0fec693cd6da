"""Seeded fault injection for the Slack stand-in: a share of calls, per method,
answered as Slack answers when things go wrong.

- "429": refused with HTTP 429 and `Retry-After` (Slack carries out nothing);
- "500": HTTP 500 — Slack may or may not have carried the call out (a coin of
  the same seeded generator decides), as with any 5xx;
- "timeout": carried out or not (the coin again), and the answer held back
  longer than the client waits: the caller cannot tell what happened.

The same seed and the same sequence of calls give the same faults, so a failing
run can be replayed.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

from bot.local_slack.records import Fault

KINDS = ("429", "500", "timeout")


@dataclass(frozen=True)
class Drawn:
    """One injected fault: `fault` to answer with; `carried_out` whether the
    call happens anyway (a 500 or a timeout)."""

    kind: str
    fault: Fault
    carried_out: bool


@dataclass
class Chaos:
    """`rate` of each method's calls fail (per-method `rates` win), with one of
    `kinds` chosen evenly; `hold` is how long a timed-out answer is held back."""

    seed: int
    rate: float = 0.2
    rates: Mapping[str, float] = field(default_factory=dict)
    kinds: Collection[str] = KINDS
    methods: Collection[str] | None = None  # None: every method but auth.test
    hold: float = 2.0
    retry_after: int = 1
    injected: list[tuple[str, str, bool]] = field(default_factory=list)  # method, kind, done

    def __post_init__(self) -> None:
        unknown = set(self.kinds) - set(KINDS)
        if unknown:
            raise ValueError(f"unknown fault kinds: {sorted(unknown)}")
        self._random = random.Random(self.seed)
        self._lock = threading.Lock()

    def draw(self, method: str) -> Drawn | None:
        if method == "auth.test" or (self.methods is not None and method not in self.methods):
            return None
        rate = self.rates.get(method, self.rate)
        with self._lock:
            if self._random.random() >= rate:
                return None
            kind = self._random.choice(sorted(self.kinds))
            carried_out = kind != "429" and self._random.random() < 0.5
            self.injected.append((method, kind, carried_out))
        if kind == "429":
            fault = Fault(1, status=429, retry_after=self.retry_after)
        elif kind == "500":
            fault = Fault(1, status=500)
        else:
            fault = Fault(1, hold=self.hold)
        return Drawn(kind, fault, carried_out)

    def count(self, kind: str | None = None) -> int:
        with self._lock:
            return sum(1 for _m, k, _d in self.injected if kind is None or k == kind)
