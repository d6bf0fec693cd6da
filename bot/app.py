"""`create_app(settings)`: the Bolt app with every listener registered."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)

from bot import clean_input, error_reply, installed, listeners, oauth, replays, request_guard
from bot.after_ack import AfterAck
from bot.config import Settings
from bot.deps import Deps
from bot.observability import RateLimitCounter
from reminders.delivery.card import CardPublisher
from reminders.delivery.home import HomePublisher
from reminders.delivery.refresh_worker import RefreshWorker
from storage.db import Database

log = logging.getLogger(__name__)


def web_client(settings: Settings, token: str | None = None) -> WebClient:
    """A Web API client that honours Retry-After on 429 and retries 5xx and
    dropped connections a few times; every 429 is counted for /metrics."""
    return WebClient(
        token=token or settings.bot_token,
        base_url=settings.slack_api_url,
        timeout=settings.slack_timeout,
        retry_handlers=[
            RateLimitCounter(),  # first: it sees every answer and retries none
            RateLimitErrorRetryHandler(max_retry_count=3),
            ServerErrorRetryHandler(max_retry_count=2),
            ConnectionErrorRetryHandler(max_retry_count=2),
        ],
    )


def workspaces_for(
    settings: Settings, db: Database, client: WebClient | None = None
) -> oauth.Workspaces:
    """One workspace with SLACK_BOT_TOKEN, or many installed through OAuth."""
    store = oauth.installation_store(settings, db) if oauth.oauth_mode(settings) else None
    return oauth.Workspaces(
        lambda token: web_client(settings, token),
        single=None if store else (client or web_client(settings)),
        store=store,
    )


@dataclass
class MapBot:
    app: App
    deps: Deps


def build(
    settings: Settings,
    db: Database | None = None,
    *,
    upgrade: bool = True,
    deliver: bool = True,
    verify_token: bool = True,
) -> MapBot:
    """The app and its collaborators (tests and the shell reach the latter).
    `deliver=False`: an HTTP process of a pre-fork `serve` only marks refreshes;
    the one delivery process sends them. `verify_token=False`: Bolt does not ask
    Slack who the token is while building (the CLI's `SlackLink` asks, and
    retries, so the app starts with Slack down)."""
    db = db or Database(settings.database_url)
    if upgrade:
        db.upgrade()
    client = web_client(settings)
    workspaces = workspaces_for(settings, db, client)
    store = workspaces.store
    # Cards and Homes go out through the outbox; this process's worker sends them
    # (and whatever a crashed process left), paced per workspace in the database.
    refresher = RefreshWorker(
        db,
        workspaces.client_for,
        interval=settings.card_update_interval,
        llm=settings.llm(),
        public_url=settings.public_url,
        sends=deliver,
    )
    wake = refresher.wake if deliver else _nobody
    home = HomePublisher(db, wake)
    publisher = CardPublisher(db, wake)
    deps = Deps(
        settings=settings,
        db=db,
        publisher=publisher,
        home=home,
        workspaces=workspaces,
        refresher=refresher,
        after=AfterAck(),
    )
    if deliver:
        refresher.start()
    app = App(
        # The client carries the bot token (single-workspace mode); with OAuth
        # Bolt finds each workspace's token in the installation store.
        client=client,
        signing_secret=settings.signing_secret,
        oauth_settings=oauth.oauth_settings(settings, db, store) if store else None,
        # A workspace with no installation is answered before authorize (no Slack call).
        before_authorize=installed.only_installed(store) if store else None,
        # Listeners answer within the request (no 10 ms ack polling); card and
        # Home refreshes go through the outbox.
        process_before_response=True,
        # Bolt copies its base logger's level onto each of its loggers (else the
        # root's): this one is kept at WARNING unless LOG_LEVEL=DEBUG (bot/logs.py).
        logger=logging.getLogger("slack_bolt"),
        token_verification_enabled=verify_token,
    )
    app.use(clean_input.middleware)  # before any listener sees a string of the payload
    listeners.register(app, deps)
    error_reply.register(app)
    if settings.signing_secret:
        guard = request_guard.RequestGuard(settings.signing_secret, replays.Replays(db))
        request_guard.attach(app, guard)
    return MapBot(app=app, deps=deps)


def _nobody() -> None:
    """The wake-up of a process that delivers nothing: the delivery process polls."""


def create_app(settings: Settings) -> App:
    return build(settings).app
