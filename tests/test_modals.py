"""Task, milestone, comment, full-plan, overview and people modals, end to end:
signed HTTP requests into the real app, Slack's Web API stood in on loopback,
both databases; a seller and an external buyer (`user.team_id` of another team,
the host in `view.app_installed_team_id`)."""

from __future__ import annotations

import json
from datetime import date
from typing import Any
from urllib.parse import parse_qs, urlencode

from slack_sdk.models.views import View
from sqlalchemy import func, select

from bot import ids
from bot.local_slack import payloads
from bot.render.blocks import VIEW_MAX_BLOCKS
from storage import services
from storage.db import Database
from storage.models import Activity, Comment, Milestone, Person, Plan, Stakeholder, Task, TaskLink
from storage.rules import Actor
from tests.harness import BUYER_TEAM, CHANNEL, SELLER_TEAM, Harness, Response

SELLER = ("U0LEX", SELLER_TEAM)
BUYER = ("W0MIKE", BUYER_TEAM)


# --- driving Slack -----------------------------------------------------------------


def setup_plan(h: Harness) -> None:
    assert h.command("create Scare Floor rollout go-live 2027-03-01").status == 200
    assert h.command("milestone add Security review").status == 200
    assert h.command("add Fill security questionnaire owner buyer <@W0MIKE|mike>").status == 200
    assert h.command("add Send SOC 2 report owner seller").status == 200
    assert h.command("add Discount approval internal").status == 200
    h.settle()


def plan_id(db: Database) -> int:
    with db.read() as s:
        pid = s.scalar(select(Plan.id).where(Plan.channel_id == CHANNEL))
        assert pid is not None
        return pid


def task_id(db: Database, number: int) -> int:
    with db.read() as s:
        tid = s.scalar(select(Task.id).where(Task.number == number))
        assert tid is not None
        return tid


def task(db: Database, number: int) -> Task:
    with db.read() as s:
        t = s.scalar(select(Task).where(Task.number == number))
        assert t is not None
        return t


def count(db: Database, model: type) -> int:
    with db.read() as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


def click(
    h: Harness,
    action: dict[str, Any],
    who: tuple[str, str],
    *,
    container_view: dict[str, Any] | None = None,
) -> Response:
    """A click on the card (or, with `container_view`, inside a modal)."""
    raw = h.card_click_body(action, who)
    if container_view is not None:
        raw = _in_view(raw, container_view)
    return h.signed(raw)


def _in_view(raw: str, view: dict[str, Any]) -> str:
    """Turn a message click into a click inside `view` (as Slack sends those)."""
    payload = json.loads(parse_qs(raw)["payload"][0])
    payload["container"] = {"type": "view", "view_id": view["id"]}
    payload["view"] = view
    for key in ("channel", "message"):
        payload.pop(key, None)
    return urlencode({"payload": json.dumps(payload)})


def button(action_id: str, value: str) -> dict[str, Any]:
    return {"action_id": action_id, "block_id": "b", "value": value, "type": "button"}


def menu(h: Harness, verb: str, number: int) -> dict[str, Any]:
    """The card's overflow option `verb` of task `#number`, as a selection."""
    card = h.card()
    assert card is not None
    for b in card["blocks"]:
        if b["type"] == "section" and f"`#{number}`" in b["text"]["text"]:
            for option in b["accessory"]["options"]:
                if option["value"].startswith(verb + ":"):
                    return {
                        "action_id": ids.TASK_MENU,
                        "block_id": b["block_id"],
                        "type": "overflow",
                        "selected_option": option,
                    }
    raise AssertionError(f"no {verb} option for #{number} on the card")


def crafted_menu(verb: str, plan: int, task: int) -> dict[str, Any]:
    value = ids.menu_value(verb, plan, task)
    return {
        "action_id": ids.TASK_MENU,
        "block_id": "x",
        "type": "overflow",
        "selected_option": {"text": {"type": "plain_text", "text": verb}, "value": value},
    }


def last_view(h: Harness, method: str = "views.open") -> dict[str, Any]:
    calls = h.local.calls_to(method)
    assert calls, f"no {method} call"
    assert calls[-1].ok, calls[-1].result
    return dict(calls[-1].result["view"])


