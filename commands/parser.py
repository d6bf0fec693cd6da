"""`/map …` text to a command: `parse(text, today)` returns a Command or a ParseError.

Pure and total: any string gives one or the other, never an exception.

Text arrives as Slack sends it (`should_escape: true`): a mention is `<@U123|jane>`,
`@channel` is `<!channel>`, and a typed `&`, `<`, `>` are `&amp;`, `&lt;`, `&gt;`. Titles
and names are decoded back to what the person typed; `<!channel>`-like tokens are kept
verbatim, since renderers escape all user text.

Clauses (`add … to <milestone> due <date>`) follow the title in any order. `to`, `from`
and a mention always start a clause (`to @jane` assigns: a milestone is never a
mention); `due`, `go-live`, `owner`/`for` and `internal` do only when what follows
fits (a date, a side, nothing), so "Review due diligence" stays a title. A title may
be quoted ("…" or “…”) to keep a `to` in it. A bare `buyer`, `seller` or `mutual` is
title text, never a side ("Send buyer deck"): say `for buyer` or `owner buyer`.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from bot.text import unescape
from commands import (
    crm_commands,
    insight_commands,
    pipeline_commands,
    remind_commands,
    template_commands,
    webhook_commands,
)
from commands import syntax as c
from commands.dates import DateError, Reading, parse_date, quote
from commands.usage import USAGE

# Every verb a person may type, to the USAGE topic it belongs to.
VERBS: dict[str, str] = {verb: verb for verb in USAGE} | {
    "go-live": "golive",
    "target": "golive",
    "complete": "done",
    "finish": "done",
    "delete": "remove",
}

_SIDES: dict[str, c.OwnerSide] = {"buyer": "buyer", "seller": "seller", "mutual": "mutual"}
_STATUS_VERBS: dict[str, c.TaskStatus] = {
    "start": "in_progress",
    "done": "completed",
    "complete": "completed",
    "finish": "completed",
    "reopen": "not_started",
}
_MILESTONE_STATUS: dict[str, c.TaskStatus | None] = {
    "done": "completed",
    "completed": "completed",
    "complete": "completed",
    "started": "in_progress",
    "in progress": "in_progress",
    "not started": "not_started",
    "auto": None,
}
_NO_DATE = ("none", "clear")
_NOBODY = ("nobody", "none", "noone")
_MAX_DATE_WORDS = 5  # "in 2 business days", "15th of March, 2027"

# A word, where `<…>` (a Slack mention or link, spaces and all) counts as one.
_TOKEN = re.compile(r"(?:<[^<>]*>|[^\s<]|<)+")
_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^<>]*)?>")
_TASK_NUMBER = re.compile(r"#([0-9]{1,9})")
_QUOTES = '"“”'
_LEADING_QUOTED = re.compile(rf"\s*[{_QUOTES}]([^{_QUOTES}]*)[{_QUOTES}]")


class _Refused(ValueError):
    """Bad input found deep in the parser; `parse` turns it into a ParseError."""


# --- words ---------------------------------------------------------------------


def _tokens(text: str) -> list[str]:
    return _TOKEN.findall(text)


def _first_word(text: str) -> tuple[str, str]:
    """The first word and the raw rest."""
    m = _TOKEN.search(text)
    return ("", "") if m is None else (m[0], text[m.end() :])


def _decode(text: str) -> str:
    """Undo Slack's escaping of typed `&`, `<`, `>`."""
    return unescape(text)


def _text(words: list[str], missing: str) -> str:
    """Words as a title or name: one space apart, decoded, outer quotes dropped.
    Refuses with `missing` when nothing is left."""
    joined = " ".join(words)
    if len(joined) >= 2 and joined[0] in _QUOTES and joined[-1] in _QUOTES:
        joined = " ".join(joined[1:-1].split())
    if not joined:
        raise _Refused(missing)
    return _decode(joined)


def _leading_quoted(text: str) -> tuple[list[str], str] | None:
    """A quoted phrase opening `text`: (its words, the raw rest); None when unquoted."""
    if not text.lstrip().startswith(tuple(_QUOTES)):
        return None
    m = _LEADING_QUOTED.match(text)
    if m is None:
        raise _Refused(f"The quote in {quote(text.strip())} isn't closed.")
    return m[1].split(), text[m.end() :]


def _task_ref(words: list[str], verb: str) -> c.TaskRef:
    if len(words) == 1 and (m := _TASK_NUMBER.fullmatch(words[0])):
        return c.TaskRef(number=int(m[1]))
    return c.TaskRef(words=_text(words, f"Say which task: `/map {verb} #7` or words of its title."))


def _date_or_none(words: list[str], on: Reading) -> date | None:
    if " ".join(words).lower() in _NO_DATE:
        return None
    return parse_date(" ".join(words), on.today, day_first=on.day_first)


