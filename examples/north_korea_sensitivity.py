"""What would change the verdict? Vary the key judgments of the North Korea case.

Each row re-assesses ``examples/north-korea-troops.yaml`` with one judgment
changed (with the edits of :mod:`credence.explain`) and prints the posterior
probability of the claim, its 90% robustness interval and the ICD 203 words;
the end prints the ranked table of the smallest changes that cross the
verdict's band. Run from anywhere:

    python examples/north_korea_sensitivity.py
"""

from __future__ import annotations

from pathlib import Path

from credence import Beta, TwoCoin, assess, load_case
from credence.explain import (
    what_would_change,
    with_copy_probability,
    with_prior,
    with_reliability,
    without,
)

CASE = Path(__file__).with_name("north-korea-troops.yaml")


def zelensky_fpr(case, fpr):
    """Zelensky's channel with another false-positive rate, the same sensitivity."""
    channel = next(s for s in case.sources if s.id == "zelensky").reliability
    return with_reliability(
        case, "zelensky", TwoCoin(sensitivity=channel.sensitivity, false_positive_rate=fpr)
    )


def drop(case, *ids):
    """Remove evidence items; a report left with no parent to copy goes too."""
    for eid in ids:
        case = without(case, eid)
    return case


def row(label: str, case: dict) -> None:
    result = assess(case, seed=1)
    print(f"  {label:<44} {result.verdict}")


def main() -> None:
    base = load_case(CASE)
    print("Posterior that North Korea has sent troops (evidence to 2024-10-21)\n")
    row("as written in the case file", base)

    print("\nThe prior (case file: Beta(2, 8), mean 20%)")
    for label, prior in [
        ("prior 0.20, no uncertainty", 0.2),
        ("prior 0.05 (unheard of)", 0.05),
        ("prior 0.01 (all but impossible)", 0.01),
        ("prior Beta(1, 19), mean 5%", (1, 19)),
        ("prior 0.50 (no opinion)", 0.5),
    ]:
        row(label, with_prior(base, Beta(*prior) if isinstance(prior, tuple) else prior))

    print("\nSouth Korea's NIS (case file: B)")
    for grade in ["A", "C", "D", "E", "F"]:
        row(f"NIS graded {grade}", with_reliability(base, "nis", grade))
    row("NIS accuracy fixed at 0.9", with_reliability(base, "nis", 0.9))

    print("\nZelensky's false-positive rate (case file: Beta(3, 7), mean 0.3)")
    for label, fpr in [
        ("Beta(1, 9), mean 0.1", Beta(1, 9)),
        ("Beta(5, 5), mean 0.5", Beta(5, 5)),
        ("Beta(7, 3), mean 0.7", Beta(7, 3)),
        ("Beta(9, 1), mean 0.9", Beta(9, 1)),
    ]:
        row(f"false-positive rate {label}", zelensky_fpr(base, fpr))

    print("\nCopy probabilities (case file: Zelensky 19 Oct Beta(8, 2); CNN 1)")
    copy = with_copy_probability
    row("Zelensky 19 Oct a pure copy (1)", copy(base, "zelensky-oct19", 1))
    row("Zelensky 19 Oct half independent (0.5)", copy(base, "zelensky-oct19", 0.5))
    row("Zelensky 19 Oct independent (0)", copy(base, "zelensky-oct19", 0))
    row("CNN 20 Oct half independent (0.5)", copy(base, "cnn-oct20", 0.5))
    row("CNN 20 Oct independent (0)", copy(base, "cnn-oct20", 0))

    print("\nTaking evidence out")
    row("without the treaty", drop(base, "treaty"))
    row(
        "without Zelensky's three reports",
        drop(base, "zelensky-oct13", "zelensky-oct17", "zelensky-oct19"),
    )
    row("without NIS (and the reports copying it)", drop(base, "nis-oct18"))
    row("without the article (graded F)", drop(base, "article"))
    row("the article graded A instead of F", with_reliability(base, "commentator", "A"))

    print("\nA sceptic's case: prior 0.05, NIS graded C, Zelensky says it either way")
    sceptic = with_prior(base, 0.05)
    sceptic = with_reliability(sceptic, "nis", "C")
    sceptic = zelensky_fpr(sceptic, Beta(9, 1))
    row("all three together", sceptic)

    print("\nThe smallest changes that cross the verdict's band, ranked")
    print(what_would_change(base))


if __name__ == "__main__":
    main()
