"""Bounds on what a plan, a template and an import can grow to.

An import is untrusted text: the bounded loader (storage.template_yaml) refuses an
anchor bomb, tags beyond plain YAML's, deep nesting, too many values, too many
bytes and lone surrogates, each within a second. Plans and templates have caps
(storage.limits): at the cap is fine, one past it is refused with the cap named,
and nothing is half-done."""

from __future__ import annotations

import os
import time
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import yaml
from sqlalchemy import event, func, insert, select

from storage import collab_services, services, template_store, template_yaml
from storage.db import Database
from storage.limits import (
    MAX_COMMENTS_PER_TASK,
    MAX_MILESTONES_PER_PLAN,
    MAX_TASKS_PER_PLAN,
    MAX_TEMPLATE_MILESTONES,
    MAX_TEMPLATE_TASKS,
    MAX_YAML_BYTES,
    MAX_YAML_DEPTH,
    MAX_YAML_NODES,
)
from storage.models import Activity, Comment, Milestone, Plan, Task, TeamTemplate
from storage.rules import Actor
from storage.templates import TemplateError, parse_template
from tests.harness import SELLER_TEAM, Harness

SELLER = Actor("U0LEX", "seller", SELLER_TEAM)
GUEST = Actor("U0GUEST", "buyer", SELLER_TEAM)
TODAY = date(2026, 12, 1)


# Each hostile text is refused within a second of this thread's CPU time: the work the text costs
# us, not the wait for a machine shared with other test runs. (mutmut's trampolines
# on every call make the loader several times slower: the budget is for real code.)
BUDGET = 30.0 if "MUTANT_UNDER_TEST" in os.environ else 1.0


def _refused(text: str) -> str:
    """The one problem a hostile text gets, found within a second."""
    started = time.thread_time()
    with pytest.raises(TemplateError) as e:
        parse_template(text, name="x")
    assert time.thread_time() - started < BUDGET
    assert len(e.value.problems) == 1, e.value.problems
    return e.value.problems[0]


def _template(milestones: int, tasks: int) -> str:
    """A valid template: `tasks` tasks spread over `milestones` milestones."""
    lines = ["name: big", "milestones:"]
    for m in range(milestones):
        lines.append(f"  - title: Phase {m}")
        mine = [t for t in range(tasks) if t % milestones == m]
        lines.append("    tasks:" if mine else "    tasks: []")
        lines.extend(f"      - title: Step {t}" for t in mine)
    return "\n".join(lines) + "\n"


# --- hostile imports ----------------------------------------------------------------


def test_an_anchor_bomb_is_refused_before_it_grows() -> None:
    # Nine levels of nine: read with plain PyYAML, walking this 4.4 KB meets 387 million tasks.
    lines = ["name: bomb", "t0: &t0 [" + ", ".join(["{title: boom}"] * 9) + "]"]
    for i in range(1, 9):
        lines.append(f"t{i}: &t{i} [" + ", ".join([f"*t{i - 1}"] * 9) + "]")
    lines.append("milestones: [{title: M, tasks: *t8}]")
    bomb = "\n".join(lines) + "\n" + "# padding\n" * 370
    assert 4_000 < len(bomb) < 5_000
    assert "line 2: anchors and aliases" in _refused(bomb)
    assert "anchors and aliases" in _refused("name: x\nmilestones: [{title: M, tasks: *nope}]")