def _user_id(token: str) -> str | None:
    """A mention's user id; None for `nobody`. Refuses anything else."""
    if token.lower() in _NOBODY:
        return None
    if m := _MENTION.fullmatch(token):
        return m[1]
    if token.startswith("@"):
        raise _Refused(
            f"{quote(token)} isn't a Slack mention: pick the person from the list "
            "that opens as you type @."
        )
    raise _Refused(f"{quote(token)} isn't a person: name one with @, or say `nobody`.")


# --- clauses -------------------------------------------------------------------


@dataclass(frozen=True)
class _Clauses:
    milestone: str | None = None
    owner: c.OwnerSide | None = None
    assignee: str | None = None
    due: date | None = None
    internal: bool = False
    golive: date | None = None
    template: str | None = None


# Reads a clause's words (after its keyword) into a value, or raises ValueError.
Reader = Callable[[str, list[str], Reading], object]


@dataclass(frozen=True)
class _Clause:
    field: str  # in _Clauses
    read: Reader
    soft: bool  # a clause only when its words read; otherwise title text


def _read_text(keyword: str, words: list[str], on: Reading) -> str:
    return _text(words, f"Say a name after `{keyword}`.")


def _read_side(keyword: str, words: list[str], on: Reading) -> c.OwnerSide:
    if len(words) != 1 or words[0].lower() not in _SIDES:
        raise _Refused(f"`{keyword}` takes buyer, seller or mutual.")
    return _SIDES[words[0].lower()]


def _read_date(keyword: str, words: list[str], on: Reading) -> date:
    if len(words) > _MAX_DATE_WORDS:
        raise _Refused("too long for a date")
    return parse_date(" ".join(words), on.today, day_first=on.day_first)


def _read_flag(keyword: str, words: list[str], on: Reading) -> bool:
    if words:
        raise _Refused(f"`{keyword}` takes nothing after it.")
    return True


def _read_mention(token: str, words: list[str], on: Reading) -> str | None:
    user_id = _user_id(token)
    if words:
        raise _Refused(f"I didn't understand {quote(' '.join(words))} after the @mention.")
    return user_id


_MENTION_KEY = "@"  # a mention is a clause of its own, keyword and value in one
_ADD_CLAUSES = {
    "to": _Clause("milestone", _read_text, soft=False),
    "owner": _Clause("owner", _read_side, soft=True),
    "for": _Clause("owner", _read_side, soft=True),
    "due": _Clause("due", _read_date, soft=True),
    "internal": _Clause("internal", _read_flag, soft=True),
    _MENTION_KEY: _Clause("assignee", _read_mention, soft=False),
}
_CREATE_CLAUSES = {
    "go-live": _Clause("golive", _read_date, soft=True),
    "golive": _Clause("golive", _read_date, soft=True),
    "from": _Clause("template", _read_text, soft=False),
}
_MILESTONE_CLAUSES = {"due": _Clause("due", _read_date, soft=True)}


def _clause_for(token: str, clauses: dict[str, _Clause]) -> _Clause | None:
    if token.startswith(("<@", "@")) and len(token) > 1:
        return clauses.get(_MENTION_KEY)
    return clauses.get(token.lower())


def _reads(clause: _Clause, token: str, words: list[str], on: Reading) -> bool:
    try:
        clause.read(token, words, on)
    except ValueError:
        return False
    return True


def _clause_starts(
    tokens: list[str], clauses: dict[str, _Clause], on: Reading
) -> list[tuple[int, _Clause]]:
    """Where clauses begin. Right to left, so a soft clause sees its words up to the next."""
    starts: list[tuple[int, _Clause]] = []
    end = len(tokens)
    for i in reversed(range(len(tokens))):
        clause = _clause_for(tokens[i], clauses)
        if clause is None:
            continue
        if clause.soft and not _reads(clause, tokens[i], tokens[i + 1 : end], on):
            continue
        starts.insert(0, (i, clause))
        end = i
    return starts


def _to_mention(tokens: list[str], clauses: dict[str, _Clause]) -> list[str]:
    """`to @jane` is the mention clause: drop the `to` before a mention (or a typed
    `@jane`, which the mention clause then explains)."""
    mention = clauses.get(_MENTION_KEY)
    if mention is None:
        return tokens
    return [
        t
        for i, t in enumerate(tokens)
        if not (
            t.lower() == "to"
            and i + 1 < len(tokens)
            and _clause_for(tokens[i + 1], clauses) is mention
        )
    ]


