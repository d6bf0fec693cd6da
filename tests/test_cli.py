"""`mapbot` as an operator runs it, in a subprocess: --version, configuration
errors as one line and exit 2, --db as a path, and `serve` (one process or
several) / `worker` answering on $HOST:$PORT with logs as JSON lines. A refused
or unreachable Slack does not stop `serve`, `socket` or `worker`: one log line,
retries in the background, and /healthz says so (tests at the end)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect

from bot.config import Settings, default_threads
from bot.local_slack import LocalSlack

ROOT = Path(__file__).resolve().parent.parent
GOOD = "xoxb-good-token"
OURS = ("SLACK_", "DATABASE_URL", "LOG_", "PORT", "HOST", "MAPBOT_")


@pytest.fixture
def local() -> Iterator[LocalSlack]:
    with LocalSlack(tokens={GOOD}) as slack:
        yield slack


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(OURS)}
    env["PYTHONPATH"] = str(ROOT)
    env["DATABASE_URL"] = f"sqlite:///{tmp_path}/mapbot.db"
    env.update(extra)
    return env


def mapbot(
    tmp_path: Path, *args: str, stdin: str = "", **env: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        env=_env(tmp_path, **env),
        cwd=tmp_path,
    )


def _one_line(result: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_version(tmp_path: Path) -> None:
    result = mapbot(tmp_path, "--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"mapbot {version('mapbot')}"


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"PORT": "http"}, "PORT: not a TCP port"),
        ({"PORT": "70000"}, "PORT: not a TCP port"),
        ({"LOG_LEVEL": "loud"}, "LOG_LEVEL: 'loud' is not one of DEBUG"),
        ({"LOG_FORMAT": "xml"}, "LOG_FORMAT: 'xml' is not one of text, json"),
        ({"DATABASE_URL": "://nowhere"}, "DATABASE_URL: not a database URL"),
        ({"SLACK_API_URL": "slack.com/api"}, "SLACK_API_URL: not an http(s) URL"),
        ({"MAPBOT_HTTP_THREADS": "0"}, "MAPBOT_HTTP_THREADS: not a number of threads"),
        ({"MAPBOT_HTTP_THREADS": "many"}, "MAPBOT_HTTP_THREADS: not a number of threads"),
    ],
)
def test_a_bad_setting_is_one_line_and_exit_2(
    tmp_path: Path, env: dict[str, str], says: str
) -> None:
    result = mapbot(tmp_path, "db", "upgrade", **env)
    assert result.returncode == 2
    assert _one_line(result).startswith("mapbot: configuration error: " + says)


def test_serve_without_credentials_is_one_line_and_exit_2(tmp_path: Path) -> None:
    result = mapbot(tmp_path, "serve", SLACK_BOT_TOKEN=GOOD)
    assert result.returncode == 2
    assert "SLACK_SIGNING_SECRET" in _one_line(result)


def test_db_upgrade_and_shell_take_a_file_path(tmp_path: Path) -> None:
    upgraded = mapbot(tmp_path, "db", "upgrade", "--db", "data/plans.db")
    assert upgraded.returncode == 0, upgraded.stderr
    assert upgraded.stdout.strip() == "database is up to date"
    engine = create_engine(f"sqlite:///{tmp_path}/data/plans.db")
    assert {"plan", "task", "outbox"} <= set(inspect(engine).get_table_names())
    engine.dispose()
    shell = mapbot(tmp_path, "shell", "--demo", "--db", "shell.db", stdin="/map status\n")
    assert shell.returncode == 0, shell.stderr
    assert "Scare Floor" in shell.stdout and (tmp_path / "shell.db").exists()
    assert shell.stderr == ""  # no migration chatter on the shell's screen


def test_database_url_may_be_a_path_too(tmp_path: Path) -> None:
    result = mapbot(tmp_path, "db", "upgrade", DATABASE_URL="other.db")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "other.db").stat().st_size > 0


def test_a_database_file_that_cannot_be_made_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a directory")
    result = mapbot(tmp_path, "db", "upgrade", "--db", "file/plans.db")
    assert result.returncode == 1
    assert _one_line(result).startswith("mapbot: FileExistsError")
    debug = mapbot(tmp_path, "db", "upgrade", "--db", "file/plans.db", LOG_LEVEL="DEBUG")
    assert "Traceback" in debug.stderr  # LOG_LEVEL=DEBUG shows where it came from


def test_an_unreachable_database_is_one_line(tmp_path: Path) -> None:
    url = f"postgresql://mapbot:s3cret@127.0.0.1:{_closed_port()}/mapbot"
    result = mapbot(tmp_path, "db", "upgrade", DATABASE_URL=url)
    assert result.returncode == 1
    line = _one_line(result)
    assert line.startswith("mapbot: database not answering at") and "refused" in line
    assert "s3cret" not in line  # the password is never printed


def test_socket_mode_without_an_app_token_is_a_configuration_error(tmp_path: Path) -> None:
    result = mapbot(tmp_path, "socket", SLACK_BOT_TOKEN=GOOD)
    assert result.returncode == 2
    assert "SLACK_APP_TOKEN" in _one_line(result)


# --- running servers ----------------------------------------------------------------------


def _get(url: str, data: bytes | None = None) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, data, timeout=5) as resp:  # noqa: S310 - loopback
            return int(resp.status), resp.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def _wait_for(url: str, proc: subprocess.Popen[str]) -> tuple[int, str]:
    deadline = time.monotonic() + 45
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"exited {proc.returncode}: {_log(proc)}")
        try:
            return _get(url)
        except OSError:
            time.sleep(0.2)
    pytest.fail(f"nothing answered at {url}")


def _started(tmp_path: Path, command: str, **env: str) -> tuple[subprocess.Popen[str], int]:
    """The command running in the background; its stderr goes to a file (read
    while it runs with `_log`, and in full by `_stop`)."""
    port = _closed_port()
    with (tmp_path / f"stderr-{port}.log").open("w") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", command],
            env=_env(tmp_path, HOST="127.0.0.1", PORT=str(port), **env),
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=err,
            text=True,
        )
    _LOGS[proc.pid] = tmp_path / f"stderr-{port}.log"
    return proc, port


_LOGS: dict[int, Path] = {}  # pid → its stderr


def _log(proc: subprocess.Popen[str]) -> str:
    return _LOGS[proc.pid].read_text()


def _logged(proc: subprocess.Popen[str], text: str) -> bool:
    """Whether `text` is (or within 20 s comes to be) in the process's log."""
    deadline = time.monotonic() + 20
    while text not in _log(proc):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def _stop(proc: subprocess.Popen[str]) -> str:
    proc.terminate()
    proc.wait(timeout=30)
    return _log(proc)


