"""The default extractor: deterministic, offline, a few rules a rep would apply.

A line or sentence is a next step when a party commits to something ("we will…",
"they'll…", "Jane to…", "both teams…", "AI: …") or when it is an item under a
"Next steps" / "Action items" heading. Its side comes from who says it and who
is named (a speaker's "we" is the speaker's side; a buyer's "they" is the
seller), its assignee from a mention or a name matched to the people we know,
its due date from the words (`when.find_due`, relative to the call), its
milestone from the heading it sits under or the words it uses. A go-live said
anywhere becomes the plan's target. Questions, negations and discussion are
left out: the rep reviews everything before anything is created.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date

from bot.text import unescape
from commands.dates import Reading
from commands.drafting import vocabulary as v
from commands.drafting.model import (
    MAX_TASKS,
    NOTES_MAX,
    TITLE_MAX,
    DraftContext,
    DraftTask,
    Known,
    Proposal,
    Side,
)
from commands.drafting.people import Roster
from commands.drafting.when import find_dates, find_due

DEFAULT_MILESTONE = "Next steps"


@dataclass(frozen=True)
class _Line:
    text: str
    speaker: Known | None
    speaker_side: Side | None
    in_actions: bool
    milestone: str | None
    bullet: bool
    checkbox: bool = False


def _subject(before: str) -> str:
    """Who makes a commitment, from the words before it: the last clause ("If
    approved, their team" → "their team"), without "and"/"sure,", and a subordinate
    clause before a pronoun dropped ("Once legal is done I" → "I")."""
    clause = re.split(r"[,;:]\s*", before.strip(" ,:-–"))[-1]
    clause = v.INTERJECTION.sub("", clause).strip()
    if len(clause.split()) > 1 and (m := v.LAST_PRONOUN.search(clause)):
        return m.group(1)
    return clause


def _cut_due(text: str, on: Reading) -> str:
    due = find_due(text, on)
    return text if due is None else (text[: due[1]] + " " + text[due[2] :]).strip()


def _party_word(text: str) -> bool:
    return bool(v.SELF.match(text) or v.OTHER.match(text) or v.MUTUAL.search(text))


def _plain(text: str) -> str:
    """Slack markup to plain text: `<@U1|jane>` → `@U1` (kept as a mention)."""

    def one(m: re.Match[str]) -> str:
        target, _, label = m["inner"].partition("|")
        if target.startswith("@"):
            return target
        if target.startswith(("#", "!")):
            return label or target[1:]
        return label or target

    text = v.MARKUP.sub(one, text)
    return unescape(text)


def _starts_item(line: str) -> bool:
    """A line that begins something of its own: a bullet, a heading, a speaker, a field."""
    return bool(
        (v.BULLET.match(line) and v.BULLET.match(line).group(0).strip())  # type: ignore[union-attr]
        or v.HEADING.match(line.strip())
        or v.SPEAKER.match(line)
        or v.FIELD.match(line)
    )


def _unwrap(lines: list[str]) -> list[str]:
    """Lines as written, with a prose paragraph wrapped over several lines joined
    again ("…will send the redlined MSA by\n18 November."): a line continues the
    one before unless it starts an item, or the one before ended a sentence or was
    short (a heading)."""
    out: list[str] = []
    for raw in lines:
        line = raw.rstrip()
        if not line.strip():
            out.append("")
            continue
        prev = out[-1] if out else ""
        after_bullet = bool(prev) and _starts_item(prev) and not line.strip()[:1].islower()
        joins = (
            prev
            and not after_bullet
            and not _starts_item(line)
            and not re.search(r"[.!?:;)]$", prev)
            and len(prev.split()) > 6
        )
        if joins:
            out[-1] = prev + " " + line.strip()
        else:
            out.append(line)
    return [line for line in out if line.strip()]


def milestone_for(text: str) -> str:
    padded = f" {text.lower()} "
    for name, words in v.MILESTONE_WORDS:
        if any(w in padded for w in words):
            return name
    return DEFAULT_MILESTONE


def _heading_milestone(heading: str) -> str | None:
    """A heading as a milestone: a deal phase it names, else the heading itself."""
    cleaned = " ".join(heading.strip(" *_#:").split())
    if not cleaned or v.IGNORED_HEADINGS.match(cleaned) or v.ACTION_HEADINGS.match(cleaned):
        return None
    named = milestone_for(cleaned)
    return named if named != DEFAULT_MILESTONE else cleaned[:1].upper() + cleaned[1:80]


def _side_of_org(org: str, roster: Roster) -> Side | None:
    side = roster.org_in(org)
    if side in ("buyer", "seller"):
        return side  # type: ignore[return-value]
    low = org.lower()
    if any(w in low for w in ("customer", "client", "buyer", "prospect")):
        return "buyer"
    if any(w in low for w in ("vendor", "seller", "us", "ours")):
        return "seller"
    return None


def _other(side: Side) -> Side:
    return {"buyer": "seller", "seller": "buyer", "mutual": "mutual"}[side]  # type: ignore[return-value]


@dataclass
class _Reader:
    ctx: DraftContext
    roster: Roster
    call_date: date
    title: str = ""
    golive: date | None = None
    last_named: Known | None = None  # whom "he" or "she" means

    @property
    def on(self) -> Reading:
        return Reading(self.call_date, self.ctx.day_first)

    # --- lines --------------------------------------------------------------------

    def lines(self, text: str) -> list[_Line]:
        out: list[_Line] = []
        in_actions, milestone = False, None
        for raw in _unwrap(_plain(text[:NOTES_MAX]).splitlines()):
            marker = v.BULLET.match(raw)
            bullet = marker is not None and bool(marker.group(0).strip())
            line = v.BULLET.sub("", raw, count=1).strip()
            if self._field(line):
                continue
            heading = v.HEADING.match(line) or self._bare_heading(line, bullet)
            if heading is not None:
                h = (heading["h1"] or heading["h2"] or heading["h3"] or "").strip(" *_#")
                if not out and not self.title and heading["h3"] is None:
                    self.title = h[:150]  # the notes' own title, before anything else
                    continue
                if v.ACTION_HEADINGS.match(h):
                    in_actions = True
                    continue
                if heading["h3"] is None or self._commitment(h) is None:
                    in_actions = False
                    milestone = _heading_milestone(h)
                    if not self.title and heading["h3"] is None and milestone is None:
                        self.title = h[:150]
                    continue
            speaker, speaker_side, rest = None, None, line
            if sp := v.SPEAKER.match(line):
                known = self.roster.person_in(sp["name"])
                side: Side | None = known.side if known else None
                if sp["org"]:
                    side = _side_of_org(sp["org"], self.roster) or side
                if known is not None or side is not None:
                    speaker, speaker_side, rest = known, side, sp["rest"]
            for sentence in self._clauses(rest):
                if sentence.strip():
                    out.append(
                        _Line(
                            sentence.strip(),
                            speaker if (speaker or not bullet) else None,
                            speaker_side,
                            in_actions,
                            milestone,
                            bullet,
                            bool(v.CHECKBOX.match(raw)),
                        )
                    )
        return out

    def _clauses(self, text: str) -> list[str]:
        """Sentences, and a sentence joining two commitments ("we will draft it by
        Nov 13 and Mike will review it") as two."""
        out: list[str] = []
        for sentence in v.SENTENCE.split(text):
            parts = re.split(r",?\s+(?:and|but|while|then)\s+", sentence)
            current = parts[0]
            for part in parts[1:]:
                c = self._commitment(part)
                if c is not None and c[0] and self._party(c[0], False):
                    out.append(current)
                    current = part
                else:
                    current += " and " + part
            out.append(current)
        return out

    def _bare_heading(self, line: str, bullet: bool) -> re.Match[str] | None:
        """Lines such as "Next steps" or "Security" alone on a line: a heading when it is one of the
        words headings use (else a short line like "Send deck" would be one)."""
        if bullet or len(line.split()) > 5 or re.search(r"[.!?;,]$", line):
            return None
        known = v.ACTION_HEADINGS.match(line) or v.IGNORED_HEADINGS.match(line)
        if not known and milestone_for(line) == DEFAULT_MILESTONE:
            return None
        if self._commitment(line) is not None or find_dates(line, self.on):
            return None
        return v.HEADING.match(line + ":")

    def _field(self, line: str) -> bool:
        """`Date: …`, `Subject: …`, `Go-live: …` lines set the proposal, not a task."""
        m = v.FIELD.match(line)
        if m is None:
            return False
        key, value = m["key"].lower(), m["value"].strip()
        if key in ("date", "call date", "meeting date"):
            found = find_dates(value, self.on)
            if found:
                self.call_date = found[0][0]
        elif key in ("subject", "title", "re", "meeting", "deal", "account"):
            self.title = self.title or value.strip(" *_#")[:150]
        elif key in ("attendees", "participants"):
            pass
        else:
            found = find_dates(value, self.on)
            if found:
                self.golive = found[-1][0]
        return True

    # --- one sentence ---------------------------------------------------------------

    def task(self, line: _Line) -> DraftTask | None:
        step = self._task(line)
        named = self.roster.person_in(line.text)
        if named is not None:
            self.last_named = named
        return step

    def _task(self, line: _Line) -> DraftTask | None:
        text = line.text.strip()
        if text.endswith("?") or v.NEGATED.search(text):
            return None
        text = v.PREFIX.sub("", text, count=1)
        forced = text != line.text.strip() or line.in_actions or self._item(line, text)
        if self._golive_said(text):
            return None
        commitment = self._commitment(text)
        if commitment is None and not forced:
            return None
        subject, rest = commitment if commitment is not None else ("", text)
        due = find_due(rest, self.on)
        if due is not None:
            rest = (rest[: due[1]] + " " + rest[due[2] :]).strip()
        side, who = self._who(subject, rest, line)
        return self._make(rest, due[0] if due else None, side, who, line)

    def _item(self, line: _Line, text: str) -> bool:
        """A bullet that is a step by its form: a checkbox, "Jane: do X", an owner
        in brackets ("(Mike)", "(them)"), or a joint item with a date."""
        if not line.bullet:
            return False
        if line.checkbox or line.speaker is not None:
            return True
        tail = v.OWNER_TAIL.search(v.TRAILING.sub("", _cut_due(text, self.on)))
        if tail is not None:
            who = (tail["p"] or tail["b"] or tail["d"] or tail["o"] or "").strip()
            if self.roster.person_in(who) or _party_word(who) or self.roster.org_in(who):
                return True
        return bool(v.MUTUAL.search(text) and find_dates(text, self.on))

    def _golive_said(self, text: str) -> bool:
        """Says the target ("Go-live is March 1", "they want to launch by Feb 2"), no step."""
        if not v.GOLIVE.search(text):
            return False
        found = find_dates(text, self.on)
        if not found:
            return False
        c = self._commitment(text)
        if (
            c is not None
            and not v.GOLIVE.search(c[1][:40])
            and not re.search(r"\b(?:go|going) live\b|\blaunch\b", c[1][:25], re.IGNORECASE)
        ):
            return False  # "we'll schedule the go-live readiness review": a step
        self.golive = found[-1][0]
        return True

    def _commitment(self, text: str) -> tuple[str, str] | None:
        for m in v.MODAL.finditer(text):
            subject = _subject(text[: m.start()])
            modal = " ".join(m["modal"].lower().replace("’", "'").split())
            if v.NOT_A_STEP.match(m["rest"]):
                continue  # "we'll need the admin guide": a need, not a step
            if len(subject.split()) > 7:
                continue
            if modal.startswith("'") and not subject:
                continue
            party = self._party(subject, modal.startswith("'"))
            if modal in v.WEAK_MODALS and not party:
                continue
            if modal == "to" and v.NOT_A_COMMITMENT.search(subject):
                continue  # "Acme wants to replace…": a wish, not a step
            if not party and not re.match(r"^(?:we|i|they|you)\b", subject, re.IGNORECASE):
                continue
            rest = m["rest"]
            if modal.startswith("owe"):  # "Lex owes Celia a summary": what is owed
                person = self.roster.person_in(rest.split(" ", 1)[0])
                if person is not None or re.match(r"(?:us|them|her|him)\b", rest, re.I):
                    rest = rest.split(" ", 1)[-1]
            return subject, rest
        return None

    def _party(self, subject: str, contracted: bool) -> bool:
        if not subject:
            return False
        if v.SELF.match(subject) or v.OTHER.match(subject) or v.MUTUAL.search(subject):
            return True
        if v.SELLER_WORDS.match(subject) or self.roster.person_in(subject) is not None:
            return True
        if self.roster.org_in(subject) is not None:
            return True
        return bool(v.TEAM_WORDS.search(subject)) and len(subject.split()) <= 4

    def _who(self, subject: str, rest: str, line: _Line) -> tuple[Side, Known | None]:
        """The side and the assignee of a step, from its subject and its line."""
        tail = v.OWNER_TAIL.search(v.TRAILING.sub("", rest))
        named = self.roster.person_in(subject) if subject else None
        if named is None and tail is not None:
            named = self.roster.person_in(tail.group(0))
        if named is None and (m := re.search(r"@[UW][A-Z0-9]{2,}", rest)):
            named = self.roster.person_in(m.group(0))
        tail_text = tail.group(0).strip(" ()[]-–—,") if tail is not None else ""
        if (subject and v.MUTUAL.search(subject)) or (not subject and v.MUTUAL.search(tail_text)):
            return "mutual", named
        if not subject and tail_text and named is None:
            if v.OTHER.match(tail_text):
                return _other(line.speaker_side or "seller"), None
            if v.SELF.match(tail_text):
                return line.speaker_side or "seller", None
        if not subject and v.MUTUAL.search(rest):
            return "mutual", named
        if named is not None and not v.SELF.match(subject) and not v.OTHER.match(subject):
            return named.side, named
        speaker_side: Side = line.speaker_side or "seller"  # notes are the rep's
        if subject and re.fullmatch(r"he|she", subject, re.IGNORECASE):
            last = self.last_named
            if last is not None and last.side != (line.speaker_side or "seller"):
                return last.side, last
            return _other(line.speaker_side or "seller"), None
        if subject and v.SELF.match(subject):
            who = line.speaker if v.FIRST_PERSON.match(subject) else named
            return speaker_side, who
        if subject and v.OTHER.match(subject):
            return _other(speaker_side), named
        org = self.roster.org_in(subject) if subject else None
        if org is None and tail is not None:
            org = _side_of_org(tail.group(0).strip(" ()[]-–—"), self.roster)
        if org in ("buyer", "seller"):
            return org, named  # type: ignore[return-value]
        if subject and v.SELLER_WORDS.match(subject):
            return "seller", named
        if not subject and line.speaker is not None:
            return speaker_side, line.speaker
        if subject and re.match(r"^(?:their|the customer['’]s|client['’]s)\b", subject, re.I):
            return _other(speaker_side), named
        return speaker_side, named

    def _make(
        self, rest: str, due: date | None, side: Side, who: Known | None, line: _Line
    ) -> DraftTask | None:
        title = v.OWNER_TAIL.sub("", v.TRAILING.sub("", rest))
        title = re.sub(r",?\s+(?:so that|so|because|since|as)\b.*$", "", title, flags=re.I)
        title = re.sub(
            r"[,\s]+(?:scheduled|planned|due|set|targeted|expected)(?: for)?$",
            "",
            title,
            flags=re.I,
        )
        title = re.sub(r"\s+([,.;:!])", r"\1", " ".join(title.split()))
        for _ in range(3):
            title = v.LEAD_FILLER.sub("", title)
        title = re.sub(r"@([UW][A-Z0-9]{2,})", lambda m: "@" + self._name(m[1]), title)
        title = title.strip(" ,.;:!-–—")
        title = re.sub(r"\s+(?:and|by|on|before|for)$", "", title, flags=re.IGNORECASE)
        if len(title) < 3 or not re.search(r"[A-Za-z]{2}", title):
            return None
        title = title[:1].upper() + title[1:]
        if len(title) > TITLE_MAX:
            title = title[: TITLE_MAX - 1].rstrip() + "…"
        milestone = line.milestone or milestone_for(title)
        return DraftTask(
            title=title,
            milestone=milestone,
            side=side,
            assignee_id=who.user_id if who else None,
            due=due,
        )

    def _name(self, user_id: str) -> str:
        known = self.roster.by_id.get(user_id)
        return known.name if known else user_id


def _key(title: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", title.lower()))


def extract(text: str, ctx: DraftContext) -> Proposal:
    """The default extractor (`model.Extractor`)."""
    reader = _Reader(ctx, Roster.of(ctx), ctx.call_date)
    lines = reader.lines(text)
    tasks: list[DraftTask] = []
    seen: set[str] = set()
    for line in lines:
        task = reader.task(line)
        if task is None or _key(task.title) in seen:
            continue
        seen.add(_key(task.title))
        tasks.append(task)
    notes: list[str] = []
    if len(tasks) > MAX_TASKS:
        notes.append(f"Only the first {MAX_TASKS} of {len(tasks)} steps were kept.")
        tasks = tasks[:MAX_TASKS]
    if not tasks:
        notes.append(
            "No next steps found: write them as “we will…”, “they'll…”, “Jane to…”, "
            "or list them under a “Next steps” heading."
        )
    tasks = [replace(t, milestone=t.milestone[:80]) for t in tasks]
    return Proposal(reader.title, reader.golive, tuple(tasks), tuple(notes))
