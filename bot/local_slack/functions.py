"""Workflow Builder's side of custom steps, stood in: the `function_executed` event
Slack sends when a workflow reaches one of our steps (with a just-in-time
`xwfp-` token for that execution), and `functions.completeSuccess` /
`functions.completeError`, checked as Slack checks them: the execution must
exist and still be running, the outputs must match the step's output
parameters in manifest.yml (`parameter_validation_failed` otherwise)."""

from __future__ import annotations

import itertools
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot.local_slack.base import SlackError  # the one ok:false answer

MANIFEST = Path(__file__).resolve().parents[2] / "manifest.yml"
_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "slack#/types/user_id": (str,),
    "slack#/types/channel_id": (str,),
    "slack#/types/date": (str,),
}


@dataclass
class Execution:
    id: str
    callback_id: str
    token: str
    state: str = "running"  # running | completed | failed
    outputs: dict[str, Any] = field(default_factory=dict)
    error: str = ""


class Functions:
    def __init__(self, manifest: Path = MANIFEST) -> None:
        self._manifest = manifest
        self._loaded: dict[str, Any] | None = None
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self.executions: dict[str, Execution] = {}

    @property
    def _definitions(self) -> dict[str, Any]:
        """The steps manifest.yml declares (read when first needed: an installed wheel,
        whose shell uses this stand-in, has no manifest and runs no workflow)."""
        if self._loaded is None:
            try:
                self._loaded = dict(yaml.safe_load(self._manifest.read_text()).get("functions", {}))
            except OSError:
                self._loaded = {}
        return self._loaded

    def accepts(self, token: str) -> bool:
        """A workflow token is good while its execution runs."""
        with self._lock:
            return any(e.token == token and e.state == "running" for e in self.executions.values())

    def executed_body(
        self, callback_id: str, inputs: dict[str, Any], team_id: str, app_id: str = "A0MAPBOT"
    ) -> str:
        """A `function_executed` event for one new execution of our step `callback_id`
        (JSON, as the Events API sends it)."""
        definition = self._definitions[callback_id]
        n = next(self._ids)
        execution = Execution(f"Fx{n:08d}", callback_id, f"xwfp-{secrets.token_hex(8)}")
        with self._lock:
            self.executions[execution.id] = execution
        now = int(time.time())

        def params(kind: str) -> list[dict[str, Any]]:
            props = definition[kind]["properties"]
            required = set(definition[kind].get("required", []))
            return [{"name": k, **v, "is_required": k in required} for k, v in props.items()]

        return json.dumps(
            {
                "token": "verification-token",
                "team_id": team_id,
                "api_app_id": app_id,
                "event": {
                    "type": "function_executed",
                    "function": {
                        "id": f"Fn{n:08d}",
                        "callback_id": callback_id,
                        "title": definition["title"],
                        "description": definition.get("description", ""),
                        "type": "app",
                        "input_parameters": params("input_parameters"),
                        "output_parameters": params("output_parameters"),
                        "app_id": app_id,
                        "date_updated": now,
                    },
                    "inputs": inputs,
                    "function_execution_id": execution.id,
                    "workflow_execution_id": f"Wx{n:08d}",
                    "event_ts": f"{now}.000200",
                    "bot_access_token": execution.token,
                },
                "type": "event_callback",
                "event_id": f"Ev{secrets.token_hex(5).upper()}",
                "event_time": now,
                "authorizations": [
                    {"enterprise_id": None, "team_id": team_id, "user_id": "U0MAPBOT",
                     "is_bot": True, "is_enterprise_install": False}
                ],
            }
        )  # fmt: skip

    def _running(self, p: dict[str, Any]) -> Execution:
        execution = self.executions.get(str(p.get("function_execution_id") or ""))
        if execution is None:
            raise SlackError("function_execution_not_found")
        if execution.state != "running":
            raise SlackError("execution_not_in_running_state")
        return execution

    def complete_success(self, p: dict[str, Any]) -> dict[str, Any]:
        outputs = p.get("outputs")
        if isinstance(outputs, str):
            try:
                outputs = json.loads(outputs)
            except ValueError:
                raise SlackError("invalid_arguments") from None
        if not isinstance(outputs, dict):
            raise SlackError("invalid_arguments")
        with self._lock:
            execution = self._running(p)
            problems = self._check(execution.callback_id, outputs)
            if problems:
                raise SlackError(
                    "parameter_validation_failed", response_metadata={"messages": problems}
                )
            execution.state, execution.outputs = "completed", outputs
        return {}

    def complete_error(self, p: dict[str, Any]) -> dict[str, Any]:
        error = p.get("error")
        if not isinstance(error, str) or not error:
            raise SlackError("invalid_arguments")
        with self._lock:
            execution = self._running(p)
            execution.state, execution.error = "failed", error
        return {}

    def _check(self, callback_id: str, outputs: dict[str, Any]) -> list[str]:
        spec = self._definitions[callback_id]["output_parameters"]
        props: dict[str, Any] = spec["properties"]
        problems = [
            f"missing required output {k}" for k in spec.get("required", []) if k not in outputs
        ]
        for key, value in outputs.items():
            if key not in props:
                problems.append(f"unknown output {key}")
                continue
            kinds = _TYPES.get(props[key]["type"], (object,))
            if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
                problems.append(f"output {key} is not a {props[key]['type']}")
        return problems
