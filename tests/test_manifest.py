"""manifest.yml validates against Slack's published schema and asks for what we use."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from tests.fixtures import SLACK_MANIFEST_SCHEMA as SCHEMA_DIR

ROOT = Path(__file__).resolve().parent.parent


def _manifest() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "manifest.yml").read_text())  # type: ignore[no-any-return]


def _schema(name: str) -> dict[str, Any]:
    return json.loads((SCHEMA_DIR / name).read_text())  # type: ignore[no-any-return]


def test_manifest_validates_against_slack_schema() -> None:
    major = _manifest()["_metadata"]["major_version"]  # 2: the documented `functions` format
    jsonschema.validate(_manifest(), _schema(f"manifest.schema.{major}.0.0.json"))


def test_the_schema_check_can_fail() -> None:
    bad = json.loads((SCHEMA_DIR / "manifest.invalid.json").read_text())
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, _schema("manifest.schema.1.0.0.json"))


def test_slash_command_escapes_and_points_at_events() -> None:
    (command,) = _manifest()["features"]["slash_commands"]
    assert command["command"] == "/map"
    assert command["should_escape"] is True
    assert command["url"].endswith("/slack/events")
    assert _manifest()["settings"]["interactivity"]["request_url"].endswith("/slack/events")
