"""The local shell shows the pipeline and writes the timeline PNG to a file it names."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from bot.shell.console import run_shell


def test_pipeline_and_timeline_in_the_shell(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    out = io.StringIO()
    run_shell(
        demo_plan=True,
        db_url=f"sqlite:///{tmp_path}/shell.db",
        lines=["/map pipeline", "/map timeline"],
        out=out,
    )
    text = out.getvalue()
    assert "Pipeline" in text and "LexCorp × Monsters, Inc." in text
    assert "[1] Download CSV" in text or "Download CSV" in text
    written = re.search(r"written to (\S+\.png)", text)
    assert written, text[-2000:]
    path = Path(written.group(1))
    assert path.parent == tmp_path and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "Timeline of LexCorp" in text, "the alt text is shown"
    assert "Ask CISO" not in text.split("/map timeline")[-1], "nothing internal with the picture"