def test_tags_beyond_plain_yaml_are_refused(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    problem = _refused(f'!!python/object/apply:os.system ["touch {marker}"]\n')
    assert "tag:yaml.org,2002:python/object/apply:os.system" in problem
    assert not marker.exists()
    assert "“!evil” isn't allowed" in _refused("name: x\ntitle: !evil y\nmilestones: []\n")
    assert "isn't allowed" in _refused("name: !!python/name:os.system x\n")
    assert "isn't allowed" in _refused("name: !!binary aGk=\n")
    # Plain YAML's own tags are fine.
    t = parse_template("name: x\ntitle: !!str 5\nmilestones: !!seq [{title: !!str M}]\n")
    assert t.title == "5" and t.milestones[0].title == "M"


def test_deep_nesting_too_many_values_and_too_many_bytes_are_refused() -> None:
    deep = "name: deep\nmilestones: " + "[" * 1000 + "]" * 1000 + "\n"
    assert f"nested more than {MAX_YAML_DEPTH} levels" in _refused(deep)
    deep_maps = "name: deep\nmilestones: " + "{a: " * 1000 + "b" + "}" * 1000 + "\n"
    assert "nested more than" in _refused(deep_maps)
    many = "name: many\nmilestones: [" + "a," * MAX_YAML_NODES + "]\n"
    assert f"more than {MAX_YAML_NODES} YAML values" in _refused(many)
    big = "name: big\ndescription: " + "x" * MAX_YAML_BYTES + "\n"
    assert f"the limit is {MAX_YAML_BYTES // 1024} KiB" in _refused(big)


def test_lone_surrogates_are_refused() -> None:
    escaped = 'name: x\nmilestones:\n  - title: "Legal \\ud800 review"\n'
    assert "line 3: a broken character" in _refused(escaped)
    assert "broken character" in _refused("name: x\ntitle: a\ud800b\nmilestones: []\n")
    assert "broken character" in _refused('name: x\n"\\udfff": 1\n')  # a key too
    with pytest.raises(services.Invalid, match="broken character"):
        services.refuse_surrogates("Sign \udc00", "task title")


def test_lone_surrogates_never_reach_the_database(db: Database) -> None:
    with db.write() as s:
        plan = services.create_plan(s, SELLER, "C1", "Deal")
        task = services.add_task(s, SELLER, plan, "Talk")
        plan_id, task_id = plan.id, task.id
    attempts = {
        "task": lambda s, p, t: services.add_task(s, SELLER, p, "Sign \ud800"),
        "rename": lambda s, p, t: services.rename_task(s, SELLER, p, t, "x\udfff"),
        "milestone": lambda s, p, t: services.add_milestone(s, SELLER, p, "\ud800"),
        "comment": lambda s, p, t: collab_services.add_comment(s, SELLER, p, t, "ok \udbff"),
    }
    for name, attempt in attempts.items():
        with pytest.raises(services.Invalid, match="broken character"), db.write() as s:
            attempt(s, s.get(Plan, plan_id), s.get(Task, task_id))
        assert name
    assert _count(db, Task) == 1 and _count(db, Comment) == 0


def test_each_refusal_says_what_and_where() -> None:
    """The exact words: the person fixing the file reads them."""
    assert _refused("name: x\nmilestones:\n  - &m {title: A}\n") == (
        "line 3: anchors and aliases (&name, *name) aren't allowed in a template: "
        "write each task out"
    )
    long_tag = "!" + "t" * 100
    assert _refused(f"name: {long_tag} x\n") == (
        f"line 1: the tag “{long_tag[:60]}” isn't allowed (plain YAML only)"
    )
    assert _refused('name: x\ntitle: "\\ud800"\n') == (
        "line 2: a broken character (a lone UTF-16 surrogate such as \\ud800): retype that text"
    )
    assert _refused("a: \ud800\n") == (
        "a broken character (a lone UTF-16 surrogate): retype the template"
    )
    assert _refused("milestones: [" + "a," * MAX_YAML_NODES + "]") == (
        f"line 1: more than {MAX_YAML_NODES} YAML values: "
        "a template that big is more than a plan can hold"
    )
    assert _refused("milestones:\n  " + "[" * 20 + "]" * 20) == (
        f"line 2: nested more than {MAX_YAML_DEPTH} levels deep; "
        "a template is milestones with tasks"
    )
    assert _refused("a" * (MAX_YAML_BYTES + 1)) == ("the template is 256 KiB; the limit is 256 KiB")
    assert _refused("a" * (MAX_YAML_BYTES + 1025)) == (
        "the template is 257 KiB; the limit is 256 KiB"
    )


def test_the_loader_bounds_at_the_boundary() -> None:
    """Exactly at each bound reads; one past it is refused."""
    assert template_yaml.compose("[" * MAX_YAML_DEPTH + "]" * MAX_YAML_DEPTH) is not None
    with pytest.raises(template_yaml.Refused, match="nested"):
        template_yaml.compose("[" * (MAX_YAML_DEPTH + 1) + "]" * (MAX_YAML_DEPTH + 1))
    # A list of N-1 values is N nodes.
    node = template_yaml.compose("[" + "a," * (MAX_YAML_NODES - 1) + "]")
    assert isinstance(node, yaml.SequenceNode) and len(node.value) == MAX_YAML_NODES - 1
    with pytest.raises(template_yaml.Refused, match="YAML values"):
        template_yaml.compose("[" + "a," * MAX_YAML_NODES + "]")
    assert template_yaml.compose("a" * MAX_YAML_BYTES) is not None
    with pytest.raises(template_yaml.Refused, match="KiB"):
        template_yaml.compose("a" * (MAX_YAML_BYTES + 1))
    with pytest.raises(template_yaml.Refused, match="KiB"):
        template_yaml.compose("é" * (MAX_YAML_BYTES // 2 + 1))  # bytes, not characters
    assert template_yaml.compose("") is None
    with pytest.raises(template_yaml.Refused, match="anchors"):
        template_yaml.compose("- &a x\n")  # an anchor alone is refused too


def test_a_templates_caps_at_the_boundary() -> None:
    at_cap = parse_template(_template(MAX_TEMPLATE_MILESTONES, MAX_TEMPLATE_TASKS))
    assert (len(at_cap.milestones), at_cap.task_count) == (50, 500)
    with pytest.raises(TemplateError) as e:
        parse_template(_template(MAX_TEMPLATE_MILESTONES, MAX_TEMPLATE_TASKS + 1))
    assert e.value.problems == [f"501 tasks: a template holds at most {MAX_TEMPLATE_TASKS}"]
    with pytest.raises(TemplateError) as e:
        parse_template(_template(MAX_TEMPLATE_MILESTONES + 1, 60))
    assert e.value.problems == [
        f"51 milestones: a template holds at most {MAX_TEMPLATE_MILESTONES}"
    ]


# --- over HTTP: seller-only, refusals said plainly ------------------------------------


def _stored(db: Database) -> list[str]:
    with db.read() as s:
        return sorted(s.scalars(select(TeamTemplate.name)))


def test_imports_are_the_sellers_and_hostile_ones_store_nothing(h: Harness, db: Database) -> None:
    ok = "template import ours\nname: ours\nmilestones:\n  - title: A\n    tasks: []\n"
    assert "Imported `ours`" in h.command(ok).body
    for text in (ok.replace("ours", "theirs"), "template delete ours", "template list"):
        assert "seller team's playbooks" in h.command(text, user="U0GUEST").body
    assert _stored(db) == ["ours"], "the guest imported and deleted nothing"
    body = h.command("template import bomb\nname: bomb\na: &a [x]\nb: *a\nmilestones: []").body
    assert "anchors and aliases" in body
    body = h.command("template import tag\n!!python/object:os.system {}").body
    assert "isn't allowed" in body
    # A problem quoting the pasted text is escaped: a key can't ping the channel.
    body = h.command("template import esc\nname: esc\n<!channel>: 1\nmilestones: []").body
    assert "&lt;!channel&gt;" in body and "<!channel>" not in body
    assert _stored(db) == ["ours"]


def test_the_services_refuse_buyer_side_actors_every_template_call(db: Database) -> None:
    with db.write() as s:
        plan = services.create_plan(s, SELLER, "C1", "Deal")
        template_store.save_template(s, SELLER, "ours", _template(1, 1))
        plan_id = plan.id
    calls = {
        "save": lambda s, p: template_store.save_template(s, GUEST, "x", _template(1, 1)),
        "delete": lambda s, p: template_store.delete_template(s, GUEST, "ours"),
        "apply": lambda s, p: template_store.apply_template(
            s, GUEST, p, template_store.find_template(s, SELLER_TEAM, "ours"), TODAY
        ),
    }
    for name, call in calls.items():
        with pytest.raises(services.Forbidden, match="seller team's playbooks"), db.write() as s:
            call(s, s.get(Plan, plan_id))
        assert name
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(Task)) == 0
    assert _stored(db) == ["ours"]


# --- a plan's caps ---------------------------------------------------------------------


def _fill(db: Database, plan_id: int, n: int) -> None:
    """`n` tasks written straight in (fast), numbered on from the plan's next number."""
    at = datetime(2026, 12, 1, tzinfo=UTC)
    with db.write() as s:
        plan = s.get(Plan, plan_id)
        assert plan is not None
        milestone = s.scalars(select(Milestone).where(Milestone.plan_id == plan_id)).first()
        if milestone is None:
            milestone = services.add_milestone(s, SELLER, plan, "Bulk")
        first = plan.next_task_number
        s.execute(
            insert(Task),
            [
                {
                    "plan_id": plan_id,
                    "milestone_id": milestone.id,
                    "number": first + i,
                    "position": first + i,
                    "title": f"Bulk {first + i}",
                    "created_at": at,
                    "updated_at": at,
                }
                for i in range(n)
            ],
        )
        plan.next_task_number = first + n


def _count(db: Database, model: type) -> int:
    with db.read() as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


def _plan_id(db: Database) -> int:
    with db.read() as s:
        return s.scalars(select(Plan.id)).one()


def test_tasks_and_milestones_at_the_cap_and_one_past(h: Harness, db: Database) -> None:
    h.command("create Deal go-live 2027-06-01")
    _fill(db, _plan_id(db), MAX_TASKS_PER_PLAN - 1)
    assert "Added" in h.command("add The five hundredth").body
    body = h.command("add One too many").body
    assert f"A plan holds at most {MAX_TASKS_PER_PLAN} tasks; this one has 500" in body
    assert _count(db, Task) == MAX_TASKS_PER_PLAN
    for m in range(MAX_MILESTONES_PER_PLAN - 1):  # one milestone is there already
        assert "Added milestone" in h.command(f"milestone add Phase {m}").body
    body = h.command("milestone add Phase fifty-one").body
    assert f"at most {MAX_MILESTONES_PER_PLAN} milestones" in body
    assert _count(db, Milestone) == MAX_MILESTONES_PER_PLAN


def test_extend_fits_or_adds_nothing(db: Database) -> None:
    with db.write() as s:
        plan = services.create_plan(s, SELLER, "C1", "Deal")
        template_store.save_template(s, SELLER, "ten", _template(2, 10))
        template_store.save_template(s, SELLER, "eleven", _template(2, 11))
        plan_id = plan.id
    _fill(db, plan_id, MAX_TASKS_PER_PLAN - 10)
    too_many = pytest.raises(services.Invalid, match="at most 500 tasks; this one has 490")
    with too_many, db.write() as s:
        plan = s.get(Plan, plan_id)
        assert plan is not None
        template = template_store.find_template(s, SELLER_TEAM, "eleven")
        template_store.apply_template(s, SELLER, plan, template, TODAY)
    assert _count(db, Task) == 490 and _count(db, Milestone) == 1, "nothing half-done"
    with db.write() as s:
        plan = s.get(Plan, plan_id)
        assert plan is not None
        template = template_store.find_template(s, SELLER_TEAM, "ten")
        assert template_store.apply_template(s, SELLER, plan, template, TODAY).added == 10
    assert _count(db, Task) == MAX_TASKS_PER_PLAN


def test_milestones_a_template_would_add_count_against_the_cap(db: Database) -> None:
    with db.write() as s:
        plan = services.create_plan(s, SELLER, "C1", "Deal")
        for m in range(MAX_MILESTONES_PER_PLAN - 2):
            services.add_milestone(s, SELLER, plan, f"Existing {m}")
        # Two new milestones fit; a third doesn't, however few its tasks.
        template_store.save_template(s, SELLER, "two", _template(2, 2))
        template_store.save_template(s, SELLER, "three", _template(3, 3))
        plan_id = plan.id
    too_many = pytest.raises(services.Invalid, match="at most 50 milestones; this one has 48")
    with too_many, db.write() as s:
        plan = s.get(Plan, plan_id)
        assert plan is not None
        t = template_store.find_template(s, SELLER_TEAM, "three")
        template_store.apply_template(s, SELLER, plan, t, TODAY)
    with db.write() as s:
        plan = s.get(Plan, plan_id)
        assert plan is not None
        t = template_store.find_template(s, SELLER_TEAM, "two")
        template_store.apply_template(s, SELLER, plan, t, TODAY)
    assert _count(db, Milestone) == MAX_MILESTONES_PER_PLAN


def test_save_and_extend_no_longer_doubles_a_plan_without_end(h: Harness, db: Database) -> None:
    assert "Laid out" in h.command("create Deal from enterprise go-live 2027-06-01").body
    rounds = 0
    while True:
        saved = h.command("template save grow").body
        extended = h.command("extend grow").body
        rounds += 1
        if "Laid out" not in extended:
            break
        assert "Saved" in saved and rounds < 10
    assert "A plan holds at most 500 tasks" in extended
    assert _count(db, Task) <= MAX_TASKS_PER_PLAN
    # A legacy plan already past a template's cap can't be saved as one.
    _fill(db, _plan_id(db), MAX_TASKS_PER_PLAN + 1 - _count(db, Task))
    assert (
        "This plan has 501 tasks; a template holds at most 500"
        in h.command("template save huge").body
    )


def test_comments_at_the_cap_and_one_past(db: Database) -> None:
    with db.write() as s:
        plan = services.create_plan(s, SELLER, "C1", "Deal")
        task = services.add_task(s, SELLER, plan, "Talk")
        plan_id, task_id = plan.id, task.id
        at = datetime(2026, 12, 1, tzinfo=UTC)
        s.execute(
            insert(Comment),
            [
                {
                    "plan_id": plan_id,
                    "task_id": task_id,
                    "author_id": "U0LEX",
                    "author_side": "seller",
                    "body": f"c{i}",
                    "created_at": at,
                }
                for i in range(MAX_COMMENTS_PER_TASK - 1)
            ],
        )

    def comment() -> None:
        with db.write() as s:
            plan, task = s.get(Plan, plan_id), s.get(Task, task_id)
            assert plan is not None and task is not None
            collab_services.add_comment(s, SELLER, plan, task, "one more")

    comment()
    with pytest.raises(collab_services.FieldInvalid, match="at most 500 comments"):
        comment()
    assert _count(db, Comment) == MAX_COMMENTS_PER_TASK


def test_laying_out_a_template_at_the_cap_is_a_few_statements(db: Database) -> None:
    """The write lock (SQLite: the whole database) is held for a fixed number of
    statements, not a round trip per task: measured ~0.1-0.25 s on SQLite at the cap."""
    with db.write() as s:
        plan = services.create_plan(s, SELLER, "C1", "Deal", target_date=date(2027, 6, 1))
        phase = services.add_milestone(s, SELLER, plan, "Phase 0")  # reused by the template
        services.add_task(s, SELLER, plan, "Already there", milestone=phase)
        plan_id = plan.id
    template = parse_template(_template(MAX_TEMPLATE_MILESTONES, MAX_TEMPLATE_TASKS - 1))
    statements: list[str] = []

    def count(*args: object, **_kw: object) -> None:
        statements.append(str(args[2]))

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        with db.write() as s:
            plan = s.get(Plan, plan_id)
            assert plan is not None
            laid = template_store.apply_template(s, SELLER, plan, template, TODAY)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert laid.added == MAX_TEMPLATE_TASKS - 1
    # Per milestone: a count, a max(position), the insert and its activity row.
    assert len(statements) < 5 * MAX_TEMPLATE_MILESTONES + 20, len(statements)
    with db.read() as s:
        numbers = list(s.scalars(select(Task.number).order_by(Task.number)))
        added = s.scalar(
            select(func.count()).select_from(Activity).where(Activity.action == "task.add")
        )
        positions = s.execute(
            select(Task.milestone_id, func.count(), func.max(Task.position)).group_by(
                Task.milestone_id
            )
        ).all()
    assert numbers == list(range(1, MAX_TASKS_PER_PLAN + 1)), "numbered on, no gaps"
    assert added == MAX_TASKS_PER_PLAN, "an activity row for every task"
    assert all(n == top for _, n, top in positions), "positions 1..n in each milestone"
