"""`commands.parser.parse`: the `/map` language, per verb, and for any text at all."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from commands import syntax as c
from commands.parser import VERBS, parse
from commands.usage import USAGE, overview, usage_for

TODAY = date(2026, 11, 27)  # a Friday
FRI = date(2026, 12, 4)  # "friday" from TODAY
T7 = c.TaskRef(number=7)
SQ = c.TaskRef(words="security questionnaire")


def parsed(text: str) -> c.Command | c.ParseError:
    return parse(text, TODAY)


VALID: list[tuple[str, c.Command]] = [
    # help
    ("", c.Help()),
    ("   ", c.Help()),
    ("help", c.Help()),
    ("HELP add", c.Help("add")),
    ("help complete", c.Help("done")),
    ("help go-live", c.Help("golive")),
    # create
    ("create Acme rollout", c.Create("Acme rollout")),
    ("create Acme rollout go-live Dec 15", c.Create("Acme rollout", golive=date(2026, 12, 15))),
    ("create Acme golive 2027-01-10", c.Create("Acme", golive=date(2027, 1, 10))),
    ("create Acme from Enterprise go-live +2w", c.Create("Acme", date(2026, 12, 11), "Enterprise")),
    ("create Go-live readiness", c.Create("Go-live readiness")),
    ('create "Migration from Oracle"', c.Create("Migration from Oracle")),
    ("Create   Acme    rollout  ", c.Create("Acme rollout")),
    # status, mine
    ("status", c.Status()),
    ("STATUS ", c.Status()),
    ("mine", c.Mine()),
    # milestone
    ("milestone add Security review", c.MilestoneAdd("Security review")),
    (
        "milestone add Security review due Nov 30",
        c.MilestoneAdd("Security review", date(2026, 11, 30)),
    ),
    ("milestone add Legal due diligence", c.MilestoneAdd("Legal due diligence")),
    ("milestone status Security review done", c.MilestoneStatus("Security review", "completed")),
    ("milestone status Legal started", c.MilestoneStatus("Legal", "in_progress")),
    ("milestone status Legal in progress", c.MilestoneStatus("Legal", "in_progress")),
    ("milestone status Legal Not Started", c.MilestoneStatus("Legal", "not_started")),
    ("milestone status Legal auto", c.MilestoneStatus("Legal", None)),
    # add
    ("add Send MSA", c.Add("Send MSA")),
    ("add Send MSA to legal", c.Add("Send MSA", milestone="legal")),
    ('add "Send MSA to legal"', c.Add("Send MSA to legal")),
    ("add “Send MSA to legal” to Contracting", c.Add("Send MSA to legal", milestone="Contracting")),
    (
        "add Sign order form to Contracting owner buyer <@U123ABC|jane> due friday internal",
        c.Add("Sign order form", "Contracting", "buyer", "U123ABC", FRI, True),
    ),
    (
        "add Sign order form internal due friday <@W9> for seller to Legal review",
        c.Add("Sign order form", "Legal review", "seller", "W9", FRI, True),
    ),
    ("add Prep deck for buyer", c.Add("Prep deck", owner="buyer")),
    ("add Prep deck for the CFO", c.Add("Prep deck for the CFO")),
    ("add Send buyer deck", c.Add("Send buyer deck")),  # a bare side is title text
    ("add Call buyer", c.Add("Call buyer")),
    ("add Confirm owner of budget OWNER Mutual", c.Add("Confirm owner of budget", owner="mutual")),
    ("add Review due diligence", c.Add("Review due diligence")),
    (
        "add Review due diligence due Dec 15, 2026",
        c.Add("Review due diligence", due=date(2026, 12, 15)),
    ),
    ("add Share internal pricing", c.Add("Share internal pricing")),
    ("add Share internal pricing internal", c.Add("Share internal pricing", internal=True)),
    ("add Kickoff <@U1>", c.Add("Kickoff", assignee="U1")),
    ("add Ping <!channel> about <#C123|general>", c.Add("Ping <!channel> about <#C123|general>")),
    ("add Ping <!here>", c.Add("Ping <!here>")),
    ("add R&amp;D sign-off &lt;3", c.Add("R&D sign-off <3")),
    ("add", c.AddDialog()),
    ("create", c.CreateDialog()),
    # assign
    ("assign #7 <@U123ABC|jane>", c.Assign(T7, "U123ABC")),
    ("assign #7 <@U123ABC>", c.Assign(T7, "U123ABC")),
    ("assign security questionnaire to <@W42|bob smith>", c.Assign(SQ, "W42")),
    ("assign #7 nobody", c.Assign(T7, None)),
    ("assign #7 none", c.Assign(T7, None)),
    # start, done, reopen
    ("start #7", c.SetStatus(T7, "in_progress")),
    ("done #7", c.SetStatus(T7, "completed")),
    ("Complete security questionnaire", c.SetStatus(SQ, "completed")),
    ("finish #7", c.SetStatus(T7, "completed")),
    ("reopen #7", c.SetStatus(T7, "not_started")),
    ('done "Send MSA to legal"', c.SetStatus(c.TaskRef(words="Send MSA to legal"), "completed")),
    ("done #7a", c.SetStatus(c.TaskRef(words="#7a"), "completed")),
    # due
    ("due #7 friday", c.Due(T7, FRI)),
    ("due #7 Dec 15, 2026", c.Due(T7, date(2026, 12, 15))),
    ("due #7 none", c.Due(T7, None)),
    ("due security questionnaire friday", c.Due(SQ, FRI)),
    ("due security questionnaire in 2 business days", c.Due(SQ, date(2026, 12, 1))),
    ("due security questionnaire next friday", c.Due(SQ, FRI)),
    ("due security questionnaire Jan 10", c.Due(SQ, date(2027, 1, 10))),
    ("due security questionnaire clear", c.Due(SQ, None)),
    ("due security questionnaire end of week", c.Due(SQ, FRI - timedelta(days=7))),
    ("due Review 2026 plan Dec 15", c.Due(c.TaskRef(words="Review 2026 plan"), date(2026, 12, 15))),
    ('due "Q3 review" tomorrow', c.Due(c.TaskRef(words="Q3 review"), date(2026, 11, 28))),
    # golive
    ("golive Jan 15", c.GoLive(date(2027, 1, 15))),
    ("go-live none", c.GoLive(None)),
    ("target +2w", c.GoLive(date(2026, 12, 11))),
    # move
    ("move #7 to Contracting", c.Move(T7, "Contracting")),
    ("move security questionnaire to Legal review", c.Move(SQ, "Legal review")),
    (
        'move "Send MSA to legal" to Contracting',
        c.Move(c.TaskRef(words="Send MSA to legal"), "Contracting"),
    ),
    # rename
    ("rename #7 to Send signed MSA", c.RenameTask(T7, "Send signed MSA")),
    ("rename #7 to Path to production", c.RenameTask(T7, "Path to production")),
    ("rename milestone Legal to Contracting", c.RenameMilestone("Legal", "Contracting")),
    ("rename plan to Acme 2027", c.RenamePlan("Acme 2027")),
    (
        "rename plan review to Plan review",
        c.RenameTask(c.TaskRef(words="plan review"), "Plan review"),
    ),
    # remove
    ("remove #7", c.RemoveTask(T7)),
    ("delete security questionnaire", c.RemoveTask(SQ)),
    ("remove milestone Legal review", c.RemoveMilestone("Legal review")),
]


@pytest.mark.parametrize(("text", "expected"), VALID)
def test_valid(text: str, expected: c.Command) -> None:
    assert parsed(text) == expected


INVALID: list[tuple[str, str | None, str]] = [
    ("frobnicate stuff", None, "Unknown command “frobnicate”."),
    ("ad Send MSA", None, "Did you mean `add`?"),
    ("<script>", None, "“&lt;script&gt;”"),
    ("help xyzzy", "help", "“xyzzy”"),
    ("create go-live Dec 1", "create", "needs a title"),
    ("create Acme from", "create", "after `from`"),
    ("status now", "status", "“now”"),
    ("mine all", "mine", "“all”"),
    ("milestone", "milestone", "milestone add"),
    ("milestone rename X", "milestone", "milestone add"),
    ("milestone add", "milestone", "needs a title"),
    ("milestone status Legal", "milestone", "done, started, not started or auto"),
    ("milestone status done", "milestone", "done, started, not started or auto"),
    ("add to Legal", "add", "needs a title"),
    ("add Send MSA to", "add", "after `to`"),
    ("add X due friday due monday", "add", "given twice"),
    ("add X <@U1> <@U2>", "add", "given twice"),
    ("add Call @jane", "add", "“@jane” isn't a Slack mention"),
    ("add Call <@U1> about pricing", "add", "“about pricing”"),
    ('add "Unclosed title', "add", "isn't closed"),
    ('add "Quoted" stray words', "add", "“stray words”"),
    ("assign #7", "assign", "the person"),
    ("assign #7 @jane", "assign", "isn't a Slack mention"),
    ("assign #7 jane", "assign", "“jane” isn't a person"),
    ("assign #7 <!channel>", "assign", "“&lt;!channel&gt;” isn't a person"),
    ("assign <@U1>", "assign", "the person"),
    ("start", "start", "Say which task"),
    ("complete", "done", "Say which task"),
    ("reopen   ", "reopen", "Say which task"),
    ("due #7", "due", "Say the date"),
    ("due #7 soonish", "due", "“soonish” isn't a date"),
    ("due #7 Feb 30", "due", "“Feb 30” isn't a real date"),
    ("due security questionnaire", "due", "couldn't find a date"),
    ("due friday", "due", "couldn't find a date"),
    ("golive", "golive", "Say the date"),
    ("target soonish", "golive", "“soonish”"),
    ("go-live 2026-13-45", "golive", "isn't a real date"),
    ("move #7 Contracting", "move", "Put `to`"),
    ("move #7 to", "move", "after `to`"),
    ("move", "move", "Put `to`"),
    ("rename #7", "rename", "Put `to`"),
    ("rename plan to", "rename", "new title"),
    ("rename milestone Legal", "rename", "Put `to`"),
    ("remove", "remove", "Say which task"),
    ("delete milestone", "remove", "Say which milestone"),
    ('done " "', "done", "Say which task"),
    ('add "" to Legal', "add", "needs a title"),
    ("add “ ” due friday", "add", "needs a title"),
    ('milestone status "" done', "milestone", "Say the milestone"),
    ('rename milestone "" to X', "rename", "which milestone"),
]


@pytest.mark.parametrize(("text", "verb", "says"), INVALID)
def test_invalid(text: str, verb: str | None, says: str) -> None:
    result = parsed(text)
    assert isinstance(result, c.ParseError)
    assert result.verb == verb
    assert says in result.message


def test_every_verb_and_alias_has_help() -> None:
    for typed, verb in VERBS.items():
        assert verb in USAGE
        assert parsed(f"help {typed}") == c.Help(verb)
        assert usage_for(verb) == USAGE[verb]


def test_every_verb_alone_parses() -> None:
    for typed in VERBS:
        check_result(parsed(typed))
        check_result(parsed(f"{typed} #7 to x due friday <@U1>"))


def test_usage_is_escaped_mrkdwn_with_examples() -> None:
    for verb, text in USAGE.items():
        assert f"`/map {verb}" in text
        assert "<" not in text and ">" not in text  # placeholders are escaped for Slack
        assert 1 <= len(text.splitlines()) <= 3
    assert usage_for(None) == overview() == usage_for("nonsense")
    assert all(f"`/map {verb}`" in overview() for verb in USAGE if verb != "help")


@pytest.mark.parametrize(
    ("mention", "user_id"),
    [
        ("<@U123ABC|jane>", "U123ABC"),
        ("<@U123ABC>", "U123ABC"),
        ("<@W0ENTERPRISE|jane.doe>", "W0ENTERPRISE"),
        ("<@U1|Jane Doe>", "U1"),
    ],
)
def test_mention_forms(mention: str, user_id: str) -> None:
    assert parsed(f"assign #7 {mention}") == c.Assign(T7, user_id)
    assert parsed(f"add Kickoff {mention} due friday") == c.Add(
        "Kickoff", assignee=user_id, due=FRI
    )


@pytest.mark.parametrize("special", ["<!channel>", "<!here>", "<!everyone>", "<#C123|general>"])
def test_special_mentions_stay_in_titles(special: str) -> None:
    assert parsed(f"add Tell {special} the news") == c.Add(f"Tell {special} the news")
    assert parsed(f"create {special} rollout") == c.Create(f"{special} rollout")


def test_errors_quote_user_text_escaped_and_short() -> None:
    result = parsed("due #7 <!channel> & <@U1>")
    assert isinstance(result, c.ParseError)
    assert "&lt;!channel&gt; &amp; &lt;@U1&gt;" in result.message
    long = parsed("x" * 5000)
    assert isinstance(long, c.ParseError) and len(long.message) < 200


@pytest.mark.parametrize("today", [date.min, date.max])
@pytest.mark.parametrize(
    "text",
    [
        "due #7 tomorrow",
        "due #7 yesterday",
        "due review friday",
        "add x due friday",
        "golive eow",
        "create Acme go-live +1bd",
        "milestone add Legal due -1m",
    ],
)
def test_calendar_edges_never_raise(text: str, today: date) -> None:
    check_result(parse(text, today))


def test_a_date_past_year_9999_is_explained() -> None:
    assert parse("due #7 tomorrow", date.max) == c.ParseError("“tomorrow” is too far away.", "due")
    assert parse("golive -1bd", date.min) == c.ParseError("“-1bd” is too far away.", "golive")


# --- any text at all -----------------------------------------------------------


def check_result(result: c.Command | c.ParseError) -> None:
    """What every result must satisfy, whatever the input."""
    if isinstance(result, c.ParseError):
        assert result.message.strip()
        assert result.verb is None or result.verb in USAGE
        assert "<" not in result.message and ">" not in result.message  # safe mrkdwn
        return
    assert isinstance(result, c.Command)
    ref = getattr(result, "task", None)
    if ref is not None:
        assert ref.number is not None or ref.words.strip()
    if isinstance(result, c.Add | c.Create | c.MilestoneAdd | c.RenameTask | c.RenamePlan):
        assert result.title.strip() == result.title and result.title
    for field in ("milestone", "template"):  # names are None or words, never blank
        name = getattr(result, field, None)
        assert name is None or (name.strip() == name and name)
    if isinstance(result, c.Add | c.Assign):
        user = result.assignee if isinstance(result, c.Add) else result.user_id
        assert user is None or user[0] in "UW"


@given(st.text(max_size=200))
def test_any_text_parses_or_explains(text: str) -> None:
    check_result(parse(text, TODAY))


WORDS = [
    *VERBS,
    *("to", "owner", "for", "due", "internal", "from", "milestone", "plan", "status", "add"),
    *("buyer", "seller", "mutual", "nobody", "none", "done", "started", "not", "auto", "go-live"),
    *("friday", "next", "Dec", "15", "2026-02-29", "Feb", "30", "+3d", "+5bd", "in", "2", "weeks"),
    *("#7", "#0", "#", "Send", "MSA", "legal", '"', "“", "”", "<@U1|jane>", "<@W2>", "@jane"),
    *("<!channel>", "<#C1|general>", "<", ">", "&amp;", "&lt;", "|", ",", "\t", "\n"),
]


@given(st.lists(st.sampled_from(WORDS), max_size=14), st.dates())
def test_grammar_soup_parses_or_explains(words: list[str], today: date) -> None:
    check_result(parse(" ".join(words), today))


TITLE_WORDS = st.sampled_from(["Send", "MSA", "security", "review", "Q3", "pricing", "R&D"])
CLAUSES = {
    "milestone": st.sampled_from(["Legal", "Legal review", "Go live"]).map(lambda m: f"to {m}"),
    "owner": st.sampled_from(["owner", "for"]).flatmap(
        lambda kw: st.sampled_from(["buyer", "seller", "mutual"]).map(lambda s: f"{kw} {s}")
    ),
    "assignee": st.sampled_from(["<@U1|jane>", "<@W2>"]),
    "due": st.sampled_from(["friday", "Dec 15", "+3d", "in 2 business days"]).map(
        lambda d: f"due {d}"
    ),
    "internal": st.just("internal"),
}


@given(
    title=st.lists(TITLE_WORDS, min_size=1, max_size=5),
    clauses=st.lists(st.sampled_from(sorted(CLAUSES)), unique=True).flatmap(st.permutations),
    data=st.data(),
)
def test_add_clauses_in_any_order(
    title: list[str], clauses: list[str], data: st.DataObject
) -> None:
    said = {key: data.draw(CLAUSES[key]) for key in clauses}
    result = parsed(" ".join(["add", *title, *said.values()]))
    assert isinstance(result, c.Add)
    assert result.title == " ".join(title)
    assert result.milestone == (
        said["milestone"].removeprefix("to ") if "milestone" in said else None
    )
    assert result.owner == (said["owner"].split()[1] if "owner" in said else None)
    assert result.assignee == ({"<@U1|jane>": "U1", "<@W2>": "W2"}.get(said.get("assignee", "")))
    assert (result.due is not None) == ("due" in said)
    assert result.internal == ("internal" in said)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "add Send pricing to <@W0ROZ> owner seller",
            c.Add("Send pricing", None, "seller", "W0ROZ"),
        ),
        (
            "add Send pricing to <@W0ROZ|roz> due friday",
            c.Add("Send pricing", assignee="W0ROZ", due=FRI),
        ),
        ("add Deck to Kickoff to <@U1>", c.Add("Deck", milestone="Kickoff", assignee="U1")),
        ('add "Send MSA to legal" to <@U1>', c.Add("Send MSA to legal", assignee="U1")),
    ],
)
def test_to_a_mention_assigns(text: str, expected: c.Command) -> None:
    assert parsed(text) == expected


def test_to_something_else_is_still_a_milestone() -> None:
    assert parsed("add Deck to <!channel>") == c.Add("Deck", milestone="<!channel>")
    bad = parsed("add Deck to @roz")
    assert isinstance(bad, c.ParseError) and "Slack mention" in bad.message


def test_numeric_dates_follow_the_reading_order() -> None:
    assert parse("due #7 31/12/2026", TODAY, day_first=True) == c.Due(T7, date(2026, 12, 31))
    assert parse("due #7 03/04/2027", TODAY, day_first=True) == c.Due(T7, date(2027, 4, 3))
    assert parse("due #7 03/04/2027", TODAY) == c.Due(T7, date(2027, 3, 4))
    refused = parse("due #7 31/12/2026", TODAY)
    assert isinstance(refused, c.ParseError) and "month first" in refused.message
    assert parse("add Kickoff due 31.12.2026", TODAY, day_first=True) == c.Add(
        "Kickoff", due=date(2026, 12, 31)
    )