@pytest.mark.parametrize(("command", "workers"), [("serve", "1"), ("serve", "2"), ("worker", "")])
def test_serve_and_worker_answer_health_and_metrics_with_json_logs(
    tmp_path: Path, local: LocalSlack, command: str, workers: str
) -> None:
    proc, port = _started(
        tmp_path,
        command,
        SLACK_BOT_TOKEN=GOOD,
        SLACK_SIGNING_SECRET="s",
        SLACK_API_URL=local.base_url,
        LOG_FORMAT="json",
        MAPBOT_WORKERS=workers,
    )
    try:
        status, body = _wait_for(f"http://127.0.0.1:{port}/healthz", proc)
        assert status == 200, body
        health = json.loads(body)
        assert health["database"] == "ok" and health["outbox"]["backlog"] == 0
        assert health["slack"]["SLACK_BOT_TOKEN"]["state"] == "ok"
        status, metrics = _get(f"http://127.0.0.1:{port}/metrics")
        assert status == 200 and "mapbot_outbox_backlog 0.0" in metrics
        # An unsigned POST: refused by the app, not served at all by the worker.
        events = _get(f"http://127.0.0.1:{port}/slack/events", b"command=/map")[0]
        assert events == (404 if command == "worker" else 401)
    finally:
        stderr = _stop(proc)
    records = [json.loads(line) for line in stderr.splitlines()]
    assert records, "nothing was logged"
    assert all({"time", "level", "logger", "message"} <= set(r) for r in records)
    assert f"listening on 127.0.0.1:{port}" in [r["message"] for r in records]
    # Alembic's INFO lines (one per migration) and the libraries' chatter stay out.
    assert {r["logger"].split(".")[0] for r in records} <= {"bot", "reminders", "storage"}, records


def test_log_level_debug_lets_the_libraries_speak(tmp_path: Path) -> None:
    quiet = mapbot(tmp_path, "db", "upgrade", "--db", "a.db")
    loud = mapbot(tmp_path, "db", "upgrade", "--db", "b.db", LOG_LEVEL="debug")
    assert quiet.stderr == ""
    assert "alembic.runtime.migration" in loud.stderr and "Running upgrade" in loud.stderr


def test_a_bad_worker_count_is_a_configuration_error(tmp_path: Path) -> None:
    env = {"SLACK_BOT_TOKEN": GOOD, "SLACK_SIGNING_SECRET": "s"}
    result = mapbot(tmp_path, "serve", MAPBOT_WORKERS="many", **env)
    assert result.returncode == 2
    assert "MAPBOT_WORKERS: not a number of processes" in _one_line(result)
    flag = mapbot(tmp_path, "serve", "--workers", "0", **env)
    assert flag.returncode == 2 and "--workers: not a number of processes" in flag.stderr


# --- Slack refusing or not answering: start anyway, say so, retry -------------------------


