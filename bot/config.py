"""Configuration from the environment (names as in DESIGN.md). A bad value is a
`ConfigError` naming the variable; the CLI prints it on one line and exits 2."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from bot.logs import FORMATS, LEVELS
from storage import secret_box
from storage.db import default_url, normalise_url

SLACK_API_DEFAULT = "https://slack.com/api/"


class ConfigError(ValueError):
    """A setting that cannot work, said in one line."""


def database_url(value: str, name: str = "DATABASE_URL") -> str:
    """A SQLAlchemy URL as given, or a plain file path taken as a SQLite file."""
    if "://" not in value:
        return f"sqlite:///{Path(value).expanduser().resolve()}"
    try:
        make_url(value)
    except ArgumentError:
        raise ConfigError(f"{name}: not a database URL or file path: {value!r}") from None
    return normalise_url(value)


def _port(value: str | None) -> int:
    if value is None:
        return 3000
    if not value.isdigit() or not 0 < int(value) < 65536:
        raise ConfigError(f"PORT: not a TCP port (1-65535): {value!r}")
    return int(value)


def _choice(name: str, value: str | None, choices: tuple[str, ...], default: str) -> str:
    if value is None:
        return default
    for choice in choices:
        if value.lower() == choice.lower():
            return choice
    raise ConfigError(f"{name}: {value!r} is not one of {', '.join(choices)}")


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
    host: str = "0.0.0.0"  # noqa: S104 - a server in a container listens on every interface
    log_level: str = "INFO"
    log_format: str = "text"
    # Seconds between two chat.update calls for one workspace: Slack allows
    # about 50 a minute (Tier 3), so 1.2 s keeps us under it with bursts coalesced.
    card_update_interval: float = 1.2

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env

        def get(name: str) -> str | None:
            value = env.get(name, "").strip()
            return value or None

        try:  # unset is fine (webhooks and feeds then say so); set must be usable
            secret_box.check(get(secret_box.ENV))
        except secret_box.SecretKeyError as e:
            raise ConfigError(str(e)) from None
        api = get("SLACK_API_URL") or SLACK_API_DEFAULT
        if not api.startswith(("http://", "https://")):
            raise ConfigError(f"SLACK_API_URL: not an http(s) URL: {api!r}")
        return cls(
            bot_token=get("SLACK_BOT_TOKEN"),
            signing_secret=get("SLACK_SIGNING_SECRET"),
            app_token=get("SLACK_APP_TOKEN"),
            client_id=get("SLACK_CLIENT_ID"),
            client_secret=get("SLACK_CLIENT_SECRET"),
            database_url=database_url(get("DATABASE_URL") or default_url()),
            slack_api_url=api if api.endswith("/") else api + "/",
            port=_port(get("PORT")),
            host=get("HOST") or cls.host,
            log_level=_choice("LOG_LEVEL", get("LOG_LEVEL"), LEVELS, "INFO"),
            log_format=_choice("LOG_FORMAT", get("LOG_FORMAT"), FORMATS, "text"),
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