def check_view(view: dict[str, Any]) -> None:
    assert len(view["blocks"]) <= VIEW_MAX_BLOCKS
    View(**view).validate_json()


def state_of(view: dict[str, Any], **typed: Any) -> dict[str, Any]:
    """`state.values` as Slack sends it: every input with its initial value,
    then what the person changed (`typed`: block id with `.` as `_` → value)."""
    values: dict[str, Any] = {}
    wanted = {k.replace("_", ".", 1): v for k, v in typed.items()}
    for b in view["blocks"]:
        if b["type"] != "input":
            continue
        el = b["element"]
        bid, kind = b["block_id"], el["type"]
        given = wanted.pop(bid, ...)
        if kind in ("plain_text_input", "number_input", "url_text_input"):
            v = el.get("initial_value") if given is ... else given
            state = {"value": None if v is None else str(v)}
        elif kind == "static_select":
            if given is ...:
                state = {"selected_option": el.get("initial_option")}
            else:
                state = {"selected_option": None if given is None else {"value": given}}
        elif kind == "users_select":
            state = {"selected_user": el.get("initial_user") if given is ... else given}
        elif kind == "datepicker":
            state = {"selected_date": el.get("initial_date") if given is ... else given}
        elif kind == "checkboxes":
            if given is ...:
                state = {"selected_options": el.get("initial_options") or []}
            else:
                state = {"selected_options": el["options"] if given else []}
        else:
            raise AssertionError(kind)
        values[bid] = {el["action_id"]: {"type": kind, **state}}
    assert not wanted, f"not in the view: {sorted(wanted)}"
    return values


def submit(
    h: Harness,
    view: dict[str, Any],
    values: dict[str, Any],
    who: tuple[str, str],
    *,
    installed: str = SELLER_TEAM,
) -> Response:
    raw = payloads.view_submission_body(
        user_id=who[0],
        user_team_id=who[1],
        team_id=who[1],  # Slack Connect: team.id is the submitter's own team
        view={k: v for k, v in view.items() if k not in ("state", "app_installed_team_id")},
        values=values,
        app_installed_team_id=installed,
    )
    return h.signed(raw)


def crafted_view(callback_id: str, metadata: dict[str, Any], blocks: list[str]) -> dict[str, Any]:
    """A view nobody opened: the ids a crafted payload names, and input blocks."""
    return {
        "id": "V0CRAFTED",
        "type": "modal",
        "callback_id": callback_id,
        "private_metadata": json.dumps(metadata),
        "blocks": [
            {"type": "input", "block_id": b, "element": {"type": "plain_text_input"}}
            for b in blocks
        ],
    }


def errors(resp: Response) -> dict[str, str]:
    assert resp.status == 200
    body = resp.json()
    assert body and body.get("response_action") == "errors", resp.body
    return dict(body["errors"])


def ok(resp: Response) -> None:
    assert resp.status == 200, resp.body
    assert not resp.body or resp.json().get("response_action") != "errors", resp.body


def ephemeral_texts(h: Harness, user: str) -> str:
    return " ".join(e.text for e in h.local.ephemerals(CHANNEL, user))


# --- task modals -------------------------------------------------------------------


