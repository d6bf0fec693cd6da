"""Installing into many workspaces, and which Web API client talks to each.

Two modes, as in bolt's own docs:
- single workspace: `SLACK_BOT_TOKEN`; every team gets the one client;
- OAuth: `SLACK_CLIENT_ID` / `SLACK_CLIENT_SECRET`; bolt's OAuth flow at
  `/slack/install` → `/slack/oauth_redirect` saves each workspace's bot token in
  slack_sdk's SQLAlchemy installation store (tables from migration 0006, in the
  app's own database), and each team's client is built from its token.

After `app_uninstalled` / `tokens_revoked` a workspace gets no client: nothing
more is sent there, while its plans stay in the database.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from slack_bolt.oauth.oauth_settings import OAuthSettings
from slack_sdk import WebClient
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore

from bot.config import Settings
from storage.db import Database

log = logging.getLogger(__name__)

INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"
STATE_EXPIRES_SECONDS = 600

# The bot scopes we ask for at install: what manifest.yml lists (a test keeps them equal).
BOT_SCOPES = (
    "commands",  # /map and the message shortcut
    "chat:write",  # the plan card, replies, nudges
    "users:read",  # users.info and user_change: time zone, guest or member
    "users:read.email",  # profile.email in users.info: contact details in /map people
    "channels:read",  # member_joined_channel, channel_shared in public channels
    "groups:read",  # the same in private channels
    "im:write",  # conversations.open: the DM a nudge went to, after a crash
    "im:history",  # conversations.history: was that nudge already sent? (its metadata)
    "channels:history",  # the same check for nudges in public deal channels
    "groups:history",  # and in private ones
    "links:read",  # link_shared: a plan link was posted
    "links:write",  # chat.unfurl: show its live status
    "files:write",  # files_upload_v2: the timeline picture, the pipeline CSV
)


def oauth_mode(settings: Settings) -> bool:
    """OAuth when the app has client credentials and no single-workspace token."""
    return bool(settings.client_id and settings.client_secret and not settings.bot_token)


def installation_store(settings: Settings, db: Database) -> SQLAlchemyInstallationStore:
    return SQLAlchemyInstallationStore(client_id=settings.client_id or "", engine=db.engine)


def oauth_settings(
    settings: Settings, db: Database, store: SQLAlchemyInstallationStore
) -> OAuthSettings:
    return OAuthSettings(
        client_id=settings.client_id,
        client_secret=settings.client_secret,
        scopes=list(BOT_SCOPES),
        installation_store=store,
        # We keep no user tokens: the bot's is all a request needs.
        installation_store_bot_only=True,
        state_store=SQLAlchemyOAuthStateStore(
            expiration_seconds=STATE_EXPIRES_SECONDS, engine=db.engine
        ),
        install_path=INSTALL_PATH,
        redirect_uri_path=REDIRECT_PATH,
    )


class Workspaces:
    """`client_for(team_id)`: the Web API client for a workspace, or None when
    we may not send there (never installed, uninstalled, tokens revoked)."""

    def __init__(
        self,
        make_client: Callable[[str], WebClient],
        *,
        single: WebClient | None = None,
        store: SQLAlchemyInstallationStore | None = None,
    ) -> None:
        self._make = make_client  # bot token → client
        self._single = single
        self._store = store
        self._revoked: set[str] = set()  # single-workspace mode has no store to delete from
        self._clients: dict[str, WebClient] = {}  # bot token → client (reinstall = new token)
        self._lock = threading.Lock()

    @property
    def store(self) -> SQLAlchemyInstallationStore | None:
        return self._store

    def client_for(self, team_id: str) -> WebClient | None:
        if self._store is None:
            with self._lock:
                return None if team_id in self._revoked else self._single
        bot = self._store.find_bot(enterprise_id=None, team_id=team_id)
        if bot is None or not bot.bot_token:
            return None
        with self._lock:
            client = self._clients.get(bot.bot_token)
            if client is None:
                client = self._clients[bot.bot_token] = self._make(bot.bot_token)
            return client

    def uninstalled(self, team_id: str) -> None:
        """`app_uninstalled`: forget the workspace's tokens; keep its plans."""
        log.info("workspace %s uninstalled the app: sending nothing more there", team_id)
        if self._store is not None:
            self._store.delete_all(enterprise_id=None, team_id=team_id)
        self._forget(team_id)

    def bot_token_revoked(self, team_id: str) -> None:
        """`tokens_revoked` naming the bot: the same, for the bot token."""
        log.info("workspace %s revoked the bot token: sending nothing more there", team_id)
        if self._store is not None:
            self._store.delete_bot(enterprise_id=None, team_id=team_id)
        self._forget(team_id)

    def _forget(self, team_id: str) -> None:
        with self._lock:
            if self._store is None:
                self._revoked.add(team_id)
            else:
                self._clients.clear()  # rebuilt on demand from the tokens that remain
