"""How big a plan, a template and an import may grow: far above any real deal,
so no request's cost grows without bound (one `extend` used to double a plan
each round). Every cap is refused with a message that names it."""

from __future__ import annotations

# A plan.
MAX_TASKS_PER_PLAN = 500
MAX_MILESTONES_PER_PLAN = 50
MAX_COMMENTS_PER_TASK = 500
MAX_LINKS_PER_TASK = 10

# A template (built-in, a team's own, or saved from a plan).
MAX_TEMPLATE_TASKS = MAX_TASKS_PER_PLAN
MAX_TEMPLATE_MILESTONES = MAX_MILESTONES_PER_PLAN

# An imported YAML text, before and while it is read.
MAX_YAML_BYTES = 256 * 1024  # a template at its caps with 300-character titles is ~200 KB
MAX_YAML_NODES = 10_000  # a 500-task template is about 4,500
MAX_YAML_DEPTH = 12  # a template is 6 deep: template, milestones, milestone, tasks, task, value
