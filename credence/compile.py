"""Compile a validated case into arrays: the one place that knows the model's semantics.

Every sourced report is a yes/no signal on a set A of hypotheses. Under
hypothesis H its independent probability is linear in exactly one reliability
parameter: ``theta`` if the report "rises" with it, else ``1 - theta``

* one-coin accuracy r: the report declares the set D (A for "yes", the
  complement for "no"); P = r if H in D, else 1 - r;
* two-coin: the parameter is the sensitivity s if H in A, else the
  false-positive rate f; P = the parameter for "yes", 1 - it for "no".

A source's ``about:`` channel has its own parameters, used by the source's
reports whose set A is exactly the channel's.

A derived report mixes a copy (probability c) with an independent report:
``c * m + (1 - c) * P_independent``, where m is the fraction of its parents
declaring the same set. A later member of a group is the same mixture, with
the group's one c and m over the members before it. Engines read only the
arrays built here, through :mod:`credence.likelihood`.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from credence.case import ADMIRALTY, Admiralty, Beta, Case, Evidence, LogNormal, Source, TwoCoin
from credence.errors import CaseError

#: The name of an uncertain claim prior in parameter draws.
CLAIM_PRIOR_NAME = "claim.prior"

__all__ = [
    "CLAIM_PRIOR_NAME",
    "CompiledCase",
    "compile_case",
    "compile_exact",
    "match_fraction",
    "refuse_pymc_only",
]


@dataclass(frozen=True, eq=False)
class CompiledCase:
    """A case as arrays. Shapes: K hypotheses, P parameters, n sourced reports.

    Attributes
    ----------
    hypotheses : tuple of str
        Hypothesis ids (``("true", "false")`` for a binary case).
    prior : ndarray (K,)
        Prior probability of each hypothesis (the mean, for a Beta prior).
    prior_beta : tuple of float or None
        Beta(a, b) prior of a binary claim, when uncertain.
    evidence_ids : tuple of str
        All evidence ids in file order.
    order : ndarray of int
        Evidence indices in ledger order (by date where dates exist, else file order).
    source_ids, source_kinds : tuple
        Per source.
    param_source : ndarray (P,) of int
        Source of each reliability parameter.
    param_names : tuple of str
        ``"<source>.accuracy"``, ``"<source>.sensitivity"``, ``"<source>.false_positive_rate"``;
        ``"<source>.about[<h1>+<h2>].<name>"`` for a channel's (``about[<i>]``, its
        place, when a hypothesis id holds ``+``, ``[`` or ``]``, or all are digits).
    param_channel : ndarray (P,) of int
        Index of the source's ``about:`` channel a parameter belongs to, -1 for
        its ``reliability``.
    param_value : ndarray (P,)
        Fixed value, or NaN for a Beta parameter.
    param_alpha, param_beta : ndarray (P,)
        Beta prior, NaN for a fixed parameter.
    param_one_coin : ndarray (P,) of bool
        True for one-coin accuracies (the ones pooling by kind applies to).
    report_evidence, report_source : ndarray (n,) of int
    report_param : ndarray (n, K) of int
        Parameter each report depends on under each hypothesis.
    report_rises : ndarray (n, K) of bool
        Independent probability is ``theta`` (True) or ``1 - theta`` (False).
    report_declared : ndarray (n, K) of bool
        The set of hypotheses the report declares possible (A for "yes", its
        complement for "no").
    report_derived : ndarray (n,) of bool
        Has ``derived_from``; its probability is a copy mixture.
    report_match : ndarray (n,)
        Fraction m of parents (of earlier group members) declaring the same
        set; 0 for other reports.
    report_copy_value : ndarray (n,)
        Fixed copy probability (0 where not derived), NaN for a Beta one.
    report_copy_alpha, report_copy_beta : ndarray (n,)
        Beta prior of the copy probability, NaN where fixed.
    direct_evidence : ndarray (d,) of int
    direct_loglik : ndarray (d, K)
        log P(E | h) of direct evidence (0 rows for log-normal ratios).
    direct_lognormal : ndarray (d, 2)
        (mu, sigma) of an uncertain log-normal likelihood ratio, NaN otherwise.
    pooled_kinds : tuple of str
        Kinds whose one-coin accuracies are pooled (PyMC engine only).
    group_ids : tuple of str
    group_members : tuple of ndarray of int
        Each group's reports, in member order.
    group_copy_value, group_copy_alpha, group_copy_beta : ndarray (G,)
        Each group's copy probability: fixed value (NaN for a Beta), Beta prior
        (NaN where fixed).
    report_group : ndarray (n,) of int
        Group of each report, -1 for none.
    """

    case: Case
    hypotheses: tuple[str, ...]
    prior: np.ndarray
    prior_beta: tuple[float, float] | None
    evidence_ids: tuple[str, ...]
    order: np.ndarray
    source_ids: tuple[str, ...]
    source_kinds: tuple[str | None, ...]
    param_source: np.ndarray
    param_names: tuple[str, ...]
    param_channel: np.ndarray
    param_value: np.ndarray
    param_alpha: np.ndarray
    param_beta: np.ndarray
    param_one_coin: np.ndarray
    report_evidence: np.ndarray
    report_source: np.ndarray
    report_param: np.ndarray
    report_rises: np.ndarray
    report_declared: np.ndarray
    report_derived: np.ndarray
    report_match: np.ndarray
    report_copy_value: np.ndarray
    report_copy_alpha: np.ndarray
    report_copy_beta: np.ndarray
    direct_evidence: np.ndarray
    direct_loglik: np.ndarray
    direct_lognormal: np.ndarray
    pooled_kinds: tuple[str, ...]
    group_ids: tuple[str, ...]
    group_members: tuple[np.ndarray, ...]
    group_copy_value: np.ndarray
    group_copy_alpha: np.ndarray
    group_copy_beta: np.ndarray
    report_group: np.ndarray

    @property
    def n_hypotheses(self) -> int:
        """K."""
        return len(self.hypotheses)

    @property
    def n_params(self) -> int:
        """P."""
        return len(self.param_names)

    @cached_property
    def independent_counts(self) -> tuple[np.ndarray, np.ndarray]:
        """Counts of reports that are not copy mixtures, per parameter and hypothesis.

        Returns
        -------
        rise, fall : ndarray (P, K)
            How many such reports have probability ``theta`` (rise) or
            ``1 - theta`` (fall); read-only.
        """
        P, K = self.n_params, self.n_hypotheses
        rise = np.zeros((P, K))
        fall = np.zeros((P, K))
        plain = ~self.report_mixed
        for h in range(K):
            params = self.report_param[plain, h]
            rises = self.report_rises[plain, h]
            rise[:, h] = np.bincount(params[rises], minlength=P)
            fall[:, h] = np.bincount(params[~rises], minlength=P)
        rise.setflags(write=False)
        fall.setflags(write=False)
        return rise, fall

    @cached_property
    def report_mixed(self) -> np.ndarray:
        """Boolean mask of copy mixtures: derived reports and later group members."""
        later = np.zeros_like(self.report_derived)
        for members in self.group_members:
            later[members[1:]] = True
        later.setflags(write=False)
        return self.report_derived | later

    @cached_property
    def report_copy_slot(self) -> np.ndarray:
        """Where each report's copy probability is, in ``[0, derived..., groups...]``.

        Slot 0 is a report that is not a copy mixture (c = 0); then the derived
        reports in report order; then the groups (see
        :func:`credence.likelihood.copy_per_report`).
        """
        slot = np.zeros(len(self.report_derived), dtype=int)
        derived = np.flatnonzero(self.report_derived)
        slot[derived] = 1 + np.arange(derived.size)
        for g, members in enumerate(self.group_members):
            slot[members[1:]] = 1 + derived.size + g
        slot.setflags(write=False)
        return slot

    @property
    def group_copy_names(self) -> tuple[str, ...]:
        """``"<group id>.group_copy_probability"``: the name of each group's c in draws."""
        return tuple(f"{g}.group_copy_probability" for g in self.group_ids)

    def copy_name(self, report: int) -> str:
        """``"<evidence id>.copy_probability"``: the name of a derived report's c in draws."""
        return f"{self.evidence_ids[self.report_evidence[report]]}.copy_probability"

    @property
    def group_random(self) -> np.ndarray:
        """Boolean mask of groups with a Beta copy probability."""
        return np.isnan(self.group_copy_value)

    @property
    def param_random(self) -> np.ndarray:
        """Boolean mask of parameters with a Beta prior."""
        return np.isnan(self.param_value)

    @property
    def copy_random(self) -> np.ndarray:
        """Boolean mask of reports with a Beta copy probability."""
        return np.isnan(self.report_copy_value)

    @property
    def copy_mean(self) -> np.ndarray:
        """Copy probability of each report, its mean where uncertain.

        A later group member has its group's; a report that is not a copy
        mixture has 0.
        """
        def mean(value, alpha, beta):
            return np.where(np.isnan(value), _beta_mean(alpha, beta), value)

        slots = np.concatenate(
            [
                [0.0],
                mean(self.report_copy_value, self.report_copy_alpha, self.report_copy_beta)[
                    self.report_derived
                ],
                mean(self.group_copy_value, self.group_copy_alpha, self.group_copy_beta),
            ]
        )
        return slots[self.report_copy_slot]

    @property
    def needs_mcmc(self) -> list[tuple[str, str]]:
        """Extensions only the PyMC engine computes, as (location, what) pairs."""
        found = [("pooling", "pooling of reliabilities by kind")] if self.pooled_kinds else []
        for d, e in enumerate(self.direct_evidence):
            if not np.isnan(self.direct_lognormal[d, 0]):
                found.append(
                    (
                        f"evidence[{e}].likelihood_ratio",
                        "an uncertain (log-normal) likelihood ratio",
                    )
                )
        return found


