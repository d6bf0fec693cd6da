"""A fresh clone runs its tests with nothing beside it, and a test run says the
true reason when it cannot use PostgreSQL."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from tests.conftest import PG_URL, _postgres
from tests.fixtures import SLACK_MANIFEST_SCHEMA, SLACK_PAYLOADS, repository_files

ROOT = Path(__file__).resolve().parent.parent
# Paths that lead out of the repository (the workspace's sibling folder of samples,
# however spelled). Written as patterns so this file does not match itself.
FORBIDDEN = [re.compile(p) for p in (r"/wor[k]/", r"\.\./share[d]", r"parent\s*/\s*.share[d]")]


def _outward_paths(files: list[Path]) -> list[str]:
    return [
        f"{f}: {needle.pattern}"
        for f in files
        for needle in FORBIDDEN
        if needle.search(f.read_text(errors="replace"))
    ]


def test_no_path_outside_the_repository_anywhere() -> None:
    files = repository_files()
    assert {"tests/conftest.py", "README.md"} <= {str(f.relative_to(ROOT)) for f in files}
    assert _outward_paths(files) == []


def test_the_path_check_can_fail(tmp_path: Path) -> None:
    for spelling in ("/wo" + "rk/x", "../sh" + "ared/x", "ROOT.parent / 'sh" + "ared'"):
        probe = tmp_path / "probe.py"
        probe.write_text(f"SAMPLES = {spelling!r}\n")
        assert _outward_paths([probe]) != [], spelling


def test_slack_fixtures_ship_with_their_licences() -> None:
    for folder in (SLACK_PAYLOADS, SLACK_MANIFEST_SCHEMA):
        assert "MIT" in (folder / "LICENSE").read_text()
        assert len(list(folder.glob("*.json"))) >= 2
    readme = (SLACK_PAYLOADS.parent.parent / "README.md").read_text()
    assert "bolt-python" in readme and "manifest" in readme


# --- what a test run says when PostgreSQL is not usable ---------------------------------


def test_database_answers(db: object) -> None:
    """The probe the runs below select; on its own it just needs a database."""
    assert db is not None


def _run_probe(url: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "MAPBOT_REQUIRE_POSTGRES"}
    env["MAPBOT_TEST_POSTGRES_URL"] = url
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-rs",
            "-p",
            "no:cacheprovider",
            f"{Path(__file__).relative_to(ROOT)}::test_database_answers",
            "-k",
            "postgres",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.postgres
def test_a_server_that_does_not_answer_is_a_skip_saying_so() -> None:
    result = _run_probe("postgresql+psycopg://mapbot:mapbot@127.0.0.1:1/mapbot_test")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 skipped" in result.stdout
    assert "server unreachable" in result.stdout and "refused" in result.stdout.lower()


@pytest.mark.postgres
def test_a_refused_login_is_a_skip_saying_so() -> None:
    _postgres()  # the real server is up (else this skips, or fails in CI)
    wrong = make_url(PG_URL).set(password="not-the-password")
    result = _run_probe(wrong.render_as_string(hide_password=False))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 skipped" in result.stdout
    assert "login refused" in result.stdout and "authentication failed" in result.stdout
    assert "unreachable" not in result.stdout


@pytest.mark.postgres
def test_a_failing_migration_fails_and_is_never_a_skip() -> None:
    _postgres()
    # The server answers and lets us in, but no schema is writable: CREATE TABLE fails.
    broken = make_url(PG_URL).update_query_dict({"options": "-csearch_path=nowhere"})
    result = _run_probe(broken.render_as_string(hide_password=False))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "skipped" not in result.stdout
    assert "1 error" in result.stdout and "no schema has been selected" in result.stdout
