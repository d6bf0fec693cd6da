"""The words of call notes the default extractor reads: headings, bullets, speaker
labels, commitments ("will", "'ll", "to"), the parties ("we", "they", "both"), owner
tags, and the words that put a step in a deal phase. Data only; `extract` reads by it."""

from __future__ import annotations

import re

# Milestones a deal goes through, and words that put a step in one.
MILESTONE_WORDS: list[tuple[str, tuple[str, ...]]] = [
    ("Go-live", ("go-live", "go live", "golive", "launch", "cutover", "cut-over", "rollout")),
    ("Security review", (
        "security", "questionnaire", "soc 2", "soc2", "soc-2", "pen test", "pentest",
        "penetration", "sig lite", "sig ", "caiq", "infosec", "iso 27001", "vulnerability",
        "sso", "saml", "encryption", "data residency", "hecvat", "vendor risk",
    )),
    ("Legal review", (
        "msa", "contract", "redline", "legal", "terms", "nda", "dpa", "data processing",
        "order form", "signature", "sign ", "docusign", "countersign", "liability", "baa",
    )),
    ("Procurement", (
        "procurement", "purchase order", " po ", " po.", "po number", "vendor onboarding",
        "vendor form", "supplier", "w-9", "w9", "invoice", "budget", "pricing", "quote",
        "proposal", "discount", "billing", "approval", "cfo", "finance",
    )),
    ("Kickoff", (
        "kickoff", "kick-off", "kick off", "onboarding", "implementation", "training",
        "project plan", "sandbox", "provision", "admin access", "workspace setup",
    )),
    ("Technical validation", (
        "pilot", "poc", "proof of concept", "trial", "technical validation", "integration",
        "api", "architecture", "demo environment", "test plan", "sandbox",
    )),
    ("Discovery", (
        "discovery", "requirements", "use case", "success criteria", "business case",
        "stakeholder", "demo", "roi", "metrics", "pain", "champion", "deck", "recap",
    )),
]  # fmt: skip

ACTION_HEADINGS = re.compile(
    r"^(?:next steps?|action items?|actions|ais?|to-?dos?|follow[- ]?ups?|owners?|"
    r"tasks?|open items|takeaways|commitments|who does what)\b",
    re.IGNORECASE,
)
IGNORED_HEADINGS = re.compile(
    r"^(?:attendees?|participants?|present|agenda|notes?|summary|context|background|"
    r"discussion|recap|overview|risks?|questions?|open questions|decisions?|transcript)\b",
    re.IGNORECASE,
)
BULLET = re.compile(r"^\s*(?:[-*•‣◦▪>]+|\d{1,2}[.)](?=\s)|\[[ xX]?\])\s*(?:\[[ xX]?\]\s*)?")
HEADING = re.compile(
    r"^\s*(?:#{1,6}\s*(?P<h1>.+?)|\*\*(?P<h2>[^*]+)\*\*:?|(?P<h3>[^.!?:]{2,60}):)\s*$"
)
SPEAKER = re.compile(
    r"^\s*(?:\[?\(?\d{1,2}:\d{2}(?::\d{2})?\)?\]?\s*[-–]?\s*)?"
    r"(?P<name>[A-Z][\w.'’-]*(?: [A-Z][\w.'’-]*){0,2})\s*(?:\((?P<org>[^)]{1,40})\))?"
    r"\s*[:：]\s+(?P<rest>\S.*)$"
)
FIELD = re.compile(
    r"^\s*(?P<key>date|call date|meeting date|subject|title|re|meeting|deal|account|"
    r"go[- ]?live|target go[- ]?live|target date|launch date|attendees|participants)\s*[:\-–]\s*"
    r"(?P<value>.+)$",
    re.IGNORECASE,
)
PREFIX = re.compile(
    r"^(?:action(?: item)?|ai|todo|to-do|next step|follow[- ]?up|task|owner)s?\s*[:\-–]\s*",
    re.IGNORECASE,
)
SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[\"“(]?[A-Z@])|;\s+")

