"""HubSpot's CRM v3 deals API as documented (developers.hubspot.com): bearer
private-app tokens, `GET`/`PATCH /crm/v3/objects/deals/{dealId}`, properties as
strings, unknown properties refused (400 VALIDATION_ERROR), unknown deals 404,
and a burst limit answered 429 (RATE_LIMIT) — 10 requests a second here."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import date

from tests.fakes.http import Answer, Call, FakeService

DEAL_PATH = "/crm/v3/objects/deals/"
BURST = 10  # per rolling second, per account


@dataclass
class Deal:
    name: str
    closedate: date | None
    properties: dict[str, str] = field(default_factory=dict)


class FakeHubSpot(FakeService):
    def __init__(self, token: str, properties: set[str]) -> None:
        super().__init__()
        self.token = token
        self.known = {"dealname", "closedate", "amount", "dealstage", *properties}
        self.deals: dict[str, Deal] = {}
        self._recent: list[float] = []

    def add_deal(self, deal_id: str, name: str, closedate: date | None) -> None:
        self.deals[deal_id] = Deal(name, closedate)

    def handle(self, call: Call) -> Answer:
        if call.headers.get("authorization") != f"Bearer {self.token}":
            return _error(
                401,
                "Authentication credentials not found. This API supports OAuth 2.0 "
                "authentication and you can find more details at https://developers.hubspot.com",
                "INVALID_AUTHENTICATION",
            )
        now = time.monotonic()
        self._recent = [t for t in self._recent if now - t < 1.0]
        if len(self._recent) >= BURST:
            return Answer(
                429,
                {
                    "status": "error",
                    "message": "You have reached your secondly limit.",
                    "errorType": "RATE_LIMIT",
                    "policyName": "SECONDLY",
                },
            )
        self._recent.append(now)
        if not call.path.startswith(DEAL_PATH):
            return _error(404, "Not found", "OBJECT_NOT_FOUND")
        deal_id = call.path.removeprefix(DEAL_PATH)
        deal = self.deals.get(deal_id)
        if deal is None:
            return _error(404, "resource not found", "OBJECT_NOT_FOUND")
        if call.method == "GET":
            return Answer(200, self._object(deal_id, deal, call.query.get("properties", [])))
        if call.method == "PATCH":
            props = (call.body or {}).get("properties") if isinstance(call.body, dict) else None
            if not isinstance(props, dict):
                return _error(400, "Invalid input JSON", "VALIDATION_ERROR")
            unknown = [k for k in props if k not in self.known]
            if unknown:
                details = [
                    {
                        "isValid": False,
                        "message": f'Property "{k}" does not exist',
                        "error": "PROPERTY_DOESNT_EXIST",
                        "name": k,
                    }
                    for k in unknown
                ]
                return _error(
                    400,
                    f"Property values were not valid: {json.dumps(details)}",
                    "VALIDATION_ERROR",
                )
            for k, v in props.items():
                if k == "closedate":
                    deal.closedate = date.fromisoformat(str(v)[:10])
                else:
                    deal.properties[k] = str(v)
            return Answer(200, self._object(deal_id, deal, list(props)))
        return _error(405, "Method not allowed", "VALIDATION_ERROR")

    def _object(self, deal_id: str, deal: Deal, wanted: list[str]) -> dict[str, object]:
        names = {n for w in wanted for n in w.split(",") if n}
        every = {
            "dealname": deal.name,
            "closedate": f"{deal.closedate.isoformat()}T00:00:00Z" if deal.closedate else None,
            "hs_object_id": deal_id,
            **deal.properties,
        }
        props = {k: v for k, v in every.items() if k in names or k == "hs_object_id"}
        return {
            "id": deal_id,
            "properties": props,
            "createdAt": "2026-10-01T10:00:00Z",
            "updatedAt": "2026-11-30T10:00:00Z",
            "archived": False,
        }


def _error(status: int, message: str, category: str) -> Answer:
    return Answer(
        status,
        {
            "status": "error",
            "message": message,
            "correlationId": "00000000-0000-0000-0000-000000000000",
            "category": category,
        },
    )
