"""How a proposal compares to the plan a person expected from the same notes:
tasks matched by their words, then side, assignee and due date of each match.
The benchmark (`bench/drafting_bench.py`) prints these; a test holds a floor."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from commands.drafting.model import DraftTask, Proposal

_STOP = frozenset(
    re.findall(
        r"\w+",
        "a an the to of for and or our their its on with in by at from this that these those "
        "we they i us them me my your all any some",
    )
)
MATCH_AT = 0.5  # share of words in common (Jaccard) that makes two titles one task


@dataclass(frozen=True)
class Expected:
    title: str
    side: str
    assignee: str | None = None
    due: date | None = None


def words(title: str) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9]+", title.lower()) if w not in _STOP}


def similarity(a: str, b: str) -> float:
    wa, wb = words(a), words(b)
    if not wa or not wb:
        return 0.0
    return len(wa & wb) / len(wa | wb)


@dataclass
class Score:
    proposed: int = 0
    expected: int = 0
    matched: int = 0
    side_ok: int = 0
    assignee_ok: int = 0
    date_ok: int = 0
    golive_expected: int = 0
    golive_ok: int = 0
    misses: list[str] = field(default_factory=list)  # what went wrong, for the bench

    def add(self, other: Score) -> None:
        for name in ("proposed", "expected", "matched", "side_ok", "assignee_ok", "date_ok"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.golive_expected += other.golive_expected
        self.golive_ok += other.golive_ok
        self.misses.extend(other.misses)

    @staticmethod
    def _ratio(n: int, d: int) -> float:
        return n / d if d else 1.0

    @property
    def precision(self) -> float:
        return self._ratio(self.matched, self.proposed)

    @property
    def recall(self) -> float:
        return self._ratio(self.matched, self.expected)

    @property
    def side_accuracy(self) -> float:
        return self._ratio(self.side_ok, self.matched)

    @property
    def assignee_accuracy(self) -> float:
        return self._ratio(self.assignee_ok, self.matched)

    @property
    def date_accuracy(self) -> float:
        return self._ratio(self.date_ok, self.matched)

    @property
    def golive_accuracy(self) -> float:
        return self._ratio(self.golive_ok, self.golive_expected)


def pair(proposed: list[DraftTask], expected: list[Expected]) -> list[tuple[int, int]]:
    """(proposed index, expected index) pairs, most similar first, each used once."""
    scored = sorted(
        (
            (similarity(p.title, e.title), i, j)
            for i, p in enumerate(proposed)
            for j, e in enumerate(expected)
        ),
        reverse=True,
    )
    used_p: set[int] = set()
    used_e: set[int] = set()
    pairs = []
    for sim, i, j in scored:
        if sim < MATCH_AT or i in used_p or j in used_e:
            continue
        used_p.add(i)
        used_e.add(j)
        pairs.append((i, j))
    return pairs


def score(name: str, got: Proposal, expected: list[Expected], golive: date | None) -> Score:
    tasks = list(got.tasks)
    s = Score(proposed=len(tasks), expected=len(expected))
    pairs = pair(tasks, expected)
    s.matched = len(pairs)
    for i, j in pairs:
        p, e = tasks[i], expected[j]
        s.side_ok += p.side == e.side
        s.assignee_ok += p.assignee_id == e.assignee
        s.date_ok += p.due == e.due
        for what, have, want in (
            ("side", p.side, e.side),
            ("assignee", p.assignee_id, e.assignee),
            ("due", p.due, e.due),
        ):
            if have != want:
                s.misses.append(f"{name}: {e.title!r} {what} {have} (expected {want})")
    got_i = {i for i, _ in pairs}
    got_j = {j for _, j in pairs}
    s.misses += [f"{name}: extra {t.title!r}" for i, t in enumerate(tasks) if i not in got_i]
    s.misses += [f"{name}: missed {e.title!r}" for j, e in enumerate(expected) if j not in got_j]
    if golive is not None:
        s.golive_expected = 1
        s.golive_ok = int(got.golive == golive)
        if got.golive != golive:
            s.misses.append(f"{name}: go-live {got.golive} (expected {golive})")
    return s