# "<subject> will <rest>": the commitment and who makes it.
MODAL = re.compile(
    r"(?P<modal>\bwill\b|['’]ll\b|\bshall\b|\b(?:is|are|am) going to\b|\bgoing to\b|"
    r"\b(?:has|have) agreed to\b|\bagreed to\b|\bcommitted to\b|\bpromised to\b|"
    r"\boffered to\b|\bvolunteered to\b|\bneeds? to\b|\b(?:has|have) to\b|\bmust\b|"
    r"\bowes?(?: us| them)?\b|\bto\b)\s+(?P<rest>\S.*)$",
    re.IGNORECASE,
)
# Modals a party only needs to be named for ("The rollout will take 3 weeks" is no step).
WEAK_MODALS = {"to", "must", "need to", "needs to", "has to", "have to"}
NOT_A_COMMITMENT = re.compile(
    r"\b(?:wants?|would like|hopes?|plans?|expects?|likes?|tries|trying|tried|used|"
    r"happy|able|unable|asked|asking|told|tells|reminded|went|came|talked|spoke|"
    r"wanted|needed|intends?|hoping|planning|looking|due|up|down|back|how|what|"
    r"way|time|ready|moving|close)$",
    re.IGNORECASE,
)
NEGATED = re.compile(r"\b(?:won['’]t|will not|not going to|no need|don['’]t need|doesn['’]t|"
                      r"never|cannot|can['’]t|shouldn['’]t)\b", re.IGNORECASE)  # fmt: skip
MUTUAL = re.compile(
    r"\b(?:both|together|jointly|joint|all of us|everyone|the two teams|we all|"
    r"us and them|they and we|we and they|each side)\b",
    re.IGNORECASE,
)
SELF = re.compile(r"^(?:i|i['’]m|me|my|we|we['’]re|us|our|ourselves|my team)\b", re.IGNORECASE)
FIRST_PERSON = re.compile(r"\b(?:i|me|my)\b", re.IGNORECASE)
OTHER = re.compile(
    r"^(?:he|she|they|they['’]re|them|their|the customer|customer|the client|client|the buyer|"
    r"buyer|the prospect|prospect)\b",
    re.IGNORECASE,
)
SELLER_WORDS = re.compile(r"^(?:the )?(?:vendor|seller|our side)\b", re.IGNORECASE)
# Who may be the subject of a weak modal: a person or a party, a team of one side.
TEAM_WORDS = re.compile(
    r"\b(?:team|legal|security|infosec|procurement|finance|it|engineering|ops|cs|"
    r"counsel|ciso|cto|cfo|ceo|vp|admin|champion|se|ae|csm|pm|sales|customer success)\b",
    re.IGNORECASE,
)
GOLIVE = re.compile(r"\b(?:go[- ]?live|go(?:ing)? live|launch(?:ing)?|cut-?over|live date)\b",
                     re.IGNORECASE)  # fmt: skip
OWNER_TAIL = re.compile(
    r"\s*(?:\((?:owner:?\s*)?(?P<p>[^()]{1,40})\)|\[(?P<b>[^\[\]]{1,40})\]|"
    r"\s[-–—]\s*(?:owner:?\s*)?(?P<d>@?[\w.'’ -]{1,30})|,?\s*owner:?\s*(?P<o>@?[\w.'’ -]{1,30}))"
    r"\s*[.!]?\s*$",
    re.IGNORECASE,
)
LEAD_FILLER = re.compile(
    r"^(?:also|then|and|so|please|definitely|probably|likely|first|next|finally|"
    r"go ahead and|try to|make sure to|get|be sure to|plan to)\s+",
    re.IGNORECASE,
)
MARKUP = re.compile(r"<(?P<inner>[^<>]*)>")
TRAILING = re.compile(r"[\s,;:–—-]+$")
CHECKBOX = re.compile(r"^\s*(?:[-*•]\s*)?\[[ xX]?\]")
INTERJECTION = re.compile(
    r"^(?:(?:and|also|so|then|but|ok|okay|sure|great|yes|yeah|right|perfect|good|fine|"
    r"cool|absolutely|of course)\b[,.!]?\s*)+",
    re.IGNORECASE,
)
NOT_A_STEP = re.compile(
    r"^(?:also |probably |definitely |still )*(?:need|want|like|love|hear|think|know|see how|"
    r"be happy|be glad|wait)\b",
    re.IGNORECASE,
)
LAST_PRONOUN = re.compile(r"\b(i|we|they|he|she)$", re.IGNORECASE)