def test_seller_adds_task_from_card(h: Harness, db: Database) -> None:
    setup_plan(h)
    pid = plan_id(db)
    assert click(h, button(ids.PLAN_ADD_TASK, str(pid)), SELLER).status == 200
    view = last_view(h)
    check_view(view)
    shown = {b.get("block_id") for b in view["blocks"]}
    assert {ids.F_TITLE, ids.F_INTERNAL, ids.F_DUE_OFFSET, ids.F_LINKS} <= shown
    with db.read() as s:
        security = s.scalar(select(Milestone.id).where(Milestone.title == "Security review"))
    values = state_of(
        view,
        f_title="Run <!channel> pen test",
        f_milestone=str(security),
        f_owner="buyer",
        f_assignee="W0SULLEY",
        f_due_offset="5",
        f_risk="at_risk",
        f_risk_reason="Vendor slow",
        f_notes="Scope: API",
        f_links="https://docs.example/pentest Scope doc\nhttps://rec.example/call",
    )
    ok(submit(h, view, values, SELLER))
    h.settle()
    t = task(db, 4)
    assert (t.title, t.owner_side, t.assignee_id, t.milestone_id) == (
        "Run <!channel> pen test",
        "buyer",
        "W0SULLEY",
        security,
    )
    # 5 business days before Mon 2027-03-01, and it follows go-live.
    assert (t.due_date, t.due_offset_days, t.due_business, t.due_pinned) == (
        date(2027, 2, 22),
        -5,
        True,
        False,
    )
    assert (t.risk, t.risk_reason, t.notes, t.internal) == (
        "at_risk",
        "Vendor slow",
        "Scope: API",
        False,
    )
    with db.read() as s:
        links = s.execute(
            select(TaskLink.url, TaskLink.label).where(TaskLink.task_id == t.id)
        ).all()
        actions = set(s.scalars(select(Activity.action).where(Activity.task_id == t.id)))
    assert [tuple(r) for r in links] == [
        ("https://docs.example/pentest", "Scope doc"),
        ("https://rec.example/call", ""),
    ]
    assert {"task.add", "task.risk", "task.links"} <= actions
    card = h.card_text()
    assert "Run &lt;!channel&gt; pen test" in card and "<!channel>" not in card
    assert "at risk" in card


def test_map_add_without_arguments_opens_the_form(h: Harness, db: Database) -> None:
    resp = h.command("add")
    assert "no action plan" in resp.body and not h.local.calls_to("views.open")
    setup_plan(h)
    resp = h.command("add")
    assert resp.status == 200 and not resp.body
    view = last_view(h)
    assert view["callback_id"] == ids.VIEW_TASK
    ok(submit(h, view, state_of(view, f_title="Kickoff call", f_due="2027-01-05"), SELLER))
    t = task(db, 4)
    assert (t.title, t.due_date, t.owner_side) == ("Kickoff call", date(2027, 1, 5), "mutual")


def test_invalid_input_comes_back_on_its_field_and_saves_nothing(h: Harness, db: Database) -> None:
    setup_plan(h)
    h.command("add")
    view = last_view(h)
    before = (count(db, Task), count(db, Activity), count(db, TaskLink))
    cases = [
        ({"f_title": "  "}, ids.F_TITLE),
        ({"f_title": "x", "f_due": "2027-01-05", "f_due_offset": "3"}, ids.F_DUE_OFFSET),
        ({"f_title": "x", "f_risk": "blocked", "f_risk_reason": ""}, ids.F_RISK_REASON),
        ({"f_title": "x", "f_links": "javascript:alert(1)"}, ids.F_LINKS),
        ({"f_title": "x", "f_due_offset": "9999"}, ids.F_DUE_OFFSET),
        ({"f_title": "x" * 301}, ids.F_TITLE),
    ]
    for typed, field in cases:
        assert field in errors(submit(h, view, state_of(view, **typed), SELLER)), typed
    # A bad link after valid fields: the task is not half-saved.
    edit_values = state_of(view, f_title="Valid", f_links="https://ok.example\nnot a url")
    assert ids.F_LINKS in errors(submit(h, view, edit_values, SELLER))
    assert (count(db, Task), count(db, Activity), count(db, TaskLink)) == before


