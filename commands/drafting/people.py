"""Who the notes name: people by first or full name, or by @mention, and the two
organisations by name, each on its side."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from commands.drafting.model import DraftContext, Known

_MENTION = re.compile(r"@(?P<id>[UW][A-Z0-9]{2,})\b")


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9][a-z0-9'’.-]*", text.lower())


@dataclass(frozen=True)
class Roster:
    """Names to people; a first name two people share names neither."""

    by_name: dict[str, Known]
    by_id: dict[str, Known]
    orgs: dict[str, str]  # lower-case org name → "buyer" | "seller"

    @classmethod
    def of(cls, ctx: DraftContext) -> Roster:
        names: dict[str, list[Known]] = {}
        for person in ctx.people:
            words = _words(person.name.replace("_", " "))
            keys = {" ".join(words)} | ({words[0]} if words and len(words[0]) >= 3 else set())
            for key in keys:
                if key:
                    names.setdefault(key, []).append(person)
        by_name = {k: v[0] for k, v in names.items() if len({p.user_id for p in v}) == 1}
        orgs = {o.lower(): "seller" for o in ctx.seller_orgs if o.strip()}
        orgs |= {o.lower(): "buyer" for o in ctx.buyer_orgs if o.strip()}
        return cls(by_name, {p.user_id: p for p in ctx.people}, orgs)

    def person_in(self, text: str) -> Known | None:
        """The first person `text` names (a mention first), or None."""
        if m := _MENTION.search(text):
            known = self.by_id.get(m["id"])
            return known or Known(m["id"], m["id"], "seller")
        words = _words(text.replace("@", " "))
        best: tuple[int, Known] | None = None
        for size in (3, 2, 1):  # "Jane Doe" before "Jane"
            for i in range(len(words) - size + 1):
                found = self.by_name.get(" ".join(words[i : i + size]))
                if found is not None and (best is None or i < best[0]):
                    best = (i, found)
            if best is not None:
                return best[1]
        return None

    def org_in(self, text: str) -> str | None:
        low = " ".join(_words(text))
        for name, side in self.orgs.items():
            if re.search(rf"(?<![a-z0-9]){re.escape(' '.join(_words(name)))}(?![a-z0-9])", low):
                return side
        return None

    def names(self) -> Iterable[str]:
        return self.by_name
