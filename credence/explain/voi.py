"""Value of information: what one more report would do to the verdict (preposterior analysis).

Ask a source one more yes/no question about a set A of hypotheses. Its answer
has, under each hypothesis H, the predictive probability
``P(answer | H, evidence)``: for a source of the case, its reliability is
already informed by its reports, so this is ``E[P(answer | H, theta) | H,
evidence]``, which the exact engine gives as a ratio of marginal likelihoods,
``P(evidence + answer | H) / P(evidence | H)``. For a new source it is the
mean of its reliability prior. Then, by Bayes' rule,

* ``P(answer | evidence) = sum_H P(H | evidence) P(answer | H, evidence)``;
* ``P(H | evidence, answer) = P(H | evidence) P(answer | H, evidence) / P(answer | evidence)``.

The posteriors after the answers average, weighted by the answers'
probabilities, to the current posterior (the posterior is a martingale): a
question cannot be expected to move the verdict one way. What it can be
expected to do is to sharpen it: the expected reduction in the entropy of the
posterior (the mutual information between hypothesis and answer, in bits), and
the chances that the verdict's words or its leading hypothesis change.

Everything is exact (no sampling): the hypothetical report is added to a copy
of the case and the copy is compiled and evaluated by the exact engine.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from credence.api import as_case
from credence.case import Case, Evidence, Source
from credence.compile import CompiledCase, compile_exact
from credence.errors import shown
from credence.jsonable import finite_or_none
from credence.words import words as icd203_words

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["VOI", "VOIRanking", "entropy_bits", "rank_next_sources", "value_of_information"]

#: The answers a report can give, and the stance of each.
ANSWERS = ("yes", "no")
_STANCES = ("supports", "refutes")


def _readonly(x: np.ndarray) -> np.ndarray:
    x = np.array(x, dtype=float)
    x.setflags(write=False)
    return x


def _finite_list(x: np.ndarray) -> list[float | None]:
    return [finite_or_none(v) for v in np.ravel(x)]


def entropy_bits(p: np.ndarray) -> float:
    """Entropy ``-sum p log2 p`` of a distribution, in bits (0 log 0 = 0).

    Examples
    --------
    >>> entropy_bits(np.array([0.5, 0.5]))
    1.0
    """
    p = np.asarray(p, dtype=float)
    p = p[p > 0]
    return float(-(p * np.log2(p)).sum())


@dataclass(frozen=True, eq=False)
class VOI:
    """The value of asking ``source`` one more question about the hypotheses ``about``.

    Attributes
    ----------
    source : str
        The source asked (an id of the case, or the name of a hypothetical source).
    hypothetical : bool
        True for a new source (not in the case).
    about : tuple of str
        The set A the question is about (``("true",)``: the claim).
    hypotheses : tuple of str
    subject : str
        The verdict's hypothesis (the claim, or the leading hypothesis).
    posterior : ndarray (K,)
        P(H | evidence) now.
    answers : tuple of str
        ``("yes", "no")``: ``supports`` / ``refutes`` the set A.
    likelihood : ndarray (2, K)
        P(answer | H, evidence), rows in the order of ``answers``.
    probability : ndarray (2,)
        P(answer | evidence).
    posteriors : ndarray (2, K)
        P(H | evidence, answer); NaN for an answer of probability 0.
    preposterior_mean : ndarray (K,)
        ``sum_answer P(answer | evidence) P(H | evidence, answer)``; equals the
        current posterior (up to rounding).
    entropy : float
        Entropy of the current posterior over hypotheses, in bits.
    expected_entropy_reduction : float
        Current entropy minus the expected entropy after the answer, in bits:
        the mutual information between hypothesis and answer (>= 0).
    p_band_change : float
        Probability that the ICD 203 words for the subject's probability change.
    p_leading_change : float
        Probability that the most probable hypothesis changes.
    """

    source: str
    hypothetical: bool
    about: tuple[str, ...]
    hypotheses: tuple[str, ...]
    subject: str
    posterior: np.ndarray
    answers: tuple[str, ...]
    likelihood: np.ndarray
    probability: np.ndarray
    posteriors: np.ndarray
    preposterior_mean: np.ndarray
    entropy: float
    expected_entropy_reduction: float
    p_band_change: float
    p_leading_change: float

    @property
    def words(self) -> str:
        """ICD 203 words for the subject's probability now."""
        return icd203_words(float(self.posterior[self.hypotheses.index(self.subject)]))

    @property
    def words_after(self) -> tuple[str | None, ...]:
        """ICD 203 words for the subject's probability after each answer."""
        i = self.hypotheses.index(self.subject)
        return tuple(
            icd203_words(float(np.clip(p[i], 0.0, 1.0))) if np.isfinite(p[i]) else None
            for p in self.posteriors
        )

    @property
    def leading_after(self) -> tuple[str | None, ...]:
        """The most probable hypothesis after each answer."""
        return tuple(
            self.hypotheses[int(np.argmax(p))] if np.isfinite(p).all() else None
            for p in self.posteriors
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready plain types (NaN as None).

        Examples
        --------
        >>> from credence import Case, Claim
        >>> v = value_of_information(Case(claim=Claim(statement="c")), source="x", reliability=0.9)
        >>> v.to_dict()["answers"][0]["probability"]
        0.5
        """
        hyps = self.hypotheses
        return {
            "source": self.source,
            "hypothetical": self.hypothetical,
            "about": list(self.about),
            "subject": self.subject,
            "posterior": dict(zip(hyps, _finite_list(self.posterior), strict=True)),
            "words": self.words,
            "answers": [
                {
                    "answer": answer,
                    "stance": stance,
                    "probability": _finite_list(self.probability)[a],
                    "likelihood": dict(zip(hyps, _finite_list(self.likelihood[a]), strict=True)),
                    "posterior": dict(zip(hyps, _finite_list(self.posteriors[a]), strict=True)),
                    "words": self.words_after[a],
                    "leading": self.leading_after[a],
                }
                for a, (answer, stance) in enumerate(zip(self.answers, _STANCES, strict=True))
            ],
            "preposterior_mean": dict(zip(hyps, _finite_list(self.preposterior_mean), strict=True)),
            "entropy_bits": self.entropy,
            "expected_entropy_reduction_bits": self.expected_entropy_reduction,
            "p_band_change": self.p_band_change,
            "p_leading_change": self.p_leading_change,
        }

    def to_frame(self) -> pd.DataFrame:
        """One row per answer: its probability, the posterior after it, words and leader."""
        import pandas as pd

        rows = []
        for a, answer in enumerate(self.answers):
            row = {
                "answer": answer,
                "stance": _STANCES[a],
                "probability": float(self.probability[a]),
            }
            row |= {
                f"P({h})": float(p)
                for h, p in zip(self.hypotheses, self.posteriors[a], strict=True)
            }
            row |= {"words": self.words_after[a], "leading": self.leading_after[a]}
            rows.append(row)
        return pd.DataFrame(rows).set_index("answer")


@dataclass(frozen=True, eq=False)
class VOIRanking:
    """Sources ranked by the value of asking each one more question.

    Attributes
    ----------
    about : tuple of str
        The set of hypotheses every question is about.
    entries : tuple of VOI
        Best first: by expected entropy reduction, ties by the probability of
        a band change.
    """

    about: tuple[str, ...]
    entries: tuple[VOI, ...]

    @property
    def sources(self) -> tuple[str, ...]:
        """Source names, best first."""
        return tuple(v.source for v in self.entries)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready plain types: ``{"about": [...], "ranking": [VOI.to_dict(), ...]}``."""
        return {"about": list(self.about), "ranking": [v.to_dict() for v in self.entries]}

    def to_frame(self) -> pd.DataFrame:
        """One row per source, best first."""
        import pandas as pd

        return pd.DataFrame(
            [
                {
                    "source": v.source,
                    "hypothetical": v.hypothetical,
                    "expected_entropy_reduction_bits": v.expected_entropy_reduction,
                    "p_band_change": v.p_band_change,
                    "p_leading_change": v.p_leading_change,
                    "p_yes": float(v.probability[0]),
                }
                for v in self.entries
            ]
        ).set_index("source")


def _about(case: Case, compiled: CompiledCase, about: Any) -> tuple[str, ...]:
    if case.is_binary:
        if about is not None:
            raise ValueError("a binary case's question is about its claim: leave `about` out")
        return ("true",)
    if about is None:
        from credence.exact import exact_posterior

        return (compiled.hypotheses[int(np.argmax(exact_posterior(compiled)))],)
    chosen = (about,) if isinstance(about, str) else tuple(about)
    unknown = [h for h in chosen if h not in compiled.hypotheses]
    if unknown or not chosen or len(set(chosen)) != len(chosen):
        raise ValueError(
            "about is a non-empty list of distinct hypothesis ids "
            f"({', '.join(compiled.hypotheses)}); got {shown(list(chosen))}"
        )
    return tuple(h for h in compiled.hypotheses if h in chosen)


def _fresh(taken: set[str], stem: str) -> str:
    name, i = stem, 1
    while name in taken:
        i += 1
        name = f"{stem}-{i}"
    return name


def _asked(case: Case, source: str, reliability: Any) -> tuple[Case, str, bool]:
    """The case with the asked source in it, the source's id there, and hypothetical or not."""
    known = {s.id for s in case.sources}
    if reliability is None:
        if source not in known:
            raise ValueError(
                f"unknown source {shown(source)}; give reliability= to ask a new, "
                "hypothetical source"
            )
        return case, source, False
    if source in known:
        raise ValueError(
            f"{shown(source)} is already a source of the case: leave reliability out to ask "
            "it again, or give the new source another name"
        )
    new = Source(id=source, reliability=reliability)
    return case.model_copy(update={"sources": [*case.sources, new]}), source, True


def _log_evidence(case: Case) -> np.ndarray:
    from credence.exact import exact_log_evidence

    return exact_log_evidence(compile_exact(case, "the value of information"))


def _voi(case: Case, compiled: CompiledCase, source: str, reliability: Any, about: Any) -> VOI:
    hypotheses = compiled.hypotheses
    chosen = _about(case, compiled, about)
    asked, source_id, hypothetical = _asked(case, source, reliability)
    item_id = _fresh({e.id for e in case.evidence}, "next-report")

    def report(stance: str) -> Evidence:
        if case.is_binary:
            return Evidence(id=item_id, source=source_id, stance=stance)
        return Evidence(id=item_id, source=source_id, **{stance: list(chosen)})

    base = _log_evidence(asked)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_post = np.log(compiled.prior) + base
    if not np.isfinite(log_post).any():
        from credence.exact import exact_assess

        exact_assess(compiled)  # raises, naming the item that makes the evidence impossible
    posterior = np.exp(log_post - np.logaddexp.reduce(log_post))

    likelihood = np.zeros((2, len(hypotheses)))
    for a, stance in enumerate(_STANCES):
        more = asked.model_copy(update={"evidence": [*asked.evidence, report(stance)]})
        with np.errstate(invalid="ignore"):
            ratio = np.exp(_log_evidence(more) - base)
        # Where the evidence is already impossible under H, H has posterior 0 and its
        # predictive probability does not matter.
        likelihood[a] = np.where(posterior > 0, ratio, 0.0)

    probability = likelihood @ posterior
    with np.errstate(divide="ignore", invalid="ignore"):
        posteriors = np.where(
            probability[:, None] > 0, likelihood * posterior / probability[:, None], np.nan
        )
    possible = probability > 0
    preposterior = (probability[possible, None] * posteriors[possible]).sum(axis=0)

    # Mutual information: sum_H P(H) sum_a P(a | H) log2(P(a | H) / P(a)), term by
    # term >= 0 in exact arithmetic; equal to the entropy now minus its expectation after.
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = likelihood * (np.log2(likelihood) - np.log2(probability)[:, None])
    terms = np.where(likelihood > 0, terms, 0.0)
    information = float((terms * posterior).sum())

    subject = hypotheses[0] if case.is_binary else hypotheses[int(np.argmax(posterior))]
    s = hypotheses.index(subject)
    band = icd203_words(float(posterior[s]))
    leader = int(np.argmax(posterior))
    p_band = p_lead = 0.0
    for a in np.flatnonzero(possible):
        if icd203_words(float(np.clip(posteriors[a, s], 0.0, 1.0))) != band:
            p_band += float(probability[a])
        if int(np.argmax(posteriors[a])) != leader:
            p_lead += float(probability[a])

    return VOI(
        source=source,
        hypothetical=hypothetical,
        about=chosen,
        hypotheses=hypotheses,
        subject=subject,
        posterior=_readonly(posterior),
        answers=ANSWERS,
        likelihood=_readonly(likelihood),
        probability=_readonly(probability),
        posteriors=_readonly(posteriors),
        preposterior_mean=_readonly(preposterior),
        entropy=entropy_bits(posterior),
        expected_entropy_reduction=information,
        p_band_change=p_band,
        p_leading_change=p_lead,
    )


def value_of_information(
    case: Case | dict[str, Any] | str,
    *,
    source: str,
    about: str | Sequence[str] | None = None,
    reliability: Any = None,
) -> VOI:
    """The value of asking one more yes/no question of a source.

    Parameters
    ----------
    case : Case, dict or path
        A case the exact engine computes.
    source : str
        An id of a source of the case (its reliability is then the one its
        reports have taught: P(answer | H, evidence)), or, with
        ``reliability``, the name of a new hypothetical source.
    about : str or list of str, optional
        Multi-hypothesis cases: the set of hypotheses the question is about
        (default: the leading hypothesis). Binary cases: leave out (the claim).
    reliability : optional
        Reliability of a new source, in any form the case format takes: an
        Admiralty letter (the case's ``admiralty`` scale applies), a number
        (one-coin accuracy), a :class:`~credence.case.Beta`, a
        :class:`~credence.case.TwoCoin`, or their plain-data forms.

    Returns
    -------
    VOI

    Raises
    ------
    CaseError
        The case is invalid or needs the PyMC engine, or ``reliability`` is invalid.
    ValueError
        An unknown source (without ``reliability``), a new source named like
        one of the case's, or a bad ``about``.

    Examples
    --------
    >>> from credence import Case, Claim
    >>> case = Case(claim=Claim(statement="It rained", prior=0.3))
    >>> v = value_of_information(case, source="neighbour", reliability=0.8)
    >>> v.probability.round(6).tolist()  # P(yes) = 0.3 * 0.8 + 0.7 * 0.2
    [0.38, 0.62]
    >>> v.preposterior_mean.round(12).tolist()
    [0.3, 0.7]
    """
    case = as_case(case)
    return _voi(case, compile_exact(case, "the value of information"), source, reliability, about)


def rank_next_sources(
    case: Case | dict[str, Any] | str,
    *,
    candidates: Mapping[str, Any] | None = None,
    about: str | Sequence[str] | None = None,
) -> VOIRanking:
    """Rank the sources to ask next by the expected entropy reduction of one more report.

    Parameters
    ----------
    case : Case, dict or path
    candidates : mapping of str to reliability, optional
        New hypothetical sources to rank beside the case's, name -> reliability
        (any form :func:`value_of_information` takes).
    about : str or list of str, optional
        As in :func:`value_of_information` (the same set for every source).

    Returns
    -------
    VOIRanking
        Best first; ties in entropy reduction (to 1e-12 bits) go to the larger
        probability of a band change, then keep the order given (the case's
        sources, then the candidates).

    Examples
    --------
    >>> from credence import Case, Claim, Evidence, Source
    >>> case = Case(
    ...     claim=Claim(statement="c"),
    ...     sources=[Source(id="wire", reliability="B")],
    ...     evidence=[Evidence(id="w1", source="wire", stance="supports")],
    ... )
    >>> rank_next_sources(case, candidates={"coin": 0.5, "expert": 0.95}).sources
    ('expert', 'wire', 'coin')
    """
    case = as_case(case)
    compiled = compile_exact(case, "the value of information")
    known = {s.id for s in case.sources}
    clash = sorted(set(candidates or {}) & known)
    if clash:
        raise ValueError(f"candidate {shown(clash[0])} is already a source of the case")
    chosen = _about(case, compiled, about)
    about_arg = None if case.is_binary else chosen
    entries = [_voi(case, compiled, s.id, None, about_arg) for s in case.sources]
    entries += [_voi(case, compiled, n, r, about_arg) for n, r in (candidates or {}).items()]
    entries.sort(key=lambda v: (-round(v.expected_entropy_reduction, 12), -v.p_band_change))
    return VOIRanking(about=chosen, entries=tuple(entries))