def _title_and_clauses(
    rest: str, clauses: dict[str, _Clause], on: Reading, what: str
) -> tuple[str, _Clauses]:
    """`<title> <clause>…`, the title maybe quoted."""
    quoted = _leading_quoted(rest)
    tokens = _to_mention(_tokens(quoted[1] if quoted else rest), clauses)
    starts = _clause_starts(tokens, clauses, on)
    first = starts[0][0] if starts else len(tokens)
    if quoted and first > 0:
        raise _Refused(f"I didn't understand {quote(' '.join(tokens[:first]))} after the title.")
    title = _text(quoted[0] if quoted else tokens[:first], f"The {what} needs a title.")
    values: dict[str, Any] = {}  # typed by each _Clause.read
    ends = [*(i for i, _ in starts), len(tokens)][1:]
    for (start, clause), end in zip(starts, ends, strict=True):
        if clause.field in values:
            raise _Refused(f"{quote(tokens[start])} is given twice.")
        values[clause.field] = clause.read(tokens[start], tokens[start + 1 : end], on)
    return title, _Clauses(**values)


def _split_to(rest: str, verb: str, example: str) -> tuple[list[str], str]:
    """`<words> to <text>`, split at the first `to` (or after a quoted phrase)."""
    quoted = _leading_quoted(rest)
    tokens = _tokens(quoted[1] if quoted else rest)
    at = 0 if quoted else next((i for i, t in enumerate(tokens) if i and t.lower() == "to"), -1)
    if at < 0 or not tokens or tokens[at].lower() != "to":
        raise _Refused(f"Put `to` between the two: `/map {verb} {example}`.")
    head = quoted[0] if quoted else tokens[:at]
    tail = _text(tokens[at + 1 :], f"Say what comes after `to`: `/map {verb} {example}`.")
    return head, tail


# --- verbs ---------------------------------------------------------------------


def _help(rest: str, on: Reading) -> c.Command:
    topic, _ = _first_word(rest)
    if not topic:
        return c.Help()
    if topic.lower() in VERBS:
        return c.Help(VERBS[topic.lower()])
    raise _Refused(f"There's no command {quote(topic)}.{_suggestion(topic)}")


def _no_arguments(command: c.Command) -> Callable[[str, Reading], c.Command]:
    def parse_bare(rest: str, on: Reading) -> c.Command:
        if rest.strip():
            raise _Refused(f"Nothing goes after this command; I got {quote(rest.strip())}.")
        return command

    return parse_bare


def _create(rest: str, on: Reading) -> c.Command:
    if not rest.strip():
        return c.CreateDialog()
    title, found = _title_and_clauses(rest, _CREATE_CLAUSES, on, "plan")
    return c.Create(title=title, golive=found.golive, template=found.template)


def _add(rest: str, on: Reading) -> c.Command:
    if not rest.strip():
        return c.AddDialog()
    title, found = _title_and_clauses(rest, _ADD_CLAUSES, on, "task")
    return c.Add(
        title=title,
        milestone=found.milestone,
        owner=found.owner,
        assignee=found.assignee,
        due=found.due,
        internal=found.internal,
    )


def _milestone(rest: str, on: Reading) -> c.Command:
    sub, rest = _first_word(rest)
    if sub.lower() == "add":
        title, found = _title_and_clauses(rest, _MILESTONE_CLAUSES, on, "milestone")
        return c.MilestoneAdd(title=title, due=found.due)
    if sub.lower() == "status":
        return _milestone_status(_tokens(rest))
    raise _Refused(
        "Say `milestone add Security review` or `milestone status Security review done`."
    )


def _milestone_status(tokens: list[str]) -> c.Command:
    usage = (
        "Say the milestone, then done, started, not started or auto: "
        "`/map milestone status Security review done`."
    )
    for n in (2, 1):
        said = " ".join(tokens[-n:]).lower()
        if len(tokens) > n and said in _MILESTONE_STATUS:
            return c.MilestoneStatus(_text(tokens[:-n], usage), _MILESTONE_STATUS[said])
    raise _Refused(usage)


def _assign(rest: str, on: Reading) -> c.Command:
    tokens = _tokens(rest)
    if len(tokens) < 2:
        raise _Refused("Say the task, then the person: `/map assign #7 @jane` (or `nobody`).")
    user_id = _user_id(tokens[-1])
    words = tokens[:-2] if tokens[-2].lower() == "to" else tokens[:-1]  # `assign #7 to @jane`
    return c.Assign(_task_ref(words, "assign"), user_id)


def _set_status(rest: str, on: Reading, verb: str) -> c.Command:
    return c.SetStatus(_task_ref(_tokens(rest), verb), _STATUS_VERBS[verb])


