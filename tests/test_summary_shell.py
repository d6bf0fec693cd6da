"""The local shell shows the summary and the plan's health: on the card, from the
card's Summary button, and from `/map summary` and `/map health`."""

from __future__ import annotations

import io
from pathlib import Path

from bot.shell.console import run_shell
from tests.test_shell import _button


def test_the_shell_shows_summary_health_and_forecast(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/shell.db"
    out = io.StringIO()
    run_shell(demo_plan=True, db_url=url, lines=["/map summary", "/map health"], out=out)
    text = out.getvalue()
    card = text.split("> /map summary", 1)[0]
    assert any(state in card for state in ("On track", "At risk", "Stalled")), "card health"
    for section in ("Summary: LexCorp × Monsters, Inc.", "Next 14 days", "Who owns what"):
        assert section in text, section
    assert "Thresholds:" in text and ("forecast" in text or "go-live lands" in text)
    assert "Ask CISO" in text, "the seller's own summary lists internal tasks"
    number = _button(text, "Summary", "[1] Full plan")
    out = io.StringIO()
    run_shell(db_url=url, lines=["/as buyer mike", f"click {number}"], out=out)
    shown = out.getvalue()
    assert "Plan summary" in shown and "Who owns what" in shown
    assert "Ask CISO" not in shown, "a buyer's summary holds no internal task"
