"""Every example in README.md works as written: the shell sessions in its fenced
blocks (`[who@side #channel]> …` lines) and the `printf '…' | mapbot shell` pipe
run through the local shell, and none of them answers with an error."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from bot.shell.console import run_shell

README = Path(__file__).resolve().parent.parent / "README.md"
_FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)
_PROMPT = re.compile(r"^\[[a-z]+@(?:seller|buyer) #[a-z0-9-]+\]> (.+)$")
_PIPE = re.compile(r"printf '([^']*)' \| \S*mapbot shell")
# What the shell or the bot says when a line didn't work.
_FAILED = (":warning:", ":no_entry:", "Unknown", "No button", "Usage:", "No modal", "Traceback")


def sessions() -> list[list[str]]:
    """Each example session in the README: its lines, as typed."""
    text = README.read_text()
    found = []
    for block in _FENCE.findall(text):
        lines = [m[1] for line in block.splitlines() if (m := _PROMPT.match(line))]
        if lines:
            found.append(lines)
    found += [[line for line in m.split("\\n") if line] for m in _PIPE.findall(text)]
    return found


def test_the_readme_has_examples_to_run() -> None:
    examples = sessions()
    assert len(examples) >= 2, "the shell session and the pipe"
    assert any(line.startswith("/map add") for lines in examples for line in lines)


def _answers(output: str, lines: list[str]) -> list[tuple[str, str]]:
    """(line, what came back) for each line typed, from the shell's echo of them."""
    out = []
    for i, line in enumerate(lines):
        start = output.index(f"]> {line}\n") + len(line) + 4
        end = output.find("]> ", start) if i + 1 < len(lines) else len(output)
        out.append((line, output[start:end]))
        output = output[start:]
    return out


@pytest.mark.parametrize("lines", sessions(), ids=lambda lines: lines[0])
def test_every_readme_example_works(tmp_path: Path, lines: list[str]) -> None:
    out = io.StringIO()
    run_shell(demo_plan=True, db_url=f"sqlite:///{tmp_path}/readme.db", lines=lines, out=out)
    for line, answer in _answers(out.getvalue(), lines):
        assert answer.strip(), f"{line!r} got no answer"
        failed = [f for f in _FAILED if f in answer]
        assert not failed, f"README example {line!r} failed:\n{answer}"
