"""Build a case from the Python classes, assess it, and read the result.

The same case could be written as a YAML file; ``case.to_dict()`` prints that
form. Run:

    python examples/build_case_in_python.py
"""

from __future__ import annotations

import pandas as pd
import yaml

from credence import Beta, Case, Claim, Evidence, Source, TwoCoin, assess

case = Case(
    title="Harbour crane collapse (an illustrative case)",
    claim=Claim(
        statement="The harbour crane was brought down deliberately",
        prior=Beta(3, 7),  # sceptical, and unsure how sceptical to be
    ),
    sources=[
        Source(id="cctv", name="Port authority CCTV review", kind="sensor", reliability="A"),
        Source(id="wire", name="International wire service", kind="media", reliability="B"),
        Source(id="blog", name="Aggregator blog", kind="media", reliability="D"),
        Source(
            id="operator",
            name="The crane operator's owner",
            kind="interested-party",
            # denies whatever happened: "no" whether or not it is true
            reliability=TwoCoin(sensitivity=Beta(1, 9), false_positive_rate=Beta(1, 19)),
        ),
    ],
    evidence=[
        Evidence(
            id="cctv-footage",
            source="cctv",
            stance="supports",
            summary="Footage shows a person at the base of the crane at 02:50",
            date="2025-03-02",
        ),
        Evidence(
            id="wire-report",
            source="wire",
            stance="supports",
            date="2025-03-02",
            summary="Investigators quoted: bolts were cut",
        ),
        Evidence(
            id="blog-repost",
            source="blog",
            stance="supports",
            date="2025-03-03",
            derived_from=["wire-report"],
            copy_probability=0.9,
            summary="Reposts the wire story",
        ),
        Evidence(id="owner-denial", source="operator", stance="refutes", date="2025-03-03"),
        Evidence(
            id="damage-pattern",
            likelihood_ratio=2.0,
            date="2025-03-04",
            summary="Failure pattern judged twice as likely under sabotage",
        ),
    ],
)

print("The case as a file would hold it:\n")
print(yaml.safe_dump(case.to_dict(), sort_keys=False, width=100))

result = assess(case, seed=7)
print(repr(result))
print()
print("Verdict:", result.verdict)
print(
    f"P(true) = {result.probability:.4f}; 90% robustness interval "
    f"{result.interval[0]:.3f} to {result.interval[1]:.3f}"
)
print()
with pd.option_context("display.width", 120, "display.max_columns", 10, "display.precision", 3):
    print(result.ledger)
