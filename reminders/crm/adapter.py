"""The interface a CRM meets: read a deal, write some of its properties."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import date
from typing import Literal, Protocol

Vendor = Literal["hubspot", "salesforce"]
VENDORS: tuple[Vendor, ...] = ("hubspot", "salesforce")
TIMEOUT = 10.0  # seconds; a slower CRM is an unknown answer, tried again later


class CrmError(Exception):
    """Something the CRM said; `str()` is a sentence fit for the seller."""


class Refused(CrmError):
    """The CRM refused the credentials: stop pushing and tell the seller."""


class NotFound(CrmError):
    """No such deal (or no access to it)."""


class Invalid(CrmError):
    """The CRM rejected what we sent (a property it doesn't have): the seller must
    fix the field mapping; sending the same again would fail the same way."""


class Busy(CrmError):
    """Rate-limited: wait `retry_after` seconds before the next call."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Unreachable(CrmError):
    """A 5xx, a timeout, a refused connection: try again later."""


@dataclass(frozen=True)
class Deal:
    object_id: str
    name: str
    close_date: date | None


class Crm(Protocol):
    vendor: Vendor

    def deal(self, object_id: str) -> Deal: ...

    def push(self, object_id: str, properties: dict[str, str]) -> None: ...


def crm_for(vendor: Vendor, token: str) -> Crm:
    if vendor == "hubspot":
        from reminders.crm.hubspot import HubSpotCrm

        return HubSpotCrm(token, os.environ.get("HUBSPOT_API_URL", "https://api.hubapi.com"))
    from reminders.crm.salesforce import SalesforceCrm

    return SalesforceCrm(token, salesforce_instance())


def salesforce_instance() -> str:
    """The org's instance URL: operator configuration, never typed by a user (a URL
    from a user would let anyone point the server's requests anywhere)."""
    url = os.environ.get("SALESFORCE_INSTANCE_URL", "")
    if not url:
        raise Refused("Salesforce isn't set up on this server (SALESFORCE_INSTANCE_URL).")
    return url


def retry_after(value: str | None, default: float) -> float:
    """Seconds from a Retry-After header (seconds form), bounded to [1 s, 1 h]."""
    try:
        seconds = float(value) if value is not None else default
    except ValueError:
        seconds = default
    return min(max(seconds, 1.0), 3600.0)


# --- deal references a seller pastes ---------------------------------------------------

# app.hubspot.com/contacts/<portal>/deal/<id> and …/record/0-3/<id> (0-3: deals)
_HUBSPOT_URL = re.compile(r"hubspot\.com/contacts/\d+/(?:deal|record/0-3)/(\d{1,20})(?:[/?#]|$)")
# …lightning.force.com/lightning/r/Opportunity/<id>/view, classic …/<id>
_SALESFORCE_URL = re.compile(
    r"(?:/Opportunity/|force\.com/)(006[A-Za-z0-9]{12}(?:[A-Za-z0-9]{3})?)\b"
)
_SALESFORCE_ID = re.compile(r"006[A-Za-z0-9]{12}(?:[A-Za-z0-9]{3})?")


def deal_ref(vendor: Vendor, text: str) -> str | None:
    """The deal id in what a seller pasted (an id or the record's URL), or None."""
    text = text.strip().strip("<>").split("|", 1)[0]  # Slack wraps links: <url|label>
    if vendor == "hubspot":
        if text.isdigit() and len(text) <= 20:
            return text
        m = _HUBSPOT_URL.search(text)
        return m.group(1) if m else None
    if _SALESFORCE_ID.fullmatch(text):
        return text
    m = _SALESFORCE_URL.search(text)
    return m.group(1) if m else None
