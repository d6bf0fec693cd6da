"""Drafting benchmark: the default extractor on the notes set.

    .venv/bin/python bench/drafting_bench.py [--misses]

For every case in tests/fixtures/drafting/ (discovery, security review, procurement,
kickoff, legal; bullets, prose, speaker-labelled transcripts; US and European dates):
task precision and recall (a proposed task matches an expected one when half their
words are shared), and over the matched tasks side, assignee and due-date accuracy,
plus the go-live. Totals are over all tasks of all cases; `--misses` lists each miss. The cases in
heldout/ were written after the rules and never tuned on: their figures are the
honest estimate for notes the rules have not seen.
tests/test_drafting_extractor.py holds the floors (FLOORS there).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from commands.drafting.corpus import CORPUS, cases  # noqa: E402
from commands.drafting.extract import extract  # noqa: E402
from commands.drafting.score import Score, score  # noqa: E402


def run(show_misses: bool, folder: Path = CORPUS) -> Score:
    total = Score()
    by_style: dict[str, Score] = {}
    started = time.perf_counter()
    all_cases = cases(folder)
    print(f"{'case':32} {'prec':>5} {'rec':>5} {'side':>5} {'who':>5} {'due':>5}")
    for case in all_cases:
        s = score(case.name, extract(case.notes, case.ctx), case.expected, case.golive)
        total.add(s)
        by_style.setdefault(case.style, Score()).add(s)
        print(
            f"{case.name:32} {s.precision:5.2f} {s.recall:5.2f} {s.side_accuracy:5.2f} "
            f"{s.assignee_accuracy:5.2f} {s.date_accuracy:5.2f}"
        )
    elapsed = time.perf_counter() - started
    print()
    for style, s in sorted(by_style.items()):
        print(f"{style:12} precision {s.precision:.2f}  recall {s.recall:.2f}")
    print(
        f"\n{len(all_cases)} cases, {total.expected} expected tasks, {total.proposed} proposed, "
        f"{total.matched} matched\n"
        f"task precision  {total.precision:.3f}\n"
        f"task recall     {total.recall:.3f}\n"
        f"side accuracy   {total.side_accuracy:.3f}  (of matched tasks)\n"
        f"assignee acc.   {total.assignee_accuracy:.3f}  (of matched; none = none counts)\n"
        f"date accuracy   {total.date_accuracy:.3f}  (of matched; none = none counts)\n"
        f"go-live         {total.golive_ok}/{total.golive_expected}\n"
        f"time            {elapsed * 1000:.0f} ms for all cases (extraction and scoring)"
    )
    if show_misses:
        print("\nmisses:")
        for miss in total.misses:
            print("  " + miss)
    return total


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--misses", action="store_true", help="list every miss")
    args = parser.parse_args()
    print("== the notes set (the rules were tuned on it) ==")
    run(args.misses)
    print("\n== held out (written after the rules, never tuned on) ==")
    run(args.misses, CORPUS / "heldout")
