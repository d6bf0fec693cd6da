"""CRM sync: a plan pushes what it says (progress, milestone, health, forecast,
next buyer step, its link) to the HubSpot deal or Salesforce opportunity it is
linked to, and pulls the deal's close date back as its go-live.

- `adapter` — the small interface every CRM meets, and its errors;
  `hubspot` and `salesforce` implement it with the vendors' own clients, base
  URLs from the environment (tests point them at loopback fakes).
- `fields` — what is pushed, worked out from the plan (pure), and the mapping of
  our fields to CRM properties.
- `sync` — the outbox sender of a plan's coalesced push row, and the pull pass.
Credentials are per workspace and sealed at rest (storage.secret_box).
"""