def test_seller_edits_from_the_task_menu(h: Harness, db: Database) -> None:
    setup_plan(h)
    # An internal task only goes to someone known to be on the seller team: Mercy
    # has used the app (her person row says so).
    assert h.command("help", user="U0MERCY").status == 200
    click(h, menu(h, "edit", 2), SELLER)
    view = last_view(h)
    check_view(view)
    assert {ids.F_REMOVE, ids.F_INTERNAL} <= {b.get("block_id") for b in view["blocks"]}
    values = state_of(view, f_title="Send SOC 2 Type II", f_internal=True, f_assignee="U0MERCY")
    ok(submit(h, view, values, SELLER))
    t = task(db, 2)
    assert (t.title, t.internal, t.assignee_id, t.owner_side) == (
        "Send SOC 2 Type II",
        True,
        "U0MERCY",
        "seller",
    )
    h.settle()
    assert "SOC 2" not in h.card_text(), "made internal: gone from the channel"

    # Focused forms from the menu: due date, assign, risk.
    click(h, menu(h, "due", 1), SELLER)
    due_view = last_view(h)
    assert {b["block_id"] for b in due_view["blocks"] if b["type"] == "input"} == {
        ids.F_DUE,
        ids.F_DUE_OFFSET,
    }
    ok(submit(h, due_view, state_of(due_view, f_due="2027-02-01"), SELLER))
    click(h, menu(h, "risk", 1), SELLER)
    risk_view = last_view(h)
    ok(submit(h, risk_view, state_of(risk_view, f_risk_reason="Waiting on legal"), SELLER))
    click(h, menu(h, "assign", 1), SELLER)
    assign_view = last_view(h)
    ok(submit(h, assign_view, state_of(assign_view, f_assignee=None), SELLER))
    t = task(db, 1)
    assert (t.due_date, t.due_pinned, t.risk, t.risk_reason, t.assignee_id, t.title) == (
        date(2027, 2, 1),
        True,
        "at_risk",
        "Waiting on legal",
        None,
        "Fill security questionnaire",
    )

    # Remove lives in the Edit form.
    click(h, menu(h, "edit", 1), SELLER)
    view = last_view(h)
    ok(submit(h, view, state_of(view, f_remove=True), SELLER))
    with db.read() as s:
        assert s.scalar(select(Task).where(Task.number == 1)) is None


def test_buyer_cannot_open_or_submit_what_their_side_may_not(h: Harness, db: Database) -> None:
    setup_plan(h)
    pid = plan_id(db)
    opened = len(h.local.calls_to("views.open"))
    click(h, button(ids.PLAN_ADD_TASK, str(pid)), BUYER)
    click(h, menu(h, "edit", 1), BUYER)
    click(h, crafted_menu("edit", pid, task_id(db, 3)), BUYER)  # the internal one
    assert len(h.local.calls_to("views.open")) == opened
    said = ephemeral_texts(h, BUYER[0])
    assert "Only the seller team" in said and "isn't part of this" in said
    assert "Discount" not in said

    # Hand-crafted submissions: a seller task, the internal task, a new internal task.
    before = (count(db, Task), count(db, Activity))
    soc2, internal = task_id(db, 2), task_id(db, 3)
    for meta, typed in (
        ({"p": pid, "t": soc2}, {ids.F_TITLE: "hijacked"}),
        ({"p": pid, "t": internal}, {ids.F_TITLE: "hijacked"}),
        ({"p": pid}, {ids.F_TITLE: "sneaky", ids.F_INTERNAL: "yes"}),
    ):
        view = crafted_view(ids.VIEW_TASK, meta, list(typed))
        values: dict[str, Any] = {}
        for bid, v in typed.items():
            values[bid] = (
                {bid: {"type": "checkboxes", "selected_options": [{"value": "yes"}]}}
                if bid == ids.F_INTERNAL
                else {bid: {"type": "plain_text_input", "value": v}}
            )
        assert errors(submit(h, view, values, BUYER))
    assert (count(db, Task), count(db, Activity)) == before
    assert task(db, 2).title == "Send SOC 2 report" and task(db, 3).title == "Discount approval"


def test_buyer_allowed_to_edit_still_never_sets_internal(h: Harness, db: Database) -> None:
    setup_plan(h)
    with db.write() as s:
        plan = s.get(Plan, plan_id(db))
        assert plan is not None
        plan.buyers_can_edit = True
    click(h, menu(h, "edit", 1), BUYER)
    view = last_view(h)
    check_view(view)
    assert ids.F_INTERNAL not in {b.get("block_id") for b in view["blocks"]}, "not even rendered"
    ok(submit(h, view, state_of(view, f_title="Fill the questionnaire"), BUYER))
    assert task(db, 1).title == "Fill the questionnaire"
    # The same form with an internal checkbox added by hand changes nothing.
    values = state_of(view, f_title="Now internal?")
    values[ids.F_INTERNAL] = {
        ids.F_INTERNAL: {"type": "checkboxes", "selected_options": [{"value": "yes"}]}
    }
    assert errors(submit(h, view, values, BUYER))
    t = task(db, 1)
    assert (t.title, t.internal) == ("Fill the questionnaire", False)
    # Seller tasks stay the seller's.
    click(h, menu(h, "edit", 2), BUYER)
    assert "seller task" in ephemeral_texts(h, BUYER[0])


