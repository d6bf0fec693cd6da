"""Salesforce's REST API for Opportunity records as documented: HTTPS only,
`Authorization: Bearer <access token>`, `GET`/`PATCH
/services/data/vXX.X/sobjects/Opportunity/{id}` (PATCH answers 204), errors as a
list of {message, errorCode}: INVALID_SESSION_ID (401), NOT_FOUND (404),
INVALID_FIELD (400), REQUEST_LIMIT_EXCEEDED (403) when the org's allowance is
spent."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from tests.fakes.http import Answer, Call, FakeService

_PATH = re.compile(r"^/services/data/v(\d+\.\d)/sobjects/Opportunity/([A-Za-z0-9]{15,18})$")
STANDARD = {"Name", "CloseDate", "StageName", "Amount", "Description"}


@dataclass
class Opportunity:
    name: str
    close_date: date | None
    fields: dict[str, str] = field(default_factory=dict)


class FakeSalesforce(FakeService):
    def __init__(self, token: str, custom_fields: set[str]) -> None:
        super().__init__()
        self.token = token
        self.known = STANDARD | custom_fields
        self.records: dict[str, Opportunity] = {}
        self.allowance: int | None = None  # requests left today (None: plenty)

    def add_opportunity(self, record_id: str, name: str, close: date | None) -> None:
        self.records[record_id] = Opportunity(name, close)

    def handle(self, call: Call) -> Answer:
        if call.headers.get("authorization") != f"Bearer {self.token}":
            return _error(401, "Session expired or invalid", "INVALID_SESSION_ID")
        if self.allowance is not None:
            if self.allowance <= 0:
                return _error(403, "TotalRequests Limit exceeded.", "REQUEST_LIMIT_EXCEEDED")
            self.allowance -= 1
        m = _PATH.match(call.path)
        if m is None:
            return _error(404, "The requested resource does not exist", "NOT_FOUND")
        record = self.records.get(m.group(2))
        if record is None:
            return _error(404, "The requested resource does not exist", "NOT_FOUND")
        if call.method == "GET":
            return Answer(
                200,
                {
                    "attributes": {"type": "Opportunity", "url": call.path},
                    "Id": m.group(2),
                    "Name": record.name,
                    "CloseDate": record.close_date.isoformat() if record.close_date else None,
                    **record.fields,
                },
            )
        if call.method == "PATCH":
            if not isinstance(call.body, dict):
                return _error(400, "The request body is not valid JSON", "JSON_PARSER_ERROR")
            for name in call.body:
                if name not in self.known:
                    return _error(
                        400,
                        f"No such column '{name}' on sobject of type Opportunity",
                        "INVALID_FIELD",
                    )
            for name, value in call.body.items():
                if name == "CloseDate":
                    record.close_date = date.fromisoformat(str(value))
                else:
                    record.fields[name] = str(value)
            return Answer(204)
        return _error(405, "HTTP Method not allowed", "METHOD_NOT_ALLOWED")


def _error(status: int, message: str, code: str) -> Answer:
    return Answer(status, [{"message": message, "errorCode": code}])
