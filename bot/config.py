"""Configuration from the environment (names as in DESIGN.md)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from storage.db import default_url, normalise_url

SLACK_API_DEFAULT = "https://slack.com/api/"


@dataclass(frozen=True)
class Settings:
    bot_token: str | None = None
    signing_secret: str | None = None
    app_token: str | None = None  # Socket Mode
    client_id: str | None = None  # multi-workspace OAuth
    client_secret: str | None = None
    database_url: str = field(default_factory=default_url)
    slack_api_url: str = SLACK_API_DEFAULT
    port: int = 3000
    # Seconds between two chat.update calls for one workspace: Slack allows
    # about 50 a minute (Tier 3), so 1.2 s keeps us under it with bursts coalesced.
    card_update_interval: float = 1.2

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env

        def get(name: str) -> str | None:
            value = env.get(name, "").strip()
            return value or None

        api = get("SLACK_API_URL") or SLACK_API_DEFAULT
        return cls(
            bot_token=get("SLACK_BOT_TOKEN"),
            signing_secret=get("SLACK_SIGNING_SECRET"),
            app_token=get("SLACK_APP_TOKEN"),
            client_id=get("SLACK_CLIENT_ID"),
            client_secret=get("SLACK_CLIENT_SECRET"),
            database_url=normalise_url(get("DATABASE_URL") or default_url()),
            slack_api_url=api if api.endswith("/") else api + "/",
            port=int(get("PORT") or 3000),
        )

    @property
    def has_slack(self) -> bool:
        """Enough to talk to a real workspace."""
        return bool(self.signing_secret and (self.bot_token or self.client_id))

    def __repr__(self) -> str:
        # Never print a secret, even by accident in a log line.
        hidden = {"bot_token", "signing_secret", "app_token", "client_secret"}
        parts = [f"{k}={'***' if k in hidden and v else v!r}" for k, v in self.__dict__.items()]
        return f"Settings({', '.join(parts)})"