def test_other_workspace_payload_changes_nothing(h: Harness, db: Database) -> None:
    setup_plan(h)
    pid = plan_id(db)
    h.command("add")
    view = last_view(h)
    meta = json.loads(view["private_metadata"])
    assert meta["p"] == pid
    before = count(db, Task)
    resp = submit(h, view, state_of(view, f_title="From afar"), SELLER, installed="T0ELSEWHERE")
    assert errors(resp)
    # A plan id of a plan in another workspace.
    with db.write() as s:
        other = services.create_plan(s, Actor("U0X", "seller", "T0ELSEWHERE"), "C0X", "Theirs")
        other_id = other.id
    forged = {**view, "private_metadata": json.dumps({"p": other_id})}
    assert errors(submit(h, forged, state_of(view, f_title="Into theirs"), SELLER))
    assert count(db, Task) == before


# --- comments and links ------------------------------------------------------------


def test_buyer_comments_with_a_link_into_the_card_thread(h: Harness, db: Database) -> None:
    setup_plan(h)
    click(h, menu(h, "comment", 1), BUYER)
    view = last_view(h)
    check_view(view)
    assert errors(submit(h, view, state_of(view), BUYER)) == {
        ids.F_COMMENT: "Write a comment or attach a link."
    }
    values = state_of(
        view,
        f_comment="Done <!here> & sent",
        f_link_url="https://files.example/q.pdf",
        f_link_label="Questionnaire",
    )
    ok(submit(h, view, values, BUYER))
    posts = h.local.wait_for(lambda: any(m.thread_ts for m in h.local.messages(CHANNEL)), timeout=5)
    assert posts
    card = h.card()
    assert card is not None
    reply = next(m for m in h.local.messages(CHANNEL) if m.thread_ts)
    assert reply.thread_ts == card["ts"]
    text = json.dumps(reply.blocks)
    assert "<@W0MIKE> (Buyer)" in text and "Done &lt;!here&gt; &amp; sent" in text
    assert "<https://files.example/q.pdf|Questionnaire>" in text
    with db.read() as s:
        c = s.scalar(select(Comment))
        assert c is not None
        assert (c.author_id, c.author_side, c.body) == ("W0MIKE", "buyer", "Done <!here> & sent")
    # The link shows on the task, in the full plan.
    click(h, button(ids.PLAN_FULL, str(plan_id(db))), BUYER)
    full = json.dumps(last_view(h)["blocks"])
    assert "<https://files.example/q.pdf|Questionnaire>" in full


def test_comment_on_internal_task_is_refused_to_buyers_and_not_posted(
    h: Harness, db: Database
) -> None:
    setup_plan(h)
    pid, internal = plan_id(db), task_id(db, 3)
    click(h, crafted_menu("comment", pid, internal), BUYER)
    assert "isn't part of" in ephemeral_texts(h, BUYER[0])
    view = crafted_view(ids.VIEW_COMMENT, {"p": pid, "t": internal}, [ids.F_COMMENT])
    values = {ids.F_COMMENT: {ids.F_COMMENT: {"type": "plain_text_input", "value": "peek"}}}
    assert errors(submit(h, view, values, BUYER))
    assert count(db, Comment) == 0
    # A seller's comment on it is kept, never posted where buyers read.
    click(h, crafted_menu("comment", pid, internal), SELLER)
    seller_view = last_view(h)
    ok(submit(h, seller_view, state_of(seller_view, f_comment="margin ok"), SELLER))
    assert count(db, Comment) == 1
    assert not any(m.thread_ts for m in h.local.messages(CHANNEL))


# --- the full plan -----------------------------------------------------------------


