"""The local shell: the demo plan shows, a buyer completes a task from a button,
and it runs from a pipe exactly as the README's quick start does."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.shell.console import run_shell
from storage.db import Database
from storage.models import Task

ROOT = Path(__file__).resolve().parent.parent


def _button(output: str, label: str, after: str) -> str:
    """The number of the first `label` button printed after the line containing `after`."""
    tail = output[output.rindex(after) :]
    match = re.search(r"\[(\d+)\] " + re.escape(label), tail)
    assert match, f"no [{label}] button after {after!r}"
    return match.group(1)


def test_demo_plan_and_a_buyer_completing_a_task(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/shell.db"
    out = io.StringIO()
    run_shell(demo_plan=True, db_url=url, lines=["/map mine"], out=out)
    first = out.getvalue()
    assert "LexCorp × Monsters, Inc." in first
    for milestone in (
        "Discovery",
        "Security review",
        "Legal review",
        "Procurement",
        "Kickoff",
        "Go-live",
    ):
        assert milestone in first
    assert "Ask CISO" not in first, "internal tasks never show on the card"
    number = _button(first, "Complete", "Complete security questionnaire")

    out = io.StringIO()
    run_shell(db_url=url, lines=["/show", "/as buyer mike", f"click {number}"], out=out)
    text = out.getvalue()
    assert "You are now mike, buyer side." in text
    assert "(updated)" in text
    assert "~Complete security questionnaire~" in text
    db = Database(url)
    with db.read() as s:
        status = s.scalar(
            select(Task.status).where(Task.title == "Complete security questionnaire")
        )
    assert status == "completed"


def test_buyer_refused_on_a_seller_task_in_the_shell(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/shell.db"
    out = io.StringIO()
    run_shell(demo_plan=True, db_url=url, lines=[], out=out)
    number = _button(out.getvalue(), "Start", "Send MSA and DPA")
    out = io.StringIO()
    run_shell(
        db_url=url, lines=["/show", "/as buyer mike", f"click {number}", "click 999"], out=out
    )
    assert "seller task" in out.getvalue()
    assert "No button [999]" in out.getvalue()


def test_shell_reads_a_pipe(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLACK_")}
    env["PYTHONPATH"] = str(ROOT)
    proc = subprocess.run(
        [sys.executable, "-m", "bot.cli", "shell", "--demo", "--db", f"sqlite:///{tmp_path}/p.db"],
        input="/map help\n/map frobnicate\n/quit\n",
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Scare Floor project tracking" in proc.stdout
    assert "Unknown command" in proc.stdout
    assert "Traceback" not in proc.stderr


def test_modal_home_and_shortcut_in_the_shell(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/shell.db"
    out = io.StringIO()
    run_shell(
        demo_plan=True,
        db_url=url,
        lines=[
            "/map add",
            "submit",  # the title is required: the modal says so and stays open
            "set a Send the pilot report",
            "set c Seller",
            "submit",
            "/home",
            "/say Could you share the DPA?",
            "/shortcut",
            "submit",
        ],
        out=out,
    )
    text = out.getvalue()
    assert "── modal · New task" in text
    assert "✗ Task:" in text, "a validation error comes back on the field"
    assert "`#18` *Send the pilot report* · Seller" in text
    assert "── App Home" in text and "My open tasks" in text
    db = Database(url)
    with db.read() as s:
        titles = set(s.scalars(select(Task.title)))
    assert {"Send the pilot report", "Could you share the DPA?"} <= titles


def test_clock_runs_the_scheduler_in_the_shell(tmp_path: Path) -> None:
    from datetime import timedelta

    from storage.clock import today_in

    tomorrow = today_in("America/New_York") + timedelta(days=1)
    while tomorrow.weekday() >= 5:  # weekends are off by default
        tomorrow += timedelta(days=1)
    out = io.StringIO()
    run_shell(
        demo_plan=True,
        db_url=f"sqlite:///{tmp_path}/shell.db",
        lines=[f"/clock {tomorrow.isoformat()} 09:30", "/clock +1m"],
        out=out,
    )
    text = out.getvalue()
    assert "(scheduler: due" in text
    assert "── DM from MAP bot" in text and "Overdue or due today" in text
    second = text[text.rindex("(scheduler:") :]
    assert "newly queued 0" in second and "sent 0" in second, "a minute later: nothing twice"


def _lines_with(text: str, needle: str) -> list[str]:
    return [line for line in text.splitlines() if needle in line]


def test_menus_are_one_line_and_button_numbers_stay_put(tmp_path: Path) -> None:
    from bot import demo
    from bot.shell.console import Shell
    from storage.clock import today_in

    db = Database(f"sqlite:///{tmp_path}/shell.db")
    db.upgrade()
    demo.seed_demo(db, today_in("America/New_York"))
    out = io.StringIO()
    shell = Shell(db, out)
    try:
        # Overdue, the new task comes first on the card: the others' numbers stay.
        for line in [
            "/map status",
            "/map help",
            "/show",
            "/map add Send the pilot report due 2020-01-01",
            "/show",
        ]:
            print(f"> {line}", file=out)
            shell.run_line(line)
        text = out.getvalue()
        cards = [c.split("\n> ")[0] for c in text.split("── #monsters-deal · MAP bot")[1:]]
        assert len(cards) == 4, "the card from status, /show, the update after add, /show"
        for card in cards:
            menus = _lines_with(card, "Edit…")
            assert menus and all("Mark at risk…" in m for m in menus), "a task's menu is one line"
            tasks = re.findall(r"^\S+ `#\d+` ", card, re.MULTILINE)
            assert len(menus) == len(tasks) >= 4, "one menu line per task shown"
        first = _button(cards[0], "Complete", "Complete security questionnaire")
        for card in cards[1:]:
            assert _button(card, "Complete", "Complete security questionnaire") == first
        full = _button(cards[0], "Full plan", "LexCorp")
        assert _button(cards[3], "Full plan", "LexCorp") == full
        # A new task gets new numbers, never one an unchanged button already has.
        new = _button(cards[2], "Start", "Send the pilot report")
        assert int(new) > max(int(n) for n in re.findall(r"\[(\d+)\]", cards[0]))
        # The number first shown still presses that button, after a refused click
        # (buyers can't edit) and a modal opened and closed.
        edit = _button(cards[0], "Edit…", "Complete security questionnaire")
        for line in [
            "/as buyer mike",
            f"click {edit}",
            f"click {full}",
            "cancel",
            f"click {first}",
        ]:
            shell.run_line(line)
        assert "~Complete security questionnaire~" in out.getvalue()
    finally:
        shell.close()


def test_home_in_the_shell_names_the_channel(tmp_path: Path) -> None:
    out = io.StringIO()
    run_shell(demo_plan=True, db_url=f"sqlite:///{tmp_path}/shell.db", lines=["/home"], out=out)
    home = out.getvalue()[out.getvalue().index("── App Home") :]
    assert "#monsters-deal" in home and "C0MONSTERS" not in home


def test_a_week_forward_shows_the_weeks_nudges_and_digests_in_order(tmp_path: Path) -> None:
    from datetime import datetime

    out = io.StringIO()
    run_shell(
        demo_plan=True, db_url=f"sqlite:///{tmp_path}/shell.db", lines=["/clock +1w"], out=out
    )
    text = out.getvalue()
    assert "Usage" not in text
    passes = re.findall(r"⏰ \w{3} (\d{2} \w{3} \d{2}:\d{2})", text)
    assert passes == sorted(passes, key=lambda p: datetime.strptime(p, "%d %b %H:%M")) or (
        "Dec" in passes[0] and "Jan" in passes[-1]
    ), "oldest first"
    # Every weekday in a week has one 09:00 rep digest; the weekly digest comes once.
    digests = text.count("Overdue or due today")
    assert digests >= 4, f"a digest each weekday, got {digests}"
    assert text.count("Weekly plan digest") == 1
    assert "(in the card's thread)" in text, "buyer nudges on the way"
    assert text.rstrip().splitlines()[-1].startswith("It is now")


@pytest.mark.parametrize("step", ["+90m", "+3h", "+2d", "+1w", "ISO"])
def test_clock_takes_minutes_hours_days_weeks_and_instants(tmp_path: Path, step: str) -> None:
    from datetime import UTC, datetime, timedelta

    if step == "ISO":
        step = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    out = io.StringIO()
    run_shell(db_url=f"sqlite:///{tmp_path}/shell.db", lines=[f"/clock {step}"], out=out)
    assert "It is now" in out.getvalue() and "Usage" not in out.getvalue()


@pytest.mark.parametrize("bad", ["+1y", "soon", "+999w", "2026-13-01"])
def test_clock_refuses_what_it_cannot_read(tmp_path: Path, bad: str) -> None:
    out = io.StringIO()
    run_shell(db_url=f"sqlite:///{tmp_path}/shell.db", lines=[f"/clock {bad}"], out=out)
    assert "Usage: /clock" in out.getvalue() and "It is now" not in out.getvalue()


def test_the_instants_a_clock_jump_ticks_at() -> None:
    from datetime import UTC, datetime, timedelta
    from zoneinfo import ZoneInfo

    from bot.shell.timeline import instants

    start = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)  # 07:00 in New York, 12:00 in London
    got = instants(
        {"America/New_York", "Europe/London"}, {0, 540}, start, start + timedelta(days=1)
    )
    assert got == sorted(got) and len(got) == len(set(got)) == 4
    new_york = [g.astimezone(ZoneInfo("America/New_York")).hour for g in got]
    assert new_york == [9, 19, 0, 4], "NY 09:00, London 00:00, NY 00:00, London 09:00"
    assert all(start < g <= start + timedelta(days=1) for g in got)
    # Across the spring change the local 09:00 stays 09:00 local, not a fixed offset.
    march = datetime(2027, 3, 13, 12, 0, tzinfo=UTC)
    nines = instants({"America/New_York"}, {540}, march, march + timedelta(days=2))
    assert [n.astimezone(ZoneInfo("America/New_York")).hour for n in nines] == [9, 9]
    assert [n.hour for n in nines] == [14, 13], "EST then EDT"
