"""One signed POST (Standard Webhooks, `standardwebhooks`), connected to the
address `reminders.webhooks.address` checked, with no redirects and no retries of its own:
the outbox decides what is tried again."""

from __future__ import annotations

import base64
import os
import secrets
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime

import urllib3
from standardwebhooks.webhooks import Webhook

from reminders.webhooks.address import IPAddress, Target
from storage.clock import wall

USER_AGENT = "MAPbot-Webhooks/1"
MAX_ANSWER = 64 * 1024  # what we read of a receiver's answer (we need only its status)


def timeout_seconds() -> float:
    return float(os.environ.get("MAPBOT_WEBHOOK_TIMEOUT", "10"))


def new_secret() -> str:
    """A signing secret in the spec's form: `whsec_` and 24 random bytes, base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def headers(secret: str, event_id: str, body: str, at: datetime) -> dict[str, str]:
    """The spec's three headers: the id (the event's, on every retry), the
    attempt's timestamp, and the signature over both and the body."""
    return {
        "webhook-id": event_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(event_id, at, body),
    }


@dataclass(frozen=True)
class Answer:
    status: int  # 0: no answer (timeout, refused connection)
    retry_after: float | None = None
    error: str = ""


def post(target: Target, ip: IPAddress, body: str, signed: dict[str, str]) -> Answer:
    timeout = urllib3.Timeout(connect=min(5.0, timeout_seconds()), read=timeout_seconds())
    pool: urllib3.HTTPConnectionPool
    if target.scheme == "https":
        # Connect to the checked address; TLS still verifies the certificate for the name.
        pool = urllib3.HTTPSConnectionPool(
            str(ip),
            target.port,
            server_hostname=target.host,
            assert_hostname=target.host,
            cert_reqs="CERT_REQUIRED",
            timeout=timeout,
            retries=False,
            maxsize=1,
        )
    else:
        pool = urllib3.HTTPConnectionPool(
            str(ip), target.port, timeout=timeout, retries=False, maxsize=1
        )
    try:
        response = pool.urlopen(
            "POST",
            target.path,
            body=body.encode(),
            headers={
                "Host": target.host_header,
                "Content-Type": "application/json",
                "User-Agent": USER_AGENT,
                **signed,
            },
            redirect=False,
            retries=False,
            preload_content=False,
            assert_same_host=False,
        )
        try:
            response.read(MAX_ANSWER)
        finally:
            response.release_conn()
    except urllib3.exceptions.TimeoutError:
        return Answer(0, error="timeout")
    except urllib3.exceptions.HTTPError as e:
        return Answer(0, error=type(e).__name__)
    finally:
        pool.close()
    return Answer(response.status, _retry_after(response.headers.get("Retry-After")))


def _retry_after(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        return max(0.0, (when - wall()).total_seconds())