def _due(rest: str, on: Reading) -> c.Command:
    quoted = _leading_quoted(rest)
    tokens = _tokens(quoted[1] if quoted else rest)
    if quoted or (tokens and _TASK_NUMBER.fullmatch(tokens[0])):
        task = quoted[0] if quoted else tokens[:1]
        when = tokens if quoted else tokens[1:]
        if not when:
            raise _Refused("Say the date after the task: `/map due #7 friday` (or `none`).")
        return c.Due(_task_ref(task, "due"), _date_or_none(when, on))
    for at in range(max(1, len(tokens) - _MAX_DATE_WORDS), len(tokens)):  # longest date first
        try:
            return c.Due(_task_ref(tokens[:at], "due"), _date_or_none(tokens[at:], on))
        except DateError:
            continue
    raise _Refused(
        f"I couldn't find a date at the end of {quote(rest.strip())}. "
        "Say the task, then the date: `/map due security questionnaire friday`."
    )


def _golive(rest: str, on: Reading) -> c.Command:
    tokens = _tokens(rest)
    if not tokens:
        raise _Refused("Say the date: `/map golive Jan 15` (or `none`).")
    return c.GoLive(_date_or_none(tokens, on))


def _move(rest: str, on: Reading) -> c.Command:
    task, milestone = _split_to(rest, "move", "#7 to Contracting")
    return c.Move(_task_ref(task, "move"), milestone)


def _rename(rest: str, on: Reading) -> c.Command:
    sub, after = _first_word(rest)
    if sub.lower() == "milestone":
        name, title = _split_to(after, "rename", "milestone Legal to Contracting")
        return c.RenameMilestone(_text(name, "Say which milestone to rename."), title)
    plan_words = _tokens(after)
    if sub.lower() == "plan" and plan_words and plan_words[0].lower() == "to":
        missing = "Say the new title: `/map rename plan to Acme rollout`."
        return c.RenamePlan(_text(plan_words[1:], missing))
    task, title = _split_to(rest, "rename", "#7 to Send signed MSA")
    return c.RenameTask(_task_ref(task, "rename"), title)


def _remove(rest: str, on: Reading) -> c.Command:
    sub, after = _first_word(rest)
    if sub.lower() != "milestone":
        return c.RemoveTask(_task_ref(_tokens(rest), "remove"))
    missing = "Say which milestone: `/map remove milestone Legal review`."
    return c.RemoveMilestone(_text(_tokens(after), missing))


_PARSERS: dict[str, Callable[[str, Reading], c.Command]] = {
    "help": _help,
    "create": _create,
    "status": _no_arguments(c.Status()),
    "mine": _no_arguments(c.Mine()),
    "milestone": _milestone,
    "add": _add,
    "assign": _assign,
    "due": _due,
    "golive": _golive,
    "move": _move,
    "rename": _rename,
    "remove": _remove,
    "overview": _no_arguments(c.Overview()),
    "people": _no_arguments(c.People()),
    "draft": _no_arguments(c.DraftDialog()),
    "template": lambda rest, on: template_commands.parse_template(rest, on.today),
    "extend": lambda rest, on: template_commands.parse_extend(rest, on.today),
    "country": lambda rest, on: template_commands.parse_country(rest, on.today),
    "remind": lambda rest, on: remind_commands.parse_remind(rest, on.today),
    "mute": lambda rest, on: remind_commands.parse_mute(True)(rest, on.today),
    "unmute": lambda rest, on: remind_commands.parse_mute(False)(rest, on.today),
    "managers": lambda rest, on: pipeline_commands.parse_managers(rest, _user_id),
    "pipeline": lambda rest, on: pipeline_commands.parse_pipeline(rest, _user_id),
    "timeline": _no_arguments(c.Timeline()),
    "webhook": lambda rest, on: webhook_commands.parse_webhook(rest),
    "calendar": lambda rest, on: webhook_commands.parse_calendar(rest),
    "summary": lambda rest, on: insight_commands.parse_summary(rest),
    "health": lambda rest, on: insight_commands.parse_health(rest),
    "crm": lambda rest, on: crm_commands.parse_crm(rest),
    "export": lambda rest, on: crm_commands.parse_export(rest),
}


def _suggestion(word: str) -> str:
    close = difflib.get_close_matches(word.lower(), VERBS, n=1)
    return f" Did you mean `{close[0]}`?" if close else ""


def parse(text: str, today: date, *, day_first: bool = False) -> c.Command | c.ParseError:
    """One `/map` line as a command, or what was wrong with it. `today` is the plan's;
    `day_first` reads `31/12` as the plan's country writes it (`dates.day_first_in`)."""
    on = Reading(today, day_first)
    word, rest = _first_word(text)
    typed = word.lower()
    if not typed:
        return c.Help()
    verb = VERBS.get(typed)
    if verb is None:
        return c.ParseError(f"Unknown command {quote(word)}.{_suggestion(word)}", None)
    try:
        if typed in _STATUS_VERBS:
            return _set_status(rest, on, typed)
        return _PARSERS[verb](rest, on)
    except (_Refused, DateError, template_commands.Refused) as e:  # all carry the message
        return c.ParseError(str(e), verb)
