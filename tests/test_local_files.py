"""The stand-in's external file upload, driven by slack_sdk's own `files_upload_v2`
(files.getUploadURLExternal → POST of the bytes → files.completeUploadExternal)."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.error import HTTPError

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.local_slack import LocalSlack
from bot.local_slack.api import DEFAULT_TOKEN
from bot.oauth import BOT_SCOPES

TOKEN = DEFAULT_TOKEN  # the bot token the stand-in issued


@pytest.fixture
def local() -> Iterator[LocalSlack]:
    with LocalSlack() as server:
        server.add_user("U0LEX", team_id="T0LEXCORP", name="lex")
        server.add_channel("C1", "deal", shared=True)
        yield server


@pytest.fixture
def client(local: LocalSlack) -> WebClient:
    return WebClient(token=TOKEN, base_url=local.base_url)


def test_files_upload_v2_goes_through_all_three_steps(local: LocalSlack, client: WebClient) -> None:
    data = b"\x89PNG\r\n\x1a\n" + b"x" * 100
    answer = client.files_upload_v2(
        channel="C1", content=data, filename="t.png", title="Timeline", alt_txt="A timeline"
    )
    assert answer["file"]["title"] == "Timeline"
    assert [c.method for c in local.calls] == [
        "files.getUploadURLExternal",
        "files.completeUploadExternal",
    ]
    (shared,) = local.files.shared("C1")
    assert shared.data == data and shared.alt_txt == "A timeline"
    assert local.calls[0].params["length"] == str(len(data))


def test_without_files_write_both_methods_are_refused(local: LocalSlack, client: WebClient) -> None:
    local.grant(TOKEN, [s for s in BOT_SCOPES if s != "files:write"])
    with pytest.raises(SlackApiError) as e:
        client.files_upload_v2(channel="C1", content=b"abc", filename="a.csv")
    assert e.value.response["error"] == "missing_scope"
    assert e.value.response["needed"] == "files:write"
    assert local.files.shared() == []


def test_an_unknown_channel_or_file_id_is_refused(local: LocalSlack, client: WebClient) -> None:
    with pytest.raises(SlackApiError) as e:
        client.files_upload_v2(channel="C404", content=b"abc", filename="a.csv")
    assert e.value.response["error"] == "channel_not_found"
    with pytest.raises(SlackApiError) as e:
        client.files_completeUploadExternal(files=[{"id": "F999", "title": "x"}], channel_id="C1")
    assert e.value.response["error"] == "file_not_found"


def test_an_id_whose_bytes_never_came_cannot_be_completed(
    local: LocalSlack, client: WebClient
) -> None:
    got = client.files_getUploadURLExternal(filename="a.csv", length=3)
    with pytest.raises(SlackApiError) as e:
        client.files_completeUploadExternal(files=[{"id": got["file_id"]}], channel_id="C1")
    assert e.value.response["error"] == "file_not_found"


def test_an_id_is_completed_once(local: LocalSlack, client: WebClient) -> None:
    first = client.files_upload_v2(channel="C1", content=b"abc", filename="a.csv")
    with pytest.raises(SlackApiError) as e:
        client.files_completeUploadExternal(files=[{"id": first["file"]["id"]}], channel_id="C1")
    assert e.value.response["error"] == "file_not_found"


def test_sizes_are_checked(local: LocalSlack, client: WebClient) -> None:
    for length in (0, 2 * 1024**3):
        with pytest.raises(SlackApiError):
            client.files_getUploadURLExternal(filename="a.csv", length=length)
    with pytest.raises(SlackApiError) as e:
        client.files_getUploadURLExternal(filename="a.png", length=3, alt_txt="x" * 1001)
    assert e.value.response["error"] == "alt_txt_too_large"
    # Bytes of another size than declared: the upload step refuses them.
    got = client.files_getUploadURLExternal(filename="a.csv", length=10)
    with pytest.raises(HTTPError) as refused:
        client._upload_file(
            url=got["upload_url"],
            data=b"abc",
            logger=client._logger,
            timeout=5,
            proxy=None,
            ssl=None,
        )
    assert refused.value.code == 400
