"""Configuration from the environment (names as in DESIGN.md). A bad value is a
`ConfigError` naming the variable; the CLI prints it on one line and exits 2."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from bot.logs import FORMATS, LEVELS
from storage import secret_box
from storage.db import default_url, normalise_url

if TYPE_CHECKING:
    from commands.drafting.llm import LlmExtractor

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


DELIVERY = ("serve", "worker")


def cores() -> int:
    """The cores this process may run on (a container's cpuset, not the host's)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


def workers(value: str | None, name: str) -> int:
    """A count of HTTP processes: 1 to 64, default one per core."""
    if value is None:
        return cores()
    if not value.isdigit() or not 1 <= int(value) <= 64:
        raise ConfigError(f"{name}: not a number of processes (1-64): {value!r}")
    return int(value)


# Waitress threads in each HTTP process when several serve one SQLite file: the
# app's work on a request holds the GIL (no Slack call before the answer) and
# SQLite answers in process, so a second thread in the same process only takes
# turns with the first, at the cost of GIL hand-overs at every SQLite or socket
# call (measured: half the throughput with 8 threads, bench/http_bench.py).
# Parallelism comes from the processes. On PostgreSQL a request waits on the
# server's round trips, which another thread uses (8 threads: about twice the
# /map status throughput of 1), as does a process serving alone, where a slow
# request must not hold every other one.
SQLITE_PREFORK_THREADS = 1
THREADS = 8


def default_threads(workers: int, sqlite: bool) -> int:
    return SQLITE_PREFORK_THREADS if workers > 1 and sqlite else THREADS


def http_threads(value: str | None) -> int | None:
    """Waitress threads per HTTP process (MAPBOT_HTTP_THREADS): 1 to 64, or None
    for the default (`default_threads`)."""
    if value is None:
        return None
    if not value.isdigit() or not 1 <= int(value) <= 64:
        raise ConfigError(f"MAPBOT_HTTP_THREADS: not a number of threads (1-64): {value!r}")
    return int(value)


def _choice(name: str, value: str | None, choices: tuple[str, ...], default: str) -> str:
    if value is None:
        return default
    for choice in choices:
        if value.lower() == choice.lower():
            return choice
    raise ConfigError(f"{name}: {value!r} is not one of {', '.join(choices)}")


def _public_url(value: str | None) -> str:
    if value is None:
        return ""
    if not value.startswith(("https://", "http://")) or " " in value:
        raise ConfigError(f"PUBLIC_URL: not an http(s) URL: {value!r}")
    return value.rstrip("/")


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
    # Seconds a Web API call may take before the client gives up (an unknown fate
    # for a post: the outbox looks it up). MAPBOT_SLACK_TIMEOUT, whole seconds.
    slack_timeout: int = 10
    # `mapbot serve`: HTTP processes (MAPBOT_WORKERS, default one per core), and
    # whether serve also runs the scheduler and delivery ("serve", in one process)
    # or leaves them to `mapbot worker` (MAPBOT_DELIVERY=worker).
    workers: int = field(default_factory=lambda: cores())
    # Waitress threads per HTTP process (MAPBOT_HTTP_THREADS); None: default_threads.
    threads: int | None = None
    delivery: str = "serve"
    # Drafting with a language model (optional): an OpenAI-compatible endpoint.
    llm_url: str | None = None  # as commands.drafting.llm.check_url returns it
    llm_model: str | None = None
    llm_key: str | None = None
    llm_timeout: float = 20.0
    public_url: str = ""  # links to plans (they unfurl), e.g. https://mapbot.example.com

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env

        def get(name: str) -> str | None:
            value = env.get(name, "").strip()
            return value or None

        llm_url = get("MAPBOT_LLM_URL")
        if llm_url:
            from commands.drafting.llm import check_url

            try:
                llm_url = check_url(llm_url)
            except ValueError as e:
                raise ConfigError(f"MAPBOT_LLM_URL: {e}") from None
            if not get("MAPBOT_LLM_MODEL"):
                raise ConfigError("MAPBOT_LLM_MODEL must be set with MAPBOT_LLM_URL")
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
            slack_timeout=_seconds("MAPBOT_SLACK_TIMEOUT", get("MAPBOT_SLACK_TIMEOUT"), 10),
            workers=workers(get("MAPBOT_WORKERS"), "MAPBOT_WORKERS"),
            threads=http_threads(get("MAPBOT_HTTP_THREADS")),
            delivery=_choice("MAPBOT_DELIVERY", get("MAPBOT_DELIVERY"), DELIVERY, "serve"),
            public_url=_public_url(get("PUBLIC_URL")),
            llm_url=llm_url,
            llm_model=get("MAPBOT_LLM_MODEL"),
            llm_key=get("MAPBOT_LLM_KEY"),
        )

    def llm(self) -> LlmExtractor | None:
        """The drafting model, when one is configured (else the built-in extractor)."""
        if not (self.llm_url and self.llm_model):
            return None
        from commands.drafting.llm import LlmExtractor, check_url

        return LlmExtractor(
            check_url(self.llm_url), self.llm_model, self.llm_key or "", self.llm_timeout
        )

    @property
    def has_slack(self) -> bool:
        """Enough to talk to a real workspace."""
        return bool(self.signing_secret and (self.bot_token or self.client_id))

    def __repr__(self) -> str:
        # Never print a secret, even by accident in a log line.
        hidden = {"bot_token", "signing_secret", "app_token", "client_secret", "llm_key"}
        parts = [f"{k}={'***' if k in hidden and v else v!r}" for k, v in self.__dict__.items()]
        return f"Settings({', '.join(parts)})"


def _seconds(name: str, value: str | None, default: int) -> int:
    if value is None:
        return default
    try:
        seconds = int(value)
    except ValueError:
        raise ConfigError(f"{name}: not a whole number of seconds: {value!r}") from None
    if not 0 < seconds <= 300:
        raise ConfigError(f"{name}: must be between 0 and 300 seconds, not {value}")
    return seconds