def test_full_plan_is_paged_and_buyers_never_see_internal(h: Harness, db: Database) -> None:
    setup_plan(h)
    seller = Actor("U0LEX", "seller", SELLER_TEAM)
    with db.write() as s:
        plan = s.get(Plan, plan_id(db))
        assert plan is not None
        for m in range(4):
            ms = services.add_milestone(s, seller, plan, f"Phase {m}")
            for n in range(40):
                services.add_task(s, seller, plan, f"Step {m}.{n}", milestone=ms, internal=n == 0)
    pid = plan_id(db)
    click(h, button(ids.PLAN_FULL, str(pid)), BUYER)
    page = last_view(h)
    check_view(page)
    seen = json.dumps(page["blocks"])
    pages = 1
    while True:
        nav = [b for b in page["blocks"] if b.get("block_id") == "plan.nav"]
        nexts = [e for b in nav for e in b["elements"] if e["text"]["text"].startswith("Next")]
        if not nexts:
            break
        click(h, button(ids.PLAN_PAGE, nexts[0]["value"]), BUYER, container_view=page)
        page = last_view(h, "views.update")
        check_view(page)
        seen += json.dumps(page["blocks"])
        pages += 1
    assert pages >= 2
    assert "Step 3.39" in seen and "Fill security questionnaire" in seen
    assert "Discount approval" not in seen and "Step 0.0" not in seen and "Step 1.0" not in seen
    assert "(continued)" in seen
    click(h, button(ids.PLAN_FULL, str(pid)), SELLER)
    assert "Discount approval" in json.dumps(last_view(h)["blocks"])


def test_milestone_modal_from_the_full_plan(h: Harness, db: Database) -> None:
    setup_plan(h)
    pid = plan_id(db)
    click(h, button(ids.PLAN_FULL, str(pid)), SELLER)
    full = last_view(h)
    click(h, button(ids.PLAN_ADD_MILESTONE, str(pid)), SELLER, container_view=full)
    view = last_view(h, "views.push")
    check_view(view)
    assert ids.F_MS_TITLE in errors(submit(h, view, state_of(view, f_ms_title=" "), SELLER))
    ok(submit(h, view, state_of(view, f_ms_title="Legal", f_ms_due="2027-02-10"), SELLER))
    with db.read() as s:
        m = s.scalar(select(Milestone).where(Milestone.title == "Legal"))
        assert m is not None and m.due_date == date(2027, 2, 10)
        mid = m.id
    click(h, button(ids.MILESTONE_EDIT, f"{pid}:{mid}"), SELLER, container_view=full)
    view = last_view(h, "views.push")
    ok(submit(h, view, state_of(view, f_ms_title="Legal review", f_ms_status="completed"), SELLER))
    with db.read() as s:
        m = s.get(Milestone, mid)
        assert m is not None and (m.title, m.manual_status) == ("Legal review", "completed")
    # Buyers may not.
    click(h, button(ids.MILESTONE_EDIT, f"{pid}:{mid}"), BUYER)
    assert "Only the seller team" in ephemeral_texts(h, BUYER[0])


# --- overview and people -----------------------------------------------------------


def test_overview_modal(h: Harness, db: Database) -> None:
    setup_plan(h)
    h.command("overview")
    view = last_view(h)
    check_view(view)
    assert ids.F_WHY in errors(submit(h, view, state_of(view, f_why="x" * 2001), SELLER))
    ok(
        submit(
            h,
            view,
            state_of(
                view,
                f_why="Scream shortage",
                f_goals="10% more",
                f_success="<b>",
                f_target="2027-04-01",
            ),
            SELLER,
        )
    )
    with db.read() as s:
        plan = s.get(Plan, plan_id(db))
        assert plan is not None
        assert (plan.overview_why, plan.overview_success, plan.target_date) == (
            "Scream shortage",
            "<b>",
            date(2027, 4, 1),
        )
    # A new go-live from the modal is announced once in the channel, as /map golive does.
    assert h.local.wait_for(
        lambda: any("moved the target go-live" in m.text for m in h.local.messages(CHANNEL))
    )
    # A buyer's crafted overview changes nothing.
    assert errors(submit(h, view, state_of(view, f_why="ours now"), BUYER))
    with db.read() as s:
        plan = s.get(Plan, plan_id(db))
        assert plan is not None and plan.overview_why == "Scream shortage"
    click(h, button(ids.PLAN_FULL, str(plan_id(db))), BUYER)
    full = json.dumps(last_view(h)["blocks"])
    assert "Scream shortage" in full and "&lt;b&gt;" in full