def _beta_mean(a, b):
    """The Beta mean a / (a + b), also where a + b overflows."""
    return 1.0 / (1.0 + b / a)


def _as_prior(p: float | Beta) -> tuple[float, float, float]:
    """(value, alpha, beta): value NaN for a Beta, alpha/beta NaN for a number."""
    if isinstance(p, Beta):
        return math.nan, p.a, p.b
    return float(p), math.nan, math.nan


def _channel_params(
    reliability, scale: dict[str, Beta]
) -> tuple[bool, list[tuple[str, float | Beta]]]:
    """(two_coin, [(name, value or Beta)]) of a source's reliability."""
    if isinstance(reliability, TwoCoin):
        return True, [
            ("sensitivity", reliability.sensitivity),
            ("false_positive_rate", reliability.false_positive_rate),
        ]
    if isinstance(reliability, str):
        reliability = Admiralty(reliability)
    if isinstance(reliability, Admiralty):
        reliability = reliability.prior(scale)
    return False, [("accuracy", reliability)]


def _channels(source: Source) -> list[tuple[frozenset[str] | None, str, object]]:
    """(set A or None for the default, name prefix, reliability) of each channel of a source.

    A channel is named by its hypotheses (``about[h1+h2].``), or by its place
    (``about[0].``) when an id would make that ambiguous.
    """
    out: list[tuple[frozenset[str] | None, str, object]] = [(None, "", source.reliability)]
    for i, channel in enumerate(source.about or ()):
        ids = sorted(set(channel.hypotheses))
        plain = not any(ch in h for h in ids for ch in "+[]") and not all(h.isdigit() for h in ids)
        label = "+".join(ids) if plain else str(i)
        out.append((frozenset(channel.hypotheses), f"about[{label}].", channel.reliability))
    return out


