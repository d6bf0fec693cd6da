"""The local shell: the demo plan shows, a buyer completes a task from a button,
and it runs from a pipe exactly as the README's quick start does."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path

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
