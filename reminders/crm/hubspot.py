"""HubSpot deals through HubSpot's own client (`hubspot-api-client`), with a
private-app token. Close dates are `closedate` (a datetime, read as its UTC date)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, datetime
from typing import Any, TypeVar

import urllib3
from hubspot import HubSpot
from hubspot.crm.deals import ApiException, SimplePublicObjectInput
from urllib3.util.retry import Retry

from reminders.crm.adapter import (
    TIMEOUT,
    Busy,
    CrmError,
    Deal,
    Invalid,
    NotFound,
    Refused,
    Unreachable,
    Vendor,
    retry_after,
)

# HubSpot's burst limit is per ten seconds; a 429 without Retry-After waits that long.
DEFAULT_WAIT = 10.0
T = TypeVar("T")


class HubSpotCrm:
    vendor: Vendor = "hubspot"

    def __init__(self, token: str, base_url: str) -> None:
        # No retries in the client: a failure goes back to the outbox, which waits.
        self._deals = HubSpot(
            access_token=token, host=base_url.rstrip("/"), retry=Retry(total=0)
        ).crm.deals.basic_api

    def deal(self, object_id: str) -> Deal:
        found = _call(
            lambda: self._deals.get_by_id(
                object_id, properties=["dealname", "closedate"], _request_timeout=TIMEOUT
            )
        )
        props = found.properties or {}
        return Deal(str(found.id), props.get("dealname") or "", _date(props.get("closedate")))

    def push(self, object_id: str, properties: dict[str, str]) -> None:
        body = SimplePublicObjectInput(properties=properties)
        _call(lambda: self._deals.update(object_id, body, _request_timeout=TIMEOUT))


def _date(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).date()
    except ValueError:
        return None


def _call(run: Callable[[], T]) -> T:
    try:
        return run()
    except ApiException as e:
        raise _error(e.status, e.headers, e.body) from None
    except (urllib3.exceptions.HTTPError, OSError) as e:
        raise Unreachable(f"HubSpot didn't answer ({type(e).__name__}).") from None


def _error(status: int, headers: Any, body: object) -> CrmError:
    message = _message(body)
    if status == 401:
        return Refused("HubSpot refused the token (401): connect again with a valid one.")
    if status == 403:
        return Refused(f"HubSpot refused access (403): {message}")
    if status == 404:
        return NotFound("HubSpot has no such deal, or the token can't see it.")
    if status == 429:
        wait = headers.get("Retry-After") if headers is not None else None
        return Busy("HubSpot asked us to slow down (429).", retry_after(wait, DEFAULT_WAIT))
    if 400 <= status < 500:
        return Invalid(f"HubSpot rejected the update ({status}): {message}")
    return Unreachable(f"HubSpot had a problem ({status}).")


def _message(body: object) -> str:
    try:
        return str(json.loads(body)["message"])[:150]  # type: ignore[arg-type]
    except (TypeError, ValueError, KeyError):
        return "no details"