def _declared(item: Evidence, hypotheses: tuple[str, ...]) -> tuple[tuple[bool, ...], bool]:
    """(membership of each hypothesis in the set A, answer is yes)."""
    if item.stance is not None:
        return (True, False), item.stance == "supports"
    chosen = set(item.supports if item.supports is not None else item.refutes or ())
    return tuple(h in chosen for h in hypotheses), item.supports is not None


def _ledger_order(evidence: list[Evidence]) -> np.ndarray:
    """Date order where dates exist; an undated item keeps the date of the one before it."""
    dates: list[dt.date] = []
    last = dt.date.min
    for item in evidence:
        last = item.date or last
        dates.append(last)
    return np.array(sorted(range(len(evidence)), key=lambda i: dates[i]), dtype=int)


def compile_case(case: Case) -> CompiledCase:
    """Compile a validated case into the arrays every engine reads.

    Parameters
    ----------
    case : Case

    Returns
    -------
    CompiledCase

    Raises
    ------
    CaseError
        A pure copy (copy probability 1) that disagrees with all its parents.
    """
    hypotheses = case.hypothesis_ids
    K = len(hypotheses)
    if case.claim is not None:
        value, a, b = _as_prior(case.claim.prior)
        prior_beta = None if math.isnan(a) else (a, b)
        p_true = value if prior_beta is None else _beta_mean(a, b)
        prior = np.array([p_true, 1.0 - p_true])
    else:
        priors = [h.prior for h in case.hypotheses or ()]
        prior = np.array(priors, float) if priors[0] is not None else np.full(K, 1.0 / K)
        prior_beta = None

    scale = dict(ADMIRALTY) | dict(case.admiralty or {})
    source_index = {s.id: i for i, s in enumerate(case.sources)}
    names, psrc, pchannel, values, alphas, betas, one_coin = [], [], [], [], [], [], []
    # per source: {set A or None: (two_coin, parameter indices)}
    channels: list[dict[frozenset[str] | None, tuple[bool, list[int]]]] = []
    for s_i, source in enumerate(case.sources):
        channels.append({})
        for c_i, (about, prefix, reliability) in enumerate(_channels(source)):
            is_two, params = _channel_params(reliability, scale)
            indices = []
            for name, p in params:
                v, a, b = _as_prior(p)
                indices.append(len(names))
                names.append(f"{source.id}.{prefix}{name}")
                psrc.append(s_i)
                pchannel.append(c_i - 1)
                values.append(v)
                alphas.append(a)
                betas.append(b)
                one_coin.append(not is_two and about is None)
            channels[-1][about] = (is_two, indices)

    position = {e.id: i for i, e in enumerate(case.evidence)}
    rows: list[tuple] = []
    direct_rows: list[tuple] = []
    report_of: dict[int, int] = {}
    for e_i, item in enumerate(case.evidence):
        if item.is_direct:
            lognormal = (math.nan, math.nan)
            if item.likelihood is not None:
                with np.errstate(divide="ignore"):
                    loglik = np.log([item.likelihood[h] for h in hypotheses])
            elif isinstance(item.likelihood_ratio, LogNormal):
                loglik = np.zeros(K)
                lognormal = item.likelihood_ratio.lognormal
            else:
                loglik = np.array([math.log(item.likelihood_ratio), 0.0])
            direct_rows.append((e_i, loglik, lognormal))
            continue
        in_a, yes = _declared(item, hypotheses)
        declared = in_a if yes else tuple(not x for x in in_a)
        s_i = source_index[item.source]
        chosen = frozenset(h for h, x in zip(hypotheses, in_a, strict=True) if x)
        two_coin, params = channels[s_i].get(chosen) or channels[s_i][None]
        if two_coin:
            param = [params[0] if x else params[1] for x in in_a]
            rises = (yes,) * K
        else:
            param = [params[0]] * K
            rises = declared
        report_of[e_i] = len(rows)
        rows.append((e_i, s_i, param, rises, declared))

    n = len(rows)
    declared_sets = np.array([r[4] for r in rows], dtype=bool).reshape(n, K)
    match = np.zeros(n)
    copy_value = np.zeros(n)
    copy_alpha = np.full(n, math.nan)
    copy_beta = np.full(n, math.nan)
    derived = np.zeros(n, bool)
    for r, (e_i, *_rest) in enumerate(rows):
        item = case.evidence[e_i]
        if item.derived_from is None:
            continue
        derived[r] = True
        parents = [report_of[position[p]] for p in item.derived_from]
        match[r] = match_fraction(declared_sets[parents], declared_sets[r])
        copy = item.copy_probability if item.copy_probability is not None else 1.0
        copy_value[r], copy_alpha[r], copy_beta[r] = _as_prior(copy)
        if copy_value[r] == 1.0 and match[r] == 0.0:
            raise CaseError(
                "a pure copy (copy_probability 1) disagrees with every parent it copies; "
                "give a copy_probability below 1 or fix the stance",
                f"evidence[{e_i}].derived_from",
            )

    G = len(case.groups)
    report_group = np.full(n, -1)
    group_members = []
    group_copy = np.empty((G, 3))
    for g, group in enumerate(case.groups):
        members = np.array([report_of[position[m]] for m in group.members], dtype=int)
        members.setflags(write=False)
        group_members.append(members)
        report_group[members] = g
        group_copy[g] = _as_prior(group.copy_prior)
        for j in range(1, len(members)):
            r = members[j]
            match[r] = match_fraction(declared_sets[members[:j]], declared_sets[r])
            if group_copy[g, 0] == 1.0 and match[r] == 0.0:
                raise CaseError(
                    "with copy_probability 1 every later member repeats an earlier one, "
                    "and this one disagrees with all before it; give a copy_probability "
                    "below 1 or fix the stance",
                    f"groups[{g}].members[{j}]",
                )

    def stack(items, width, dtype=float):
        return np.array(items, dtype=dtype).reshape(-1, width)

    return CompiledCase(
        case=case,
        hypotheses=hypotheses,
        prior=prior,
        prior_beta=prior_beta,
        evidence_ids=tuple(e.id for e in case.evidence),
        order=_ledger_order(case.evidence),
        source_ids=tuple(s.id for s in case.sources),
        source_kinds=tuple(s.kind for s in case.sources),
        param_source=np.array(psrc, dtype=int),
        param_names=tuple(names),
        param_channel=np.array(pchannel, dtype=int),
        param_value=np.array(values, float),
        param_alpha=np.array(alphas, float),
        param_beta=np.array(betas, float),
        param_one_coin=np.array(one_coin, bool),
        report_evidence=np.array([r[0] for r in rows], dtype=int),
        report_source=np.array([r[1] for r in rows], dtype=int),
        report_param=stack([r[2] for r in rows], K, int),
        report_rises=stack([r[3] for r in rows], K, bool),
        report_declared=declared_sets,
        report_derived=derived,
        report_match=match,
        report_copy_value=copy_value,
        report_copy_alpha=copy_alpha,
        report_copy_beta=copy_beta,
        direct_evidence=np.array([d[0] for d in direct_rows], dtype=int),
        direct_loglik=stack([d[1] for d in direct_rows], K),
        direct_lognormal=stack([d[2] for d in direct_rows], 2),
        pooled_kinds=_pooled_kinds(case),
        group_ids=tuple(group.id for group in case.groups),
        group_members=tuple(group_members),
        group_copy_value=group_copy[:, 0].copy(),
        group_copy_alpha=group_copy[:, 1].copy(),
        group_copy_beta=group_copy[:, 2].copy(),
        report_group=report_group,
    )


