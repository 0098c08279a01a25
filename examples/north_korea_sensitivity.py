"""What would change the verdict? Vary the key judgments of the North Korea case.

Each row re-assesses ``examples/north-korea-troops.yaml`` with one judgment
changed and prints the posterior probability of the claim, its 90% robustness
interval and the ICD 203 words. Run from anywhere:

    python examples/north_korea_sensitivity.py
"""

from __future__ import annotations

import copy
from pathlib import Path

from credence import assess
from credence.io import read_document

CASE = Path(__file__).with_name("north-korea-troops.yaml")


def source(case: dict, sid: str) -> dict:
    return next(s for s in case["sources"] if s["id"] == sid)


def item(case: dict, eid: str) -> dict:
    return next(e for e in case["evidence"] if e["id"] == eid)


def variant(base: dict, change) -> dict:
    case = copy.deepcopy(base)
    change(case)
    return case


def set_prior(value):
    def change(case):
        case["claim"]["prior"] = value

    return change


def set_reliability(sid, value):
    def change(case):
        source(case, sid)["reliability"] = value

    return change


def set_zelensky_fpr(value):
    def change(case):
        source(case, "zelensky")["reliability"]["false_positive_rate"] = value

    return change


def set_copy(eid, value):
    def change(case):
        item(case, eid)["copy_probability"] = value

    return change


def drop(*ids):
    """Remove evidence items; a report left with no parent to copy goes too."""

    def change(case):
        gone = set(ids)
        kept = []
        for e in case["evidence"]:
            if e["id"] in gone:
                continue
            if "derived_from" in e:
                e["derived_from"] = [p for p in e["derived_from"] if p not in gone]
                if not e["derived_from"]:
                    gone.add(e["id"])
                    continue
            kept.append(e)
        case["evidence"] = kept

    return change


def row(label: str, case: dict) -> None:
    result = assess(case, seed=1)
    print(f"  {label:<44} {result.verdict}")


def main() -> None:
    base = read_document(CASE)
    print("Posterior that North Korea has sent troops (evidence to 2024-10-21)\n")
    row("as written in the case file", base)

    print("\nThe prior (case file: Beta(2, 8), mean 20%)")
    for label, prior in [
        ("prior 0.20, no uncertainty", 0.2),
        ("prior 0.05 (unheard of)", 0.05),
        ("prior 0.01 (all but impossible)", 0.01),
        ("prior Beta(1, 19), mean 5%", {"beta": [1, 19]}),
        ("prior 0.50 (no opinion)", 0.5),
    ]:
        row(label, variant(base, set_prior(prior)))

    print("\nSouth Korea's NIS (case file: B)")
    for grade in ["A", "C", "D", "E", "F"]:
        row(f"NIS graded {grade}", variant(base, set_reliability("nis", grade)))
    row("NIS accuracy fixed at 0.9", variant(base, set_reliability("nis", 0.9)))

    print("\nZelensky's false-positive rate (case file: Beta(3, 7), mean 0.3)")
    for label, fpr in [
        ("Beta(1, 9), mean 0.1", {"beta": [1, 9]}),
        ("Beta(5, 5), mean 0.5", {"beta": [5, 5]}),
        ("Beta(7, 3), mean 0.7", {"beta": [7, 3]}),
        ("Beta(9, 1), mean 0.9", {"beta": [9, 1]}),
    ]:
        row(f"false-positive rate {label}", variant(base, set_zelensky_fpr(fpr)))

    print("\nCopy probabilities (case file: Zelensky 19 Oct Beta(8, 2); CNN 1)")
    row("Zelensky 19 Oct a pure copy (1)", variant(base, set_copy("zelensky-oct19", 1)))
    row("Zelensky 19 Oct half independent (0.5)", variant(base, set_copy("zelensky-oct19", 0.5)))
    row("Zelensky 19 Oct independent (0)", variant(base, set_copy("zelensky-oct19", 0)))
    row("CNN 20 Oct half independent (0.5)", variant(base, set_copy("cnn-oct20", 0.5)))
    row("CNN 20 Oct independent (0)", variant(base, set_copy("cnn-oct20", 0)))

    print("\nTaking evidence out")
    row("without the treaty", variant(base, drop("treaty")))
    row(
        "without Zelensky's three reports",
        variant(base, drop("zelensky-oct13", "zelensky-oct17", "zelensky-oct19")),
    )
    row("without NIS (and the reports copying it)", variant(base, drop("nis-oct18")))
    row("without the article (graded F)", variant(base, drop("article")))
    row("the article graded A instead of F", variant(base, set_reliability("commentator", "A")))

    print("\nA sceptic's case: prior 0.05, NIS graded C, Zelensky says it either way")
    sceptic = variant(base, set_prior(0.05))
    sceptic = variant(sceptic, set_reliability("nis", "C"))
    sceptic = variant(sceptic, set_zelensky_fpr({"beta": [9, 1]}))
    row("all three together", sceptic)


if __name__ == "__main__":
    main()
