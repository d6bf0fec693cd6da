"""Salesforce opportunities through `simple-salesforce`, with an OAuth access
token for the org at SALESFORCE_INSTANCE_URL (always HTTPS: the client builds
https:// URLs itself)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any, TypeVar
from urllib.parse import urlparse

import requests
from requests.adapters import HTTPAdapter
from simple_salesforce.api import SFType
from simple_salesforce.exceptions import SalesforceError

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

API_VERSION = "59.0"
DEFAULT_WAIT = 60.0
T = TypeVar("T")


class _Timeout(HTTPAdapter):
    """simple-salesforce's update takes no timeout: give every request one."""

    def send(  # type: ignore[override]  # requests passes these by keyword
        self, request: requests.PreparedRequest, **kwargs: Any
    ) -> requests.Response:
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = TIMEOUT
        return super().send(request, **kwargs)


class SalesforceCrm:
    vendor: Vendor = "salesforce"

    def __init__(self, token: str, instance_url: str) -> None:
        self._session = requests.Session()
        self._session.mount("https://", _Timeout(max_retries=0))  # the outbox retries
        # simple-salesforce keeps status and body of a failure but not its headers:
        # keep the last response's to honour Retry-After.
        self._last: dict[str, str] = {}
        self._session.hooks["response"].append(self._keep_headers)
        self._opportunity = SFType(
            "Opportunity", token, urlparse(instance_url).netloc, API_VERSION, session=self._session
        )

    def _keep_headers(self, response: requests.Response, *_: object, **__: object) -> None:
        self._last = dict(response.headers)

    def deal(self, object_id: str) -> Deal:
        found = self._call(lambda: self._opportunity.get(object_id))
        close = found.get("CloseDate")
        return Deal(
            str(found.get("Id") or object_id),
            str(found.get("Name") or ""),
            date.fromisoformat(close) if isinstance(close, str) else None,
        )

    def push(self, object_id: str, properties: dict[str, str]) -> None:
        self._call(lambda: self._opportunity.update(object_id, properties))

    def _call(self, run: Callable[[], T]) -> T:
        try:
            return run()
        except SalesforceError as e:
            raise _error(e.status, e.content, self._last) from None
        except (requests.RequestException, OSError) as e:
            raise Unreachable(f"Salesforce didn't answer ({type(e).__name__}).") from None


def _error(status: int, content: object, headers: dict[str, str]) -> CrmError:
    code, message = _first_error(content)
    if status == 401:
        return Refused("Salesforce refused the token (401): connect again with a valid one.")
    if code == "REQUEST_LIMIT_EXCEEDED" or status in (429, 503):
        # The org's API allowance (403 REQUEST_LIMIT_EXCEEDED) or a throttle.
        return Busy(
            f"Salesforce asked us to slow down ({status}).",
            retry_after(headers.get("Retry-After"), DEFAULT_WAIT),
        )
    if status == 403:
        return Refused(f"Salesforce refused access (403): {message}")
    if status == 404:
        return NotFound("Salesforce has no such opportunity, or the token can't see it.")
    if 400 <= status < 500:
        return Invalid(f"Salesforce rejected the update ({status}): {message}")
    return Unreachable(f"Salesforce had a problem ({status}).")


def _first_error(content: object) -> tuple[str, str]:
    """Salesforce answers errors as a list of {errorCode, message}."""
    if isinstance(content, list) and content and isinstance(content[0], dict):
        first = content[0]
        return str(first.get("errorCode", "")), str(first.get("message", ""))[:150]
    return "", "no details"
