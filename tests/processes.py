"""MAP bot's own processes, started for tests that kill and restart them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from bot.local_slack import LocalSlack
from bot.local_slack.api import DEFAULT_TOKEN
from storage.db import Database

ROOT = Path(__file__).resolve().parent.parent


def start_tick(
    db: Database, local: LocalSlack, at: str, *, lease: float = 2
) -> subprocess.Popen[str]:
    """`mapbot tick --at AT --pace 0` against the database and the Slack stand-in,
    with a short outbox lease so a killed process's rows are taken over soon."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLACK_")}
    env.update(
        DATABASE_URL=db.url,
        SLACK_API_URL=local.base_url,
        SLACK_BOT_TOKEN=DEFAULT_TOKEN,  # the one a default stand-in issued
        MAPBOT_OUTBOX_LEASE=str(lease),
        PYTHONPATH=str(ROOT),
    )
    return subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "tick", "--at", at, "--pace", "0"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_serve(
    db: Database,
    local: LocalSlack,
    port: int,
    secret: str,
    token: str,
    *,
    lease: float = 2,
    slack_timeout: int = 10,
) -> subprocess.Popen[str]:
    """`mapbot serve` on `port` against the database and the Slack stand-in (its
    delivery worker and scheduler inside, as in production)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLACK_")}
    env.update(
        DATABASE_URL=db.url,
        SLACK_API_URL=local.base_url,
        SLACK_BOT_TOKEN=token,
        SLACK_SIGNING_SECRET=secret,
        HOST="127.0.0.1",
        PORT=str(port),
        MAPBOT_OUTBOX_LEASE=str(lease),
        MAPBOT_SLACK_TIMEOUT=str(slack_timeout),
        PYTHONPATH=str(ROOT),
    )
    return subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "serve"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_healthy(proc: subprocess.Popen[str], port: int, timeout: float = 60) -> None:
    """Until the process answers /healthz (it has migrated and is listening)."""
    import http.client
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"exited {proc.returncode}: {proc.communicate()[1]}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"nothing answered on port {port}")
