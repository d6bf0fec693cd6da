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
