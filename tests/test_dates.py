"""`commands.dates`: every accepted form, calendar edges, and what is refused."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from commands.dates import DateError, add_business_days, format_date, parse_date
from storage.workdays import is_business_day

FRI = date(2026, 11, 27)  # a Friday in late November
WED = date(2026, 2, 18)

dates = st.dates(min_value=date(1990, 1, 1), max_value=date(2090, 12, 31))


@pytest.mark.parametrize(
    ("text", "today", "expected"),
    [
        # absolute, with and without a year
        ("2026-12-15", FRI, date(2026, 12, 15)),
        ("2027-1-5", FRI, date(2027, 1, 5)),
        ("Dec 15", FRI, date(2026, 12, 15)),
        ("December 15", FRI, date(2026, 12, 15)),
        ("dec. 15th", FRI, date(2026, 12, 15)),
        ("15 Dec", FRI, date(2026, 12, 15)),
        ("15th of December", FRI, date(2026, 12, 15)),
        ("Dec 15 2026", FRI, date(2026, 12, 15)),
        ("Dec 15, 2026", FRI, date(2026, 12, 15)),
        ("  DEC   15,  2026 ", FRI, date(2026, 12, 15)),
        ("Sept 3", FRI, date(2027, 9, 3)),
        ("12/15", FRI, date(2026, 12, 15)),
        ("12/15/2027", FRI, date(2027, 12, 15)),
        ("12/15/27", FRI, date(2027, 12, 15)),
        # no year: the next occurrence on or after today
        ("Jan 10", FRI, date(2027, 1, 10)),
        ("1/10", FRI, date(2027, 1, 10)),
        ("Nov 27", FRI, date(2026, 11, 27)),
        ("Nov 26", FRI, date(2027, 11, 26)),
        ("Dec 31", date(2026, 12, 31), date(2026, 12, 31)),
        ("Jan 1", date(2026, 12, 31), date(2027, 1, 1)),
        # a past date is fine when the year says so
        ("2020-01-01", FRI, date(2020, 1, 1)),
        # words
        ("today", FRI, FRI),
        ("Tomorrow", FRI, date(2026, 11, 28)),
        ("yesterday", FRI, date(2026, 11, 26)),
        ("tomorrow", date(2026, 12, 31), date(2027, 1, 1)),
        ("yesterday", date(2026, 3, 1), date(2026, 2, 28)),
        ("tomorrow", date(2028, 2, 28), date(2028, 2, 29)),
        # ends of week and month
        ("eow", FRI, FRI),
        ("end of week", WED, date(2026, 2, 20)),
        ("EOW", date(2026, 11, 28), date(2026, 12, 4)),  # Saturday: the coming Friday
        ("eom", FRI, date(2026, 11, 30)),
        ("end of month", WED, date(2026, 2, 28)),
        ("eom", date(2028, 2, 1), date(2028, 2, 29)),
        ("eom", date(2026, 12, 31), date(2026, 12, 31)),
        # weekdays: the coming one, never today
        ("friday", FRI, date(2026, 12, 4)),
        ("next friday", FRI, date(2026, 12, 4)),
        ("this friday", FRI, date(2026, 12, 4)),
        ("fri", WED, date(2026, 2, 20)),
        ("next Friday", WED, date(2026, 2, 20)),
        ("wednesday", WED, date(2026, 2, 25)),
        ("monday", WED, date(2026, 2, 23)),
        ("thurs", WED, date(2026, 2, 19)),
        ("sunday", date(2026, 12, 29), date(2027, 1, 3)),
        # relative
        ("in 3 days", FRI, date(2026, 11, 30)),
        ("in 2 weeks", FRI, date(2026, 12, 11)),
        ("in 1 month", FRI, date(2026, 12, 27)),
        ("in 2 business days", FRI, date(2026, 12, 1)),
        ("+3d", FRI, date(2026, 11, 30)),
        ("+2w", FRI, date(2026, 12, 11)),
        ("+1m", FRI, date(2026, 12, 27)),
        ("-2d", FRI, date(2026, 11, 25)),
        ("+5bd", FRI, date(2026, 12, 4)),
        ("-1bd", date(2026, 11, 30), date(2026, 11, 27)),
        ("+0d", FRI, FRI),
        ("+ 3 days", FRI, date(2026, 11, 30)),
        # month arithmetic clamps to the month's end
        ("+1m", date(2026, 1, 31), date(2026, 2, 28)),
        ("+1m", date(2028, 1, 31), date(2028, 2, 29)),
        ("in 1 month", date(2026, 12, 15), date(2027, 1, 15)),
        ("+12m", date(2028, 2, 29), date(2029, 2, 28)),
        ("+1d", date(2026, 12, 31), date(2027, 1, 1)),
    ],
)
def test_accepted_forms(text: str, today: date, expected: date) -> None:
    assert parse_date(text, today) == expected


@pytest.mark.parametrize(
    ("text", "today", "expected"),
    [
        ("Feb 29", date(2026, 3, 1), date(2028, 2, 29)),
        ("Feb 29", date(2028, 1, 1), date(2028, 2, 29)),
        ("2/29", date(2028, 3, 1), date(2032, 2, 29)),
        ("2028-02-29", FRI, date(2028, 2, 29)),
        ("Feb 29, 2028", FRI, date(2028, 2, 29)),
        ("Feb 28", date(2028, 2, 29), date(2029, 2, 28)),
        ("Mar 1", date(2028, 2, 29), date(2028, 3, 1)),
    ],
)
def test_leap_days(text: str, today: date, expected: date) -> None:
    assert parse_date(text, today) == expected


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("soonish", "isn't a date I understand"),
        ("", "A date is missing"),
        ("   ", "A date is missing"),
        ("2026-13-45", "isn't a real date"),
        ("2026-02-29", "isn't a real date"),
        ("Feb 30", "isn't a real date"),
        ("30 Feb", "isn't a real date"),
        ("Apr 31", "isn't a real date"),
        ("13/1", "isn't a real date"),
        ("0/1", "isn't a real date"),
        ("2/30/2026", "isn't a real date"),
        ("0000-01-01", "isn't a real date"),
        ("Smarch 3", "isn't a date I understand"),
        ("friday afternoon", "isn't a date I understand"),
        ("next", "isn't a date I understand"),
        ("in days", "isn't a date I understand"),
        ("+3x", "isn't a date I understand"),
        ("+99999d", "isn't a date I understand"),
        ("tomorrow tomorrow", "isn't a date I understand"),
        ("3 pm", "isn't a date I understand"),
        ("on friday", "isn't a date I understand"),
    ],
)
def test_refused_with_a_clear_message(text: str, says: str) -> None:
    with pytest.raises(DateError) as e:
        parse_date(text, FRI)
    assert says in str(e.value)
    assert "`2026-12-15`" in str(e.value) and "`+3d`" in str(e.value)  # lists accepted forms


def test_refusal_quotes_escaped_text() -> None:
    with pytest.raises(DateError) as e:
        parse_date("<!channel> & co", FRI)
    assert "“&lt;!channel&gt; &amp; co”" in str(e.value)
    assert "<!channel>" not in str(e.value)


def test_too_far_is_refused() -> None:
    with pytest.raises(DateError, match="too far"):
        parse_date("+9999m", date(9990, 1, 1))
    with pytest.raises(DateError, match="too far"):
        parse_date("Jan 1", date(9999, 12, 31))


@pytest.mark.parametrize(
    "text", ["tomorrow", "friday", "+1d", "+1bd", "in 1 month", "Dec 15", "12/15"]
)
def test_past_year_9999_is_too_far_not_a_crash(text: str) -> None:
    with pytest.raises(DateError, match="too far"):
        parse_date(text, date.max)


@pytest.mark.parametrize("text", ["yesterday", "-1d", "-1bd", "-1m", "-1w"])
def test_before_year_1_is_too_far_not_a_crash(text: str) -> None:
    with pytest.raises(DateError, match="too far"):
        parse_date(text, date.min)


@pytest.mark.parametrize(
    ("d", "n", "expected"),
    [
        (date(2026, 11, 27), 1, date(2026, 11, 30)),  # Fri → Mon
        (date(2026, 11, 30), -1, date(2026, 11, 27)),  # Mon → Fri
        (date(2026, 11, 28), 1, date(2026, 11, 30)),  # from a Saturday
        (date(2026, 11, 29), -1, date(2026, 11, 27)),  # back from a Sunday
        (date(2026, 11, 25), 0, date(2026, 11, 25)),
        (date(2026, 11, 25), 5, date(2026, 12, 2)),  # a full week later
        (date(2026, 12, 31), 1, date(2027, 1, 1)),  # a Thursday into the new year
        (date(2028, 2, 28), 1, date(2028, 2, 29)),  # a leap day is a Tuesday
    ],
)
def test_add_business_days(d: date, n: int, expected: date) -> None:
    assert add_business_days(d, n) == expected


def test_date_error_is_a_value_error() -> None:
    assert issubclass(DateError, ValueError)


@pytest.mark.parametrize(
    ("d", "today", "expected"),
    [
        (date(2026, 12, 15), FRI, "Dec 15"),
        (date(2027, 1, 10), FRI, "Jan 10, 2027"),
        (date(2025, 5, 1), FRI, "May 1, 2025"),
        (date(2026, 1, 1), FRI, "Jan 1"),
        (date(2028, 2, 29), date(2028, 1, 1), "Feb 29"),
    ],
)
def test_format_date(d: date, today: date, expected: str) -> None:
    assert format_date(d, today) == expected


@given(d=dates, today=dates)
def test_format_then_parse_round_trips(d: date, today: date) -> None:
    """What we print, people can type back (a yearless date means the coming one)."""
    if d >= today or d.year != today.year:
        assert parse_date(format_date(d, today), today) == d


@given(d=dates, today=dates)
def test_iso_and_us_forms_with_year(d: date, today: date) -> None:
    assert parse_date(d.isoformat(), today) == d
    assert parse_date(f"{d.month}/{d.day}/{d.year}", today) == d


@given(today=dates, n=st.integers(min_value=-500, max_value=500))
def test_relative_days_and_business_days(today: date, n: int) -> None:
    assert parse_date(f"{n:+d}d", today) == today + timedelta(days=n)
    assert parse_date(f"{n:+d}w", today) == today + timedelta(weeks=n)
    bd = parse_date(f"{n:+d}bd", today)
    assert bd == add_business_days(today, n)
    if n:
        assert is_business_day(bd)


@given(today=dates, n=st.integers(min_value=0, max_value=120))
def test_in_n_months_stays_within_the_month(today: date, n: int) -> None:
    got = parse_date(f"in {n} months", today)
    assert (got.year * 12 + got.month) - (today.year * 12 + today.month) == n
    assert got.day == today.day or (got.day < today.day and (got + timedelta(days=1)).day == 1)


@given(today=dates, wd=st.sampled_from(["mon", "tue", "wed", "thu", "fri", "sat", "sun"]))
def test_weekday_is_the_coming_one(today: date, wd: str) -> None:
    got = parse_date(wd, today)
    assert 1 <= (got - today).days <= 7
    assert got.strftime("%a").lower() == wd
    assert parse_date(f"next {wd}", today) == got == parse_date(f"this {wd}", today)


@given(today=dates, month=st.integers(1, 12), day=st.integers(1, 31))
def test_yearless_month_day_is_on_or_after_today(today: date, month: int, day: int) -> None:
    try:
        got = parse_date(f"{month}/{day}", today)
    except DateError:
        return
    assert (got.month, got.day) == (month, day)
    assert today <= got
    assert got.year <= today.year + 1 or (month, day) == (2, 29)


@given(text=st.text(max_size=40), today=dates)
def test_random_text_is_a_date_or_a_date_error(text: str, today: date) -> None:
    try:
        got = parse_date(text, today)
    except DateError as e:
        assert str(e)
    else:
        assert isinstance(got, date)


def test_who_writes_the_day_first() -> None:
    from commands.dates import day_first_in

    assert [day_first_in(x) for x in ("GB", "de", "FR", "IN", "BR", "AU")] == [True] * 6
    assert [day_first_in(x) for x in ("US", "CA", "PH", "JP", None)] == [False] * 5


def test_how_an_ambiguous_date_was_read() -> None:
    from commands.dates import Reading, how_read

    uk, us = Reading(FRI, day_first=True), Reading(FRI)
    assert how_read("due #3 03/04/2027", uk, [date(2027, 4, 3)]) == [
        "“03/04/2027” read day first: 3 April 2027 (`2027-04-03` is never ambiguous)."
    ]
    assert how_read("due #3 03/04/2027", us, [date(2027, 3, 4)])[0].startswith(
        "“03/04/2027” read month first: 4 March 2027"
    )
    # Only dates that can be read two ways, and only those the command took.
    assert how_read("due #3 31/12/2026", uk, [date(2026, 12, 31)]) == []
    assert how_read("due #3 04/04/2027", uk, [date(2027, 4, 4)]) == []
    assert how_read("add Upgrade to 1.2 due 2027-01-02", uk, [date(2027, 1, 2)]) == []
    assert how_read("add v1.5 rollout due friday", us, [date(2026, 12, 4)]) == []