def _slack_state(port: int, proc: subprocess.Popen[str], token: str, want: str) -> dict[str, str]:
    """Wait until /healthz shows `token` in state `want`; that state."""
    deadline = time.monotonic() + 45
    body: dict[str, dict[str, dict[str, str]]] = {}
    while time.monotonic() < deadline:
        status, text = _wait_for(f"http://127.0.0.1:{port}/healthz", proc)
        assert status == 200, text  # the database answers: healthy, whatever Slack says
        body = json.loads(text)
        state = body["slack"][token]
        if state["state"] == want:
            every_ok = all(link["state"] == "ok" for link in body["slack"].values())
            assert body["status"] == ("ok" if every_ok else "degraded")
            return state
        time.sleep(0.2)
    pytest.fail(f"{token} never became {want}: {body}")


def _error_lines(stderr: str) -> list[str]:
    assert "Traceback" not in stderr, stderr
    return [line for line in stderr.splitlines() if " ERROR " in line]


@pytest.mark.parametrize(("command", "workers"), [("serve", "1"), ("serve", "2"), ("worker", "")])
def test_a_token_slack_refuses_starts_anyway_and_recovers(
    tmp_path: Path, local: LocalSlack, command: str, workers: str
) -> None:
    proc, port = _started(
        tmp_path,
        command,
        SLACK_BOT_TOKEN="xoxb-revoked",
        SLACK_SIGNING_SECRET="s",
        SLACK_API_URL=local.base_url,
        MAPBOT_WORKERS=workers,
    )
    try:
        refused = _slack_state(port, proc, "SLACK_BOT_TOKEN", "refused")
        assert refused["error"] == "invalid_auth" and refused["since"]
        assert local.tokens is not None
        local.tokens.add("xoxb-revoked")  # the token is good again (say, reinstalled)
        _slack_state(port, proc, "SLACK_BOT_TOKEN", "ok")  # retried with backoff
        assert _logged(proc, "Slack answers SLACK_BOT_TOKEN again")
    finally:
        stderr = _stop(proc)
    # Said once, in one line, not once per retry (nor once per HTTP process).
    assert _error_lines(stderr) == [
        line
        for line in stderr.splitlines()
        if "Slack refused SLACK_BOT_TOKEN: invalid_auth" in line
    ]
    assert len(_error_lines(stderr)) == 1, stderr
    assert "xoxb-revoked" not in stderr  # the token is never logged


def test_an_unreachable_slack_starts_anyway_and_says_so(tmp_path: Path) -> None:
    api = f"http://127.0.0.1:{_closed_port()}/api/"
    proc, port = _started(
        tmp_path,
        "serve",
        SLACK_BOT_TOKEN=GOOD,
        SLACK_SIGNING_SECRET="s",
        SLACK_API_URL=api,
        MAPBOT_WORKERS="1",
    )
    try:
        state = _slack_state(port, proc, "SLACK_BOT_TOKEN", "unreachable")
        assert "Connection refused" in state["error"]
        # Requests are still taken (and refused on their signature, as ever).
        assert _get(f"http://127.0.0.1:{port}/slack/events", b"command=/map")[0] == 401
    finally:
        stderr = _stop(proc)
    lines = _error_lines(stderr)
    assert len(lines) == 1 and "Slack not reachable for SLACK_BOT_TOKEN" in lines[0], stderr


def test_socket_mode_needs_no_signing_secret_and_reports_a_refused_app_token(
    tmp_path: Path, local: LocalSlack
) -> None:
    # No SLACK_SIGNING_SECRET: the app starts, asks Slack for a WebSocket URL with
    # the app token (which this Slack refuses), keeps asking, and says so on
    # /healthz, served on $PORT since Socket Mode has no HTTP of its own.
    proc, port = _started(
        tmp_path,
        "socket",
        SLACK_BOT_TOKEN=GOOD,
        SLACK_APP_TOKEN="xapp-1-revoked",
        SLACK_API_URL=local.base_url,
    )
    try:
        state = _slack_state(port, proc, "SLACK_APP_TOKEN", "refused")
        assert state["error"] == "invalid_auth"
        _slack_state(port, proc, "SLACK_BOT_TOKEN", "ok")
        deadline = time.monotonic() + 20
        while len(local.calls_to("apps.connections.open")) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        stderr = _stop(proc)
    opened = local.calls_to("apps.connections.open")
    assert len(opened) >= 2 and {c.token for c in opened} == {"xapp-1-revoked"}  # retried
    lines = _error_lines(stderr)
    assert len(lines) == 1 and "Slack refused SLACK_APP_TOKEN: invalid_auth" in lines[0], stderr


def test_http_threads_default_to_one_per_process_only_for_several_on_sqlite() -> None:
    """On SQLite a request's work holds the GIL and threads of one process only take
    turns; on PostgreSQL, or a process serving alone, 8 (bench/http_bench.py)."""
    assert default_threads(2, sqlite=True) == 1
    assert default_threads(2, sqlite=False) == 8
    assert default_threads(1, sqlite=True) == 8
    assert Settings.from_env({"MAPBOT_HTTP_THREADS": "3"}).threads == 3
    assert Settings.from_env({}).threads is None