def test_people_modal_and_side_by_hand(h: Harness, db: Database) -> None:
    setup_plan(h)
    h.command("people")
    view = last_view(h)
    check_view(view)
    text = json.dumps(view["blocks"])
    assert "<@W0MIKE>" in text and "<@U0LEX>" in text
    # Contact details arrive from users.info, and the open modal is updated.
    h.local.wait_for_calls("views.update", 1)
    updated = last_view(h, "views.update")
    check_view(updated)
    assert "mike@t0monsters.example" in json.dumps(updated["blocks"])

    assert ids.F_PERSON in errors(submit(h, view, state_of(view), SELLER))
    smuggled = state_of(view, f_person="U1><!channel")
    assert ids.F_PERSON in errors(submit(h, view, smuggled, SELLER))
    values = state_of(view, f_person="U0GUEST", f_role="Champion", f_side="seller")
    resp = submit(h, view, values, SELLER)
    body = resp.json()
    assert body["response_action"] == "update"
    assert "Champion" in json.dumps(body["view"]["blocks"])
    with db.read() as s:
        person = s.scalar(select(Person).where(Person.user_id == "U0GUEST"))
        role = s.scalar(select(Stakeholder.role).where(Stakeholder.user_id == "U0GUEST"))
    assert person is not None and person.side_override == "seller" and role == "Champion"
    # The guest now counts as seller: they may open the seller-only form.
    click(h, button(ids.PLAN_ADD_TASK, str(plan_id(db))), ("U0GUEST", SELLER_TEAM))
    assert last_view(h)["callback_id"] == ids.VIEW_TASK

    # A buyer cannot move anyone across sides, even with a crafted payload.
    forged = state_of(view, f_person="W0MIKE", f_side="seller")
    assert errors(submit(h, view, forged, BUYER))
    with db.read() as s:
        mike = s.scalar(select(Person).where(Person.user_id == "W0MIKE"))
        assert mike is not None and mike.side_override is None


# --- pure: every view valid and within limits --------------------------------------


def test_full_plan_pages_of_any_size_are_valid() -> None:
    from datetime import timedelta

    from bot.render import modals as views
    from storage.collab_read import Overview
    from storage.readmodel import MilestoneView, PlanView, TaskView

    today = date(2026, 11, 23)
    for milestones, tasks_each in ((0, 0), (1, 97), (30, 15), (3, 200)):
        ms = []
        n = 0
        for m in range(milestones):
            tasks = []
            for _ in range(tasks_each):
                n += 1
                tasks.append(
                    TaskView(
                        id=n,
                        number=n,
                        title=("<long> & title " * 30)[:300],
                        owner_side="buyer",
                        assignee_id=None,
                        assignee_name=None,
                        status="not_started",
                        internal=False,
                        due_date=today + timedelta(days=n),
                        relative=False,
                        risk="blocked",
                        milestone_id=m,
                        milestone_title=f"M{m}",
                        completed_at=None,
                    )
                )
            ms.append(MilestoneView(m, m, "M" * 300, None, "not_started", False, tuple(tasks)))
        plan = PlanView(1, "T", "C", "P" * 300, today, "UTC", None, None, "buyer", tuple(ms))
        data = views.FullPlan(
            plan=plan,
            overview=Overview("w" * 2000, "g" * 2000, "s" * 2000, today),
            people=[views.PersonLine(f"U{i}", "n", "buyer", False, "r" * 100) for i in range(80)],
            links={t.id: [("https://x.example/" + "a" * 200, "l" * 200)] * 10 for t in plan.tasks},
            today=today,
            can_edit=True,
        )
        first, pages = views.full_plan_view(data, 0)
        seen = 0
        for page in range(pages):
            view, _ = views.full_plan_view(data, page)
            check_view(view)
            seen += sum(1 for b in view["blocks"] if b.get("block_id", "").startswith("task."))
        assert seen == n
        assert views.full_plan_view(data, 10_000)[0] == views.full_plan_view(data, pages - 1)[0]
        check_view(first)


def test_crafted_metadata_is_refused() -> None:
    from bot.render.modals import Meta

    for raw in ("", "nope", "[]", '{"p": "1"}', '{"p": true}', '{"t": 3}'):
        assert Meta.load(raw) is None
    assert Meta.load('{"p": 1, "t": 2, "k": "evil"}') == Meta(plan=1, task=2, mode="full")