def match_fraction(earlier: np.ndarray, declared: np.ndarray) -> float:
    """Fraction m of earlier reports (rows of declared sets) declaring the same set.

    A copy repeats one of them chosen uniformly, so it matches with probability m.
    """
    if not len(earlier):
        return 0.0
    return float(np.all(earlier == declared, axis=1).mean())


def _pooled_kinds(case: Case) -> tuple[str, ...]:
    if case.pooling is None:
        return ()
    kinds = {
        s.kind
        for s in case.sources
        if s.kind is not None and not isinstance(s.reliability, TwoCoin)
    }
    return tuple(sorted(kinds))


def refuse_pymc_only(compiled: CompiledCase, advice: str) -> None:
    """Raise a located CaseError if the case uses an extension only the PyMC engine computes.

    The message is ``"<extension> needs the PyMC engine<advice>"``.
    """
    for location, what in compiled.needs_mcmc:
        raise CaseError(f"{what} needs the PyMC engine{advice}", location)


def compile_exact(case: Case, purpose: str = "this") -> CompiledCase:
    """Compile a case that the exact engine must compute, refusing PyMC-only extensions.

    Parameters
    ----------
    case : Case
    purpose : str
        What needs the exact engine, for the message (e.g. "explaining a verdict").

    Raises
    ------
    CaseError
        Naming the extension and where it is.
    """
    compiled = compile_case(case)
    refuse_pymc_only(
        compiled,
        f", and {purpose} uses the exact engine (take the extension out to compute the rest)",
    )
    return compiled
