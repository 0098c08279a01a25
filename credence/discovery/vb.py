r"""Mean-field variational Bayes for truth discovery, in NumPy.

The model. Claim :math:`i` has an unknown true label :math:`T_i`; source :math:`j`
reports label :math:`l` on it with a probability that depends on :math:`T_i` and
the source's reliability :math:`\theta_j`:

- one-coin: :math:`P(l \mid t) = r_j` if :math:`l = t`, else
  :math:`(1 - r_j) / (K_i - 1)` (errors spread evenly over the other labels
  of the claim's :math:`K_i` candidates), :math:`r_j \sim \mathrm{Beta}(a, b)`;
- Dawid–Skene: :math:`P(l \mid t) = \Theta_j[t, l]`, each row of the confusion
  matrix Dirichlet;
- two-coin: Dawid–Skene with two labels: sensitivity
  :math:`s_j = \Theta_j[+, +]` and false-positive rate :math:`f_j = \Theta_j[-, +]`,
  each Beta.

The true labels have a Dirichlet class prior (or, with per-claim candidate
sets, a uniform prior over each claim's candidates). Report labels may be a
different set from claim labels (a confusion channel ``(K, R)``). With pooling,
the sources' prior is learned (:mod:`credence.discovery.pooling`); with
copying, each later report on a claim may repeat an earlier one
(:mod:`credence.discovery.copying`). Each source model lives in its own module
of :mod:`credence.discovery.models`; this module holds what they share.

The approximation :math:`q(T)\,q(\theta)\,q(\pi)` is fitted by coordinate
ascent. Every quantity a step needs from the reports is a sum over reports
(per-source counts, class counts, the evidence bound), so the reports can be
split into blocks, each holding every report of its claims, and the sums
added: :mod:`credence.discovery.dask` runs the same steps on a cluster.

References
----------
.. [1] Dawid, A. P. and Skene, A. M. (1979). Maximum likelihood estimation of
   observer error-rates using the EM algorithm. *Applied Statistics* 28(1).
.. [2] Simpson, E., Roberts, S., Psorakis, I. and Smith, A. (2013). Dynamic
   Bayesian combination of multiple imperfect classifiers. In *Decision Making
   and Imperfection*, Springer (variational IBCC).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np
import scipy.sparse
from scipy.special import gammaln

from credence.discovery import models, shared_error
from credence.discovery.arrays import column_sums, row_sums, rows
from credence.discovery.copying import earlier_matches
from credence.discovery.models.base import PriorSettings
from credence.discovery.pooling import expected_log, pooled_prior, within_cap
from credence.options import strict_options

__all__ = [
    "MODELS",
    "Block",
    "Expectations",
    "HeldOutTerms",
    "IterationInfo",
    "Priors",
    "VBResult",
    "at_means",
    "block_apparent_posterior",
    "block_claim_posterior",
    "block_held_out_posterior",
    "block_held_out_terms",
    "block_posterior",
    "block_init_stats",
    "block_log_evidence",
    "block_step",
    "block_terms_posterior",
    "expectations",
    "kl_dirichlet",
    "make_block",
    "make_priors",
    "run_vb",
    "staged",
    "sum_stats",
]

#: The source models.
MODELS: tuple[str, ...] = tuple(models.MODELS)
#: With pooling, the priors are learned once the fit with the starting priors has
#: settled to this relative ELBO change: learning them from the first, majority-vote
#: counts can settle on the fixed point where every source is uninformative (the
#: claims' posteriors are their prior, so every source's counts look alike, so the
#: learned prior is one uninformative channel), most readily with copying, which
#: can explain agreement without any informative source.
POOLING_START = 1e-4
#: Default prior of a copy propensity (DESIGN.md: we do not know how much copying there was).
COPY_PRIOR = (1.0, 1.0)


@dataclass(frozen=True, eq=False)
class Priors:
    """Prior parameters of a fit (the starting values of learned ones).

    Attributes
    ----------
    model : {"one-coin", "two-coin", "dawid-skene"}
    source : numpy.ndarray
        One source's prior: one-coin ``[a, b]`` of the accuracy's Beta;
        otherwise ``(K, R)`` Dirichlet rows, one per claim label.
    classes : numpy.ndarray or None
        Dirichlet parameters of the class prior; None for per-claim candidates.
    copy : numpy.ndarray or None
        ``[a, b]`` of the copy propensity's Beta; None when reports are
        independent.
    pooling : bool
        Learn ``source`` and ``copy`` from the data (per group of sources).
    fidelity : numpy.ndarray or None
        ``[a, b]`` of the Beta prior of the fidelity (the probability that a
        claim's reports describe its true label, see :mod:`.shared_error`),
        or ``(K, K)`` Dirichlet rows of a story channel by label; None when
        the reports on a claim share no error.
    pool_copying : bool
        With pooling, learn ``copy`` too (False: only ``source``).
    """

    model: str
    source: np.ndarray
    classes: np.ndarray | None
    copy: np.ndarray | None = None
    pooling: bool = False
    fidelity: np.ndarray | None = None
    pool_copying: bool = True


@strict_options
def make_priors(
    model: str,
    n_classes: int,
    *,
    per_claim: bool = False,
    reliability: tuple[float, float] = (2.0, 1.0),
    sensitivity: tuple[float, float] = (2.0, 1.0),
    false_positive_rate: tuple[float, float] = (1.0, 2.0),
    confusion: tuple[float, float] = (1.0, 0.1),
    class_prior: float = 1.0,
    positive: int = 1,
    n_labels: int | None = None,
    match: np.ndarray | None = None,
    copy: tuple[float, float] | None = None,
    pooling: bool = False,
    fidelity: tuple[float, float] | None = None,
    pool_copying: bool = True,
    fidelity_by_label: bool = False,
) -> Priors:
    """Build the prior of a model.

    Parameters
    ----------
    model : {"one-coin", "two-coin", "dawid-skene"}
    n_classes : int
        K, the number of claim labels.
    per_claim : bool, default False
        Per-claim candidate sets (one-coin only; uniform prior over candidates).
    reliability : (a, b)
        One-coin accuracy prior Beta(a, b).
    sensitivity, false_positive_rate : (a, b)
        Two-coin priors; ``positive`` is the index of the positive label.
    confusion : (diagonal, off-diagonal), default (1, 0.1)
        Dawid–Skene: each row of the confusion matrix is Dirichlet with
        ``diagonal`` on the report label naming the row's claim label and
        ``off-diagonal`` elsewhere. The default favours the diagonal with a
        small total pseudo-count, so the rows of a source with a handful of
        reports follow its reports rather than a uniform row; with one report
        the posterior is still a wide Dirichlet, never a point.
    class_prior : float
        Symmetric Dirichlet parameter of the class prior.
    positive : int, default 1
    n_labels : int, optional
        R, the number of report labels (default K).
    match : numpy.ndarray, optional
        ``(R,)`` claim label each report label names, -1 for none (default
        the identity).
    copy : (a, b), optional
        Beta prior of the copy propensities; None: reports are independent.
    pooling : bool, default False
        Learn the priors from the data (empirical Bayes).
    fidelity : (a, b), optional
        Beta prior of the fidelity of a claim's reports; None: they share no
        error (:mod:`credence.discovery.shared_error`).
    fidelity_by_label : bool, default False
        With ``fidelity``, a story channel by label
        (:func:`.shared_error.label_prior`; global labels only).
    pool_copying : bool, default True
        With pooling, learn the copy propensities' prior too (False keeps
        ``copy``).

    Returns
    -------
    Priors
    """
    source_model = models.get(model)
    n_labels = n_classes if n_labels is None else int(n_labels)
    match = np.arange(n_labels) if match is None else np.asarray(match, np.intp)
    if model == "dawid-skene" and n_classes > 4_000:
        raise ValueError(f"a Dawid-Skene prior of {n_classes:,} labels is too large (most 4,000)")
    why = source_model.check(n_classes, n_labels, match, per_claim)
    if why:
        raise ValueError(why)
    pairs = {
        "reliability": reliability,
        "sensitivity": sensitivity,
        "false_positive_rate": false_positive_rate,
        "confusion": confusion,
    }
    if copy is not None:
        pairs["copy"] = copy
    if fidelity is not None:
        pairs["fidelity"] = fidelity
    for name, pair in pairs.items():
        if len(pair) != 2 or not all(np.isfinite(pair)) or min(pair) <= 0:
            raise ValueError(f"{name} prior must be two positive numbers, not {pair!r}")
    if not (np.isfinite(class_prior) and class_prior > 0):
        raise ValueError(f"class_prior must be positive, not {class_prior!r}")
    settings = PriorSettings(
        reliability=tuple(reliability),
        sensitivity=tuple(sensitivity),
        false_positive_rate=tuple(false_positive_rate),
        confusion=tuple(confusion),
    )
    source = source_model.prior(n_classes, n_labels, match, settings, positive)
    classes = None if per_claim else np.full(n_classes, float(class_prior))
    return Priors(
        model=model,
        source=source,
        classes=classes,
        copy=None if copy is None else np.asarray(copy, dtype=float),
        pooling=bool(pooling),
        fidelity=_fidelity_prior(fidelity, n_classes, per_claim, fidelity_by_label),
        pool_copying=bool(pool_copying),
    )


def _fidelity_prior(
    fidelity: tuple[float, float] | None, n_classes: int, per_claim: bool, by_label: bool
) -> np.ndarray | None:
    if fidelity is None:
        return None
    if not by_label:
        return np.asarray(fidelity, dtype=float)
    if per_claim:
        raise ValueError("a story channel by label needs labels every claim shares")
    return shared_error.label_prior(fidelity, n_classes)


@dataclass(frozen=True, eq=False)
class Block:
    """The reports of a set of claims (every report of each), coded as arrays.

    Build with :func:`make_block`; ``claim`` codes are local to the block,
    ``source`` codes are global.
    """

    claim: np.ndarray
    source: np.ndarray
    label: np.ndarray
    n_claims: int
    n_sources: int
    n_classes: int
    gold: np.ndarray
    n_candidates: np.ndarray | None
    claim_label: np.ndarray
    source_label: np.ndarray
    log_others: np.ndarray | float
    source_total: np.ndarray
    n_labels: int = 0
    named: np.ndarray | None = None
    earlier: np.ndarray | None = None
    log_match: np.ndarray | None = None
    match_fraction: np.ndarray | None = None
    source_later: np.ndarray | None = None

    @cached_property
    def design(self) -> scipy.sparse.csr_array:
        """``(n_claims, n_sources * n_labels)``: 1 for each report's claim and (source, label).

        With it an E-step's sum over each claim's reports of a per-(source,
        label) value, and an M-step's sum over each (source, label)'s
        reports of a per-claim value, are each one sparse product.
        """
        shape = (self.n_claims, self.n_sources * self.n_labels)
        ones = np.ones(self.claim.shape[0])
        return scipy.sparse.csr_array((ones, (self.claim, self.source_label)), shape=shape)

    @cached_property
    def design_transposed(self) -> scipy.sparse.csr_array:
        """:attr:`design` transposed, stored by rows (so that products with it are fast)."""
        return self.design.T.tocsr()

    @cached_property
    def log_others_total(self) -> np.ndarray:
        """``(n_claims,)``: ``log_others`` summed over each claim's reports."""
        weights = np.broadcast_to(self.log_others, self.claim.shape)
        return np.bincount(self.claim, weights, minlength=self.n_claims)

    @cached_property
    def log_others_named(self) -> np.ndarray:
        """``(n_claims, K)``: ``log_others`` summed over each claim's reports naming each label."""
        weights = np.broadcast_to(self.log_others, self.claim.shape)
        counts = np.bincount(self.claim_label, weights, minlength=self.n_claims * self.n_classes)
        return counts.reshape(self.n_claims, self.n_classes)

    @cached_property
    def by_claim(self) -> scipy.sparse.csr_array:
        """``(n_claims, N)``: a product with it sums per-report rows over each claim's reports."""
        return _indicator(self.claim, self.n_claims)

    @cached_property
    def by_source_label(self) -> scipy.sparse.csr_array:
        """``(n_sources * n_labels, N)``: sums per-report rows over each (source, label)."""
        return _indicator(self.source_label, self.n_sources * self.n_labels)


def _indicator(index: np.ndarray, n_rows: int) -> scipy.sparse.csr_array:
    """``(n_rows, N)`` sparse matrix with a 1 at ``(index[i], i)``."""
    n = index.shape[0]
    return scipy.sparse.csr_array((np.ones(n), (index, np.arange(n))), shape=(n_rows, n))


def make_block(
    claim: np.ndarray,
    source: np.ndarray,
    label: np.ndarray,
    *,
    n_claims: int,
    n_sources: int,
    n_classes: int,
    gold: np.ndarray | None = None,
    n_candidates: np.ndarray | None = None,
    n_labels: int | None = None,
    match: np.ndarray | None = None,
    position: np.ndarray | None = None,
) -> Block:
    """Code a block of reports for the fitting steps.

    Parameters
    ----------
    claim, source, label : array of int
        Codes per report; ``claim`` in ``[0, n_claims)``, ``source`` in
        ``[0, n_sources)``, ``label`` in ``[0, n_labels)`` (or below the
        claim's number of candidates).
    n_claims, n_sources, n_classes : int
    gold : array of int, optional
        Known label per claim, -1 where unknown.
    n_candidates : array of int, optional
        Per-claim candidate-set sizes; None when every claim has all
        ``n_classes`` labels.
    n_labels : int, optional
        R, the number of report labels (default ``n_classes``).
    match : array of int, optional
        Claim label each report label names, -1 for none (default identity).
    position : array, optional
        The reports' time order (ranks); given, the block carries what the
        copying model needs (:func:`~credence.discovery.copying.earlier_matches`).

    Returns
    -------
    Block
    """
    claim = np.asarray(claim, dtype=np.intp)
    source = np.asarray(source, dtype=np.intp)
    label = np.asarray(label, dtype=np.intp)
    n_labels = int(n_classes if n_labels is None else n_labels)
    gold = np.full(n_claims, -1, np.intp) if gold is None else np.asarray(gold, np.intp)
    if n_candidates is None:
        log_others: np.ndarray | float = float(np.log(max(n_classes - 1, 1)))
    else:
        n_candidates = np.asarray(n_candidates, dtype=np.intp)
        # A claim with one candidate has no "other" label; its value never matters.
        log_others = np.log(np.maximum(n_candidates - 1, 1).astype(float))[claim]
    named = label if match is None else np.asarray(match, np.intp)[label]
    earlier = log_match = fraction = source_later = None
    if position is not None:
        earlier, log_match = earlier_matches(claim, label, position)
        with np.errstate(under="ignore"):
            fraction = np.exp(log_match)
        source_later = source * 2 + (earlier > 0)
    return Block(
        claim=claim,
        source=source,
        label=label,
        n_claims=int(n_claims),
        n_sources=int(n_sources),
        n_classes=int(n_classes),
        gold=gold,
        n_candidates=n_candidates,
        claim_label=claim * n_classes + np.maximum(named, 0),
        source_label=source * n_labels + label,
        log_others=log_others,
        source_total=np.bincount(source, minlength=n_sources).astype(float),
        n_labels=n_labels,
        named=named,
        earlier=earlier,
        log_match=log_match,
        match_fraction=fraction,
        source_later=source_later,
    )


@dataclass(frozen=True, eq=False)
class Expectations:
    """Expected log parameters under q: what an E-step needs.

    Attributes
    ----------
    model : str
    source : numpy.ndarray
        One-coin: ``(S, 2)`` of ``E[log r], E[log(1 - r)]``; otherwise
        ``(S, K, R)`` of ``E[log Theta[t, l]]``.
    classes : numpy.ndarray or None
        ``E[log pi]``.
    copy : numpy.ndarray or None
        ``(S, 2)`` of ``E[log c], E[log(1 - c)]``; None without copying.
    fidelity : numpy.ndarray or None
        ``E[log rho], E[log(1 - rho)]``, or by label ``(K, K)`` of
        ``E[log F[t, a]]``; None when reports share no error.
    """

    model: str
    source: np.ndarray
    classes: np.ndarray | None
    copy: np.ndarray | None = None
    fidelity: np.ndarray | None = None


def expectations(
    model: str,
    source_params: np.ndarray,
    class_params: np.ndarray | None,
    copy_params: np.ndarray | None = None,
    fidelity_params: np.ndarray | None = None,
) -> Expectations:
    """Expected log parameters of Beta / Dirichlet posteriors.

    Parameters
    ----------
    model : str
    source_params : numpy.ndarray
        ``(S, 2)`` Beta parameters (one-coin) or ``(S, K, R)`` Dirichlet rows.
    class_params : numpy.ndarray or None
    copy_params : numpy.ndarray or None
        ``(S, 2)`` Beta parameters of the copy propensities.
    fidelity_params : numpy.ndarray or None
        ``(2,)`` Beta parameters of the fidelity, or ``(K, K)`` Dirichlet
        rows of a story channel by label.

    Returns
    -------
    Expectations
    """
    return _of(expected_log, model, source_params, class_params, copy_params, fidelity_params)


def _log_mean(params: np.ndarray) -> np.ndarray:
    return np.log(params / params.sum(-1, keepdims=True))


def _of(
    fn: Callable[[np.ndarray], np.ndarray], model: str, *params: np.ndarray | None
) -> Expectations:
    """``Expectations`` of ``fn`` of each of source, class, copy and fidelity parameters."""
    source, classes, copy, fidelity = (None if p is None else fn(p) for p in params)
    return Expectations(model=model, source=source, classes=classes, copy=copy,
                        fidelity=fidelity)


def at_means(
    model: str,
    source_params: np.ndarray,
    class_params: np.ndarray | None,
    copy_params: np.ndarray | None = None,
    fidelity_params: np.ndarray | None = None,
) -> Expectations:
    """The logs of Beta / Dirichlet posterior means, in the form of :class:`Expectations`.

    An E-step given these is Bayes' rule at the posterior means: for a claim
    the posteriors did not count, its posterior averaged over them (every
    parameter enters a claim's likelihood once).

    Parameters
    ----------
    model : str
    source_params, class_params, copy_params, fidelity_params : numpy.ndarray or None
        As for :func:`expectations`.

    Returns
    -------
    Expectations
    """
    return _of(_log_mean, model, source_params, class_params, copy_params, fidelity_params)


def _log_prior(block: Block, exp: Expectations) -> np.ndarray:
    """``(n, K)`` log prior of each claim's label: the class prior, or uniform on its candidates."""
    n, k = block.n_claims, block.n_classes
    if block.n_candidates is None:
        return np.broadcast_to(exp.classes, (n, k))
    prior = np.broadcast_to(-np.log(block.n_candidates)[:, None], (n, k)).copy()
    prior[np.arange(k) >= block.n_candidates[:, None]] = -np.inf
    return prior


def _finish(block: Block, scores: np.ndarray, exp: Expectations) -> np.ndarray:
    """Add the log prior of each claim's label (-inf outside its candidates)."""
    return scores + _log_prior(block, exp)


def _copying(block: Block, exp: Expectations) -> bool:
    return exp.copy is not None and block.earlier is not None


class _Own:
    """Per claim label t, each report's probability of being its source's own (not a copy).

    One-coin keeps two arrays (the report names t or not); other models an
    ``(N, K)`` array, a column per t.
    """

    def __init__(self, arrays: list[np.ndarray] | np.ndarray, label: np.ndarray | None = None):
        self.arrays = arrays
        self.label = label

    def __getitem__(self, t: int) -> np.ndarray:
        if self.label is None:
            return self.arrays[:, t]
        return np.where(self.label == t, self.arrays[0], self.arrays[1])


def _copy_terms(block: Block, exp: Expectations) -> tuple[np.ndarray, _Own]:
    """Claim scores with copying, and per claim label each report's P(own report | t).

    Each report's factor is ``c m + (1 - c) P(l | t)`` with ``c, 1 - c, P`` the
    exponentiated expected logs (the first report on a claim: ``P(l | t)``);
    computed in probability space, one pass per distinct factor.
    """
    source_model = models.get(exp.model)
    n, k = block.n_claims, block.n_classes
    copy_weight = np.exp(exp.copy)  # (S, 2): exp E log c, exp E log(1 - c)
    copied = block.match_fraction * copy_weight[:, 0][block.source]
    # own_weight by (source, later): 1 for a claim's first report, exp E log(1 - c) after
    own_weight = np.stack([np.ones(block.n_sources), copy_weight[:, 1]], axis=1)
    if exp.model == "one-coin":
        per_source = np.exp(exp.source)  # (S, 2)
        table = own_weight[:, None, :] * per_source[:, :, None]  # (S, right/wrong, later)
        if not np.ndim(block.log_others):
            table[:, 1] /= np.exp(block.log_others)
        right = table[:, 0].ravel()[block.source_later]
        wrong = table[:, 1].ravel()[block.source_later]
        if np.ndim(block.log_others):
            wrong /= np.exp(block.log_others)
        mixed_right = copied + right
        mixed_wrong = copied + wrong
        with np.errstate(divide="ignore", invalid="ignore"):
            log_right, log_wrong = np.log(mixed_right), np.log(mixed_wrong)
            own_right = right / mixed_right
            own_wrong = wrong / mixed_wrong
        if np.isfinite(log_wrong).all():
            gain = log_right - log_wrong
            scores = np.bincount(block.claim_label, gain, minlength=n * k).reshape(n, k)
            scores += np.bincount(block.claim, log_wrong, minlength=n)[:, None]
        else:  # a report impossible under some label: sum per label
            scores = np.empty((n, k))
            for t in range(k):
                values = np.where(block.label == t, log_right, log_wrong)
                scores[:, t] = np.bincount(block.claim, values, minlength=n)
        return scores, _Own([own_right, own_wrong], block.label)
    own_weight = own_weight.ravel()[block.source_later]
    terms = own_weight[:, None] * source_model.exp_terms(block, exp.source)
    mixed = copied[:, None] + terms
    with np.errstate(divide="ignore", invalid="ignore"):
        scores = block.by_claim @ np.log(mixed)
        own = terms / mixed
    return scores, _Own(own)


def _normalise(block: Block, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Posterior q(T) and each claim's log normaliser (summed, the data part of the bound)."""
    # logsumexp by hand: numpy's reductions along a short last axis are slow, so the
    # row maximum is taken column by column (see credence.discovery.arrays)
    top = scores[:, 0].copy()
    for t in range(1, scores.shape[1]):
        np.maximum(top, scores[:, t], out=top)
    q = np.exp(scores - top[:, None])
    total = row_sums(q)
    q /= total[:, None]
    log_z = top + np.log(total)
    known = np.flatnonzero(block.gold >= 0)
    if known.size:
        log_z[known] = scores[known, block.gold[known]]
        q[known] = 0.0
        q[known, block.gold[known]] = 1.0
    return q, log_z


def _posterior(block: Block, exp: Expectations) -> tuple:
    """The claims' posteriors given the expected log parameters.

    Returns q(T), q(A) (the label the reports describe; q(T) without a shared
    error), each claim's log normaliser, per label each report's P(own report)
    and per claim the probabilities that its story is true and is not
    (:mod:`.shared_error`; zero without one).
    """
    if _copying(block, exp):
        scores, own = _copy_terms(block, exp)
    else:
        scores, own = models.get(exp.model).scores(block, exp.source), None
    if exp.fidelity is None:
        q, log_z = _normalise(block, _finish(block, scores, exp))
        return q, q, log_z, own, np.zeros((block.n_claims, 2))
    q_true, q_apparent, log_z, agree = _shared(
        block, scores, _log_prior(block, exp), exp.fidelity, shared_error.is_channel(exp.fidelity)
    )
    return q_true, q_apparent, log_z, own, agree


def _shared(
    block: Block, scores: np.ndarray, prior: np.ndarray, fidelity: np.ndarray, by_label: bool
) -> tuple:
    """:func:`.shared_error.posterior` of a block's claims (``scores`` masked in place)."""
    if block.n_candidates is None:
        n_candidates = np.full(block.n_claims, block.n_classes)
    else:
        n_candidates = block.n_candidates
        scores[np.arange(block.n_classes) >= n_candidates[:, None]] = -np.inf
    return shared_error.posterior(scores, prior, fidelity, n_candidates, block.gold,
                                  by_label=by_label)


def _stats(
    block: Block, model: str, q: np.ndarray, own: _Own | None
) -> tuple[np.ndarray, np.ndarray]:
    """Expected counts per source, and of copies / own reports per source.

    ``q`` is the posterior of the label the reports describe.
    """
    source_model = models.get(model)
    copies = np.zeros((block.n_sources, 2))
    if own is None:
        return source_model.stats(block, q), copies
    later = block.earlier > 0
    s = block.n_sources
    if own.label is not None:  # one-coin: the report names t, or another label
        named = q.ravel()[block.claim_label]
        right = named * own.arrays[0]
        wrong = (1.0 - named) * own.arrays[1]
        source = np.stack([np.bincount(block.source, right, minlength=s),
                           np.bincount(block.source, wrong, minlength=s)], axis=1)
        independent = right + wrong
    else:
        parts = rows(q, block.claim) * own.arrays
        source = source_model.accumulate(block, parts)
        independent = row_sums(parts)
    own_later = np.bincount(block.source, np.where(later, independent, 0.0), minlength=s)
    copies[:, 0] = np.bincount(block.source, later, minlength=s) - own_later
    copies[:, 1] = own_later
    return source, copies


def block_init_stats(block: Block, model: str) -> tuple[np.ndarray, ...]:
    """Counts under the (soft) majority vote, the starting point.

    Reports whose label names no claim label do not vote; a claim without a
    vote starts uniform over its labels.

    Parameters
    ----------
    block : Block
    model : str

    Returns
    -------
    source_stats, class_stats, copy_stats, fidelity_stats : numpy.ndarray
    """
    n, k = block.n_claims, block.n_classes
    voting = block.named >= 0
    votes = np.bincount(block.claim_label[voting], minlength=n * k).reshape(n, k).astype(float)
    empty = votes.sum(axis=1) == 0
    if empty.any():
        width = np.full(n, k) if block.n_candidates is None else block.n_candidates
        votes[empty] = (np.arange(k) < width[empty, None]) / width[empty, None]
    q = votes / votes.sum(axis=1, keepdims=True)
    known = np.flatnonzero(block.gold >= 0)
    q[known] = 0.0
    q[known, block.gold[known]] = 1.0
    source, copies = _stats(block, model, q, None)
    return source, q.sum(axis=0), copies, np.zeros(())  # (a zero of every fidelity's shape)


def block_step(block: Block, exp: Expectations) -> tuple:
    """One E-step on a block and the counts the next M-step needs.

    Parameters
    ----------
    block : Block
    exp : Expectations

    Returns
    -------
    source_stats, class_stats, copy_stats, fidelity_stats : numpy.ndarray
        Expected counts of this block's reports (``copy_stats``: per source,
        expected copies and own reports among its later reports;
        ``fidelity_stats``: claims whose reports tell the true label and
        claims whose reports do not, or by label the ``(K, K)`` expected
        counts of true and apparent labels; zero without a shared error).
    log_z : float
        Sum over the block's claims of the log normaliser of q.
    """
    q_true, q_apparent, log_z, own, agree = _posterior(block, exp)
    source, copies = _stats(block, exp.model, q_apparent, own)
    return source, column_sums(q_true), copies, column_sums(agree), float(log_z.sum())


@dataclass(frozen=True, eq=False)
class HeldOutTerms:
    """What a block's claims' posteriors given every other claim are made of.

    Attributes
    ----------
    own : list of numpy.ndarray
        Per claim label ``t``, ``(N,)`` each report's probability given ``t``
        as its source's own report; or, if ``two_valued``, two arrays: if the
        report names ``t``, and if it does not.
    two_valued : bool
        Whether ``own`` holds those two arrays (one-coin).
    copy : numpy.ndarray or None
        ``(N,)`` each report's copy propensity (0 for a claim's first report;
        None without copying).
    match : numpy.ndarray or None
        ``(N,)`` the fraction of the claim's earlier reports with the report's
        label (None without copying).
    prior : numpy.ndarray
        ``(n_claims, K)`` log prior of each claim's label.
    fidelity : numpy.ndarray or None
        Log fidelity (``[log rho, log(1 - rho)]`` by claim, or ``(K, K)`` log
        rows of a story channel), None without a shared error.
    by_label : bool
        Whether ``fidelity`` is a story channel by label.
    """

    own: list
    two_valued: bool
    copy: np.ndarray | None
    match: np.ndarray | None
    prior: np.ndarray
    fidelity: np.ndarray | None
    by_label: bool

    @property
    def copied(self) -> np.ndarray | None:
        """``(N,)`` each report's probability as a copy, ``c m`` (None without copying)."""
        return None if self.copy is None else self.copy * self.match

    def probabilities(self) -> list[np.ndarray]:
        """As :attr:`own`, each report's probability: with copying ``c m + (1 - c) P(own)``."""
        if self.copy is None:
            return self.own
        copied = self.copied
        return [copied + (1.0 - self.copy) * p for p in self.own]

    def log_probabilities(self) -> list[np.ndarray]:
        """The logs of :meth:`probabilities` (-inf for an impossible report)."""
        with np.errstate(divide="ignore"):
            return [np.log(p) for p in self.probabilities()]


def block_held_out_terms(block: Block, result: VBResult) -> HeldOutTerms:
    r"""Each report's probability, and each claim's prior, with the claim's own counts out.

    Mean field's q(T_i) weighs claim i's reports by its sources' posteriors,
    which hold what those very reports added, and by expected logs: both
    overstate what a source seen a few times says. Instead, with the claim's
    own expected counts taken out of every posterior (its sources', copy
    propensities', the class prior's and the fidelity's), the claim's
    posterior is Bayes' rule averaged over that cavity,
    :math:`P(T_i \mid \text{reports}) \propto E_{-i}[P(T_i, \text{reports}_i)]`;
    every parameter enters a claim's likelihood once (a source reports on it
    once), so the average is the likelihood at the cavity's means.

    Parameters
    ----------
    block : Block
    result : VBResult
        The fit: its posteriors and the E-step they count
        (``result.counted``).

    Returns
    -------
    HeldOutTerms
    """
    exp = result.counted
    q_true, q_apparent, _, own, agree = _posterior(block, exp)
    probs, label, independent = models.get(exp.model).held_out_probabilities(
        block, result.source_params, q_apparent, own
    )
    c = match = None
    if own is not None:
        later = block.earlier > 0
        independent = np.where(later, independent, 0.0)
        copy = result.copy_params
        a = copy[:, 0][block.source] - np.where(later, 1.0 - independent, 0.0)
        b = copy[:, 1][block.source] - independent
        c = np.where(later, a / (a + b), 0.0)
        match = block.match_fraction
    classes = result.class_params
    with np.errstate(divide="ignore"):
        if classes is None:
            prior = _log_prior(block, exp)
        else:
            prior = np.log((classes - q_true) / (classes.sum() - 1.0))
    fidelity = result.fidelity_params
    by_label = fidelity is not None and shared_error.is_channel(fidelity)
    if fidelity is not None:
        rest = fidelity - agree
        fidelity = np.log(rest / rest.sum(axis=-1, keepdims=True))
        fidelity = fidelity if by_label else fidelity.T
    return HeldOutTerms(probs, label is not None, c, match, prior, fidelity, by_label)


def block_held_out_posterior(block: Block, result: VBResult) -> np.ndarray:
    """Each claim's posterior given every other claim, ``(n_claims, K)``.

    Bayes' rule with :func:`block_held_out_terms`.

    Parameters
    ----------
    block : Block
    result : VBResult

    Returns
    -------
    numpy.ndarray
    """
    return block_terms_posterior(block, block_held_out_terms(block, result))


def block_terms_posterior(block: Block, terms: HeldOutTerms) -> np.ndarray:
    """Each claim's posterior from its reports' :class:`HeldOutTerms`, ``(n_claims, K)``.

    Parameters
    ----------
    block : Block
    terms : HeldOutTerms

    Returns
    -------
    numpy.ndarray
    """
    n, k = block.n_claims, block.n_classes
    logs = terms.log_probabilities()
    if terms.two_valued:  # two values a report: it names the label, or not
        scores = np.bincount(block.claim_label, logs[0] - logs[1], minlength=n * k)
        scores = scores.reshape(n, k) + np.bincount(block.claim, logs[1], minlength=n)[:, None]
    else:
        scores = np.stack([np.bincount(block.claim, x, minlength=n) for x in logs], axis=1)
    return block_posterior(block, scores, terms)[0]


def block_posterior(
    block: Block, scores: np.ndarray, terms: HeldOutTerms
) -> tuple[np.ndarray, np.ndarray]:
    """Claims' posteriors from their reports' summed log probabilities and the cavity's prior.

    Parameters
    ----------
    block : Block
    scores : numpy.ndarray
        ``(n_claims, K)`` summed log probabilities of each claim's reports
        given the label they describe.
    terms : HeldOutTerms
        Of the block (its prior and fidelity).

    Returns
    -------
    q_true, q_apparent : numpy.ndarray
        ``(n_claims, K)`` posteriors of each claim's label and of the label its
        reports describe (the same without a shared error).
    """
    if terms.fidelity is None:
        q = _normalise(block, scores + terms.prior)[0]
        return q, q
    return _shared(block, scores, terms.prior, terms.fidelity, terms.by_label)[:2]


def block_log_evidence(block: Block, exp: Expectations) -> np.ndarray:
    """Each of a block's claims' log normaliser of q.

    With ``exp`` holding the logs of point values rather than expected logs,
    the log likelihood of each claim's reports (and known label) at those
    values.

    Parameters
    ----------
    block : Block
    exp : Expectations

    Returns
    -------
    numpy.ndarray
        ``(n_claims,)``.
    """
    return _posterior(block, exp)[2]


def block_claim_posterior(block: Block, exp: Expectations) -> np.ndarray:
    """q(T) of a block's claims, shape ``(n_claims, K)``.

    Parameters
    ----------
    block : Block
    exp : Expectations

    Returns
    -------
    numpy.ndarray
    """
    return _posterior(block, exp)[0]


def block_apparent_posterior(block: Block, exp: Expectations) -> np.ndarray:
    """q(A) of a block's claims, the label their reports describe, ``(n_claims, K)``.

    Without a shared error it is q(T) (:func:`block_claim_posterior`).

    Parameters
    ----------
    block : Block
    exp : Expectations

    Returns
    -------
    numpy.ndarray
    """
    return _posterior(block, exp)[1]


def block_copy_posterior(block: Block, exp: Expectations) -> np.ndarray:
    """Posterior probability that each report is a copy, ``(N,)`` (0 without copying).

    Parameters
    ----------
    block : Block
    exp : Expectations

    Returns
    -------
    numpy.ndarray
    """
    _, q, _, own, _ = _posterior(block, exp)
    if own is None:
        return np.zeros(block.claim.shape[0])
    independent = sum(q[:, t][block.claim] * own[t] for t in range(block.n_classes))
    return 1.0 - independent


def kl_dirichlet(alpha: np.ndarray, alpha0: np.ndarray) -> float:
    """Summed KL(Dir(alpha) || Dir(alpha0)) over all leading axes (Beta: last axis 2).

    Parameters
    ----------
    alpha, alpha0 : numpy.ndarray
        Parameters along the last axis; ``alpha0`` broadcasts against ``alpha``.

    Returns
    -------
    float
    """
    alpha0 = np.asarray(alpha0, dtype=float)
    # the prior's normaliser once a row of alpha0, then broadcast
    log_norm0 = np.broadcast_to(row_sums(gammaln(alpha0)) - gammaln(row_sums(alpha0)),
                                alpha.shape[:-1])
    kl = (
        gammaln(row_sums(alpha))
        - row_sums(gammaln(alpha))
        + log_norm0
        + row_sums((alpha - alpha0) * expected_log(alpha))
    )
    return float(kl.sum())


@dataclass(frozen=True)
class IterationInfo:
    """One iteration of a fit.

    Attributes
    ----------
    iteration : int
    elbo : float
        The evidence lower bound after this iteration's E-step (never decreases).
    change : float
        Largest change of a posterior mean (source reliabilities, class prior).
    elbo_change : float
        Relative increase of the ELBO over the previous iteration,
        ``(elbo - previous) / |elbo|``; ``inf`` at the first iteration. The
        stopping rule compares it with ``tol``.
    stage : str
        Which fit the iteration belongs to, as the estimator names it (a
        model choice runs several: the candidates, and each one's refit on
        every held-out fold's complement); :func:`run_vb` leaves it empty.
    max_iter : int or None
        The most iterations this fit may take (:func:`run_vb` sets it).
    """

    iteration: int
    elbo: float
    change: float
    elbo_change: float = float("inf")
    stage: str = ""
    max_iter: int | None = None


def staged(
    callback: Callable[[IterationInfo], None] | None, stage: str
) -> Callable[[IterationInfo], None] | None:
    """``callback`` with ``stage`` put before each iteration's own stage.

    Parameters
    ----------
    callback : callable or None
    stage : str

    Returns
    -------
    callable or None
    """
    if callback is None:
        return None

    def report(info: IterationInfo) -> None:
        callback(replace(info, stage=f"{stage}, {info.stage}" if info.stage else stage))

    return report


@dataclass(frozen=True, eq=False)
class VBResult:
    """The fitted posteriors of a variational fit.

    Attributes
    ----------
    source_params : numpy.ndarray
        Beta ``(S, 2)`` or Dirichlet ``(S, K, R)`` posterior parameters.
    class_params : numpy.ndarray or None
        Dirichlet posterior of the class prior.
    expectations : Expectations
        Expected logs under the final posteriors (for claim posteriors).
    history : tuple of IterationInfo
    converged : bool
    source_prior : numpy.ndarray or None
        ``(G, ...)`` prior of each group of sources (learned with pooling).
    copy_params : numpy.ndarray or None
        ``(S, 2)`` Beta posterior of each source's copy propensity.
    copy_prior : numpy.ndarray or None
        ``(G, 2)`` Beta prior of copy propensities per group.
    pooled : bool
        Whether the last iteration learned the priors (pooling had started).
    fidelity_params : numpy.ndarray or None
        ``(2,)`` Beta posterior of the fidelity of claims' reports, or by
        label ``(K, K)`` Dirichlet rows of the story channel.
    counted : Expectations or None
        The expected logs of the E-step whose counts the posteriors hold:
        each posterior is its prior plus the counts of an E-step given these
        (:func:`block_held_out_posterior` takes a claim's own counts out).
    """

    source_params: np.ndarray
    class_params: np.ndarray | None
    expectations: Expectations
    history: tuple[IterationInfo, ...]
    converged: bool
    source_prior: np.ndarray | None = None
    copy_params: np.ndarray | None = None
    copy_prior: np.ndarray | None = None
    pooled: bool = False
    fidelity_params: np.ndarray | None = None
    counted: Expectations | None = None


Step = Callable[[Expectations], tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, float]]


def _means(*arrays: np.ndarray | None) -> np.ndarray:
    return np.concatenate(
        [(a / row_sums(a)[..., None]).ravel() for a in arrays if a is not None]
    )


#: SQUAREM's largest extrapolation step to start with, and its growth when a full step is
#: accepted (Varadhan and Roland 2008, scheme S3; a growth of 2 rather than their 4 keeps
#: fits that creep towards a boundary, such as no copying, reproducible across summation
#: orders, e.g. in-process and on Dask).
SQUAREM_STEP = (4.0, 2.0)


def _kl_terms(state: tuple, priors: Priors, code: np.ndarray) -> float:
    source, classes, copy, fidelity, hyper, copy_hyper = state
    kl = kl_dirichlet(source, rows(hyper, code))
    if classes is not None:
        kl += kl_dirichlet(classes, priors.classes)
    if copy is not None:
        kl += kl_dirichlet(copy, rows(copy_hyper, code))
    if fidelity is not None:
        kl += kl_dirichlet(fidelity, priors.fidelity)
    return kl


def _extrapolate(x0: tuple, x1: tuple, x2: tuple, max_step: float) -> tuple[tuple, float]:
    """SQUAREM's step from three successive states, in log parameters (stays positive)."""
    logs = [[None if a is None else np.log(a) for a in x] for x in (x0, x1, x2)]
    r2 = v2 = 0.0
    same = [a is b is c for a, b, c in zip(x0, x1, x2, strict=True)]
    for a0, a1, a2, fixed in zip(*logs, same, strict=True):
        if a0 is None or fixed:
            continue
        r = a1 - a0
        v = a2 - 2 * a1 + a0
        r2 += float((r * r).sum())
        v2 += float((v * v).sum())
    if not (v2 > 0 and np.isfinite(r2) and np.isfinite(v2)):
        return x2, -1.0
    alpha = max(-max_step, min(-1.0, -np.sqrt(r2 / v2)))
    out = []
    for a0, a1, a2, fixed, plain in zip(*logs, same, x2, strict=True):
        if a0 is None or fixed:
            out.append(plain)
            continue
        value = a0 - 2 * alpha * (a1 - a0) + alpha**2 * (a2 - 2 * a1 + a0)
        out.append(np.exp(np.clip(value, -700.0, 700.0)))
    return tuple(out), alpha


def _clip_hyper(state: tuple) -> tuple:
    """Keep extrapolated pooled priors within the widest range the pooled step allows.

    (:func:`~credence.discovery.pooling.within_cap` at
    :data:`~credence.discovery.pooling.MAX_CONCENTRATION`; the bound by the
    group's counts is the pooled step's, applied on the iteration from it.)
    """
    source, classes, copy, fidelity, hyper, copy_hyper = state

    def clip(alpha: np.ndarray | None) -> np.ndarray | None:
        return None if alpha is None else within_cap(alpha)

    return source, classes, copy, fidelity, clip(hyper), clip(copy_hyper)


def run_vb(
    priors: Priors,
    init: tuple[np.ndarray, ...],
    step: Step,
    *,
    group: np.ndarray | None = None,
    max_iter: int = 500,
    tol: float = 1e-6,
    callback: Callable[[IterationInfo], None] | None = None,
    start: VBResult | None = None,
    accelerate: bool = True,
) -> VBResult:
    """Coordinate ascent from initial counts until the evidence bound settles.

    Parameters
    ----------
    priors : Priors
    init : (source_stats, class_stats, copy_stats, fidelity_stats)
        Starting counts, e.g. summed :func:`block_init_stats`.
    step : callable
        ``step(expectations) -> (source_stats, class_stats, copy_stats,
        fidelity_stats, log_z)``
        summed over all blocks, e.g. :func:`block_step` on one block.
    group : numpy.ndarray of int, optional
        Group (kind) code of each source; pooled priors are learned per group.
    max_iter : int, default 500
    tol : float, default 1e-6
        Stop when an iteration raises the ELBO by no more than ``tol`` times
        its magnitude (``|elbo - previous| <= tol * |elbo|``). Coordinate
        ascent never lowers the ELBO, so this is a relative-improvement test
        on one number that does not grow with the number of sources; waiting
        for every source's posterior mean to settle instead costs hundreds of
        iterations when most sources have one or two reports, whose
        posteriors barely affect the claims.
    callback : callable, optional
        Called with each :class:`IterationInfo`.
    start : VBResult, optional
        A fit to continue (warm start): its source, class and copy posteriors
        and priors replace ``init``'s, and the priors are learned from the
        first iteration if they were in ``start``'s last (else, as from a cold
        start, once the fit has settled: learning the copy prior from
        propensities not yet fitted can settle where every agreement is
        copying and no source is informative).
    accelerate : bool, default True
        SQUAREM [3]_: after every two iterations, a step along the squared
        extrapolation of the parameters (in logs), kept only when the
        iteration from it has an ELBO at least the last one recorded (else
        the plain iteration is taken; rejected trials are not recorded).

    Returns
    -------
    VBResult

    Notes
    -----
    Each iteration: the claims' posterior given the sources' (E-step); the
    sources' posteriors given the claims'; then, with pooling, each group's
    prior given the sources' expected counts
    (:func:`~credence.discovery.pooling.pooled_prior`), from the iteration the
    fit with the starting priors has settled (:data:`POOLING_START`). Without
    pooling each step raises the ELBO, and an extrapolated step is kept only
    when it does too, so the recorded bounds are non-decreasing; the pooled
    prior's step maximises the counts' evidence instead, which usually but
    not provably raises it.

    References
    ----------
    .. [3] Varadhan, R. and Roland, C. (2008). Simple and globally convergent
       methods for accelerating the convergence of any EM algorithm.
       *Scandinavian Journal of Statistics* 35(2).
    """
    source_stats, class_stats, copy_stats, fidelity_stats = init
    n_sources = source_stats.shape[0]
    code = np.zeros(n_sources, np.intp) if group is None else np.asarray(group, np.intp)
    n_groups = int(code.max(initial=0)) + 1
    hyper = np.broadcast_to(priors.source, (n_groups, *priors.source.shape)).astype(float)
    copying = priors.copy is not None
    copy_hyper = np.broadcast_to(priors.copy, (n_groups, 2)).astype(float) if copying else None
    source = rows(hyper, code) + source_stats
    classes = None if priors.classes is None else priors.classes + class_stats
    copy = rows(copy_hyper, code) + copy_stats if copying else None
    fidelity = None if priors.fidelity is None else priors.fidelity + fidelity_stats
    pooling = False
    if start is not None:
        source = start.source_params.copy()
        if start.source_prior is not None and priors.pooling:
            hyper = start.source_prior.copy()
        if classes is not None and start.class_params is not None:
            classes = start.class_params.copy()
        if copying and start.copy_params is not None:
            copy = start.copy_params.copy()
            if start.copy_prior is not None and priors.pooling:
                copy_hyper = start.copy_prior.copy()
        pooling = priors.pooling and start.pooled
        if fidelity is not None and start.fidelity_params is not None:
            fidelity = start.fidelity_params.copy()
    state = (source, classes, copy, fidelity, hyper, copy_hyper)

    def update(state: tuple, pooling: bool) -> tuple[tuple, float, tuple]:
        source, classes, copy, fidelity, hyper, copy_hyper = state
        exp = expectations(priors.model, source, classes, copy, fidelity)
        source_stats, class_stats, copy_stats, fidelity_stats, log_z = step(exp)
        elbo = float(log_z - _kl_terms(state, priors, code))
        source = rows(hyper, code) + source_stats
        if classes is not None:
            classes = priors.classes + class_stats
        if copying:
            copy = rows(copy_hyper, code) + copy_stats
        if fidelity is not None:
            fidelity = priors.fidelity + fidelity_stats
        stats = (source_stats, copy_stats, exp)
        return (source, classes, copy, fidelity, hyper, copy_hyper), elbo, stats

    def pool(state: tuple, stats: tuple) -> tuple:
        # the learned priors, then the sources' posteriors given them and the same counts:
        # posteriors left on the old prior would make the next bound compare them with
        # the new one (on the first pooled step, thousands of nats below the fit's own)
        source, classes, copy, fidelity, hyper, copy_hyper = state
        hyper = pooled_prior(stats[0], code, n_groups, hyper)
        source = rows(hyper, code) + stats[0]
        if copying and priors.pool_copying:
            copy_hyper = pooled_prior(stats[1], code, n_groups, copy_hyper)
            copy = rows(copy_hyper, code) + stats[1]
        return source, classes, copy, fidelity, hyper, copy_hyper

    previous = _means(source, classes, copy, fidelity)
    counted = None
    previous_elbo = -np.inf
    history: list[IterationInfo] = []
    converged = False
    max_step = SQUAREM_STEP[0]
    cycle: list[tuple] = [state]  # states since the last extrapolation
    trial: tuple | None = None  # an extrapolated state to try
    evaluations = 0
    while len(history) < max_iter and evaluations < 2 * max_iter:
        evaluations += 1
        extrapolated = trial is not None
        if extrapolated:
            new, elbo, stats = update(trial, pooling)
            if not elbo >= previous_elbo:  # rejected (or not finite): the plain iteration
                trial = None
                max_step = SQUAREM_STEP[0]
                cycle = [state]
                continue
            trial = None
        else:
            new, elbo, stats = update(state, pooling)
        iteration = len(history) + 1
        # (a fit to no reports at all has a bound of exactly zero)
        relative = (elbo - previous_elbo) / (abs(elbo) or 1.0) if iteration > 1 else np.inf
        was_pooling = pooling
        pooling = pooling or (priors.pooling and abs(relative) <= POOLING_START)
        if pooling:
            new = pool(new, stats)
        source, classes, copy, fidelity = new[:4]
        current = _means(source, classes, copy, fidelity)
        info = IterationInfo(
            iteration, elbo, float(np.abs(current - previous).max()), float(relative),
            max_iter=max_iter,
        )
        previous, previous_elbo = current, elbo
        history.append(info)
        if callback is not None:
            callback(info)
        state, counted = new, stats[2]
        # an extrapolated step's small gain says nothing of the plain iteration's; and
        # the fit has not settled until an iteration has run with the learned priors
        settled = pooling == priors.pooling and was_pooling == priors.pooling
        if abs(relative) <= tol and settled and not extrapolated:
            converged = True
            break
        if not accelerate or pooling != was_pooling:
            cycle = [state]
            continue
        cycle.append(state)
        if len(cycle) == 3:
            trial, alpha = _extrapolate(*cycle, max_step)
            if pooling:
                trial = _clip_hyper(trial)
            if alpha == -max_step:
                max_step *= SQUAREM_STEP[1]
            if alpha == -1.0:
                trial = None
            cycle = [state] if trial is None else []
    source, classes, copy, fidelity, hyper, copy_hyper = state
    exp = expectations(priors.model, source, classes, copy, fidelity)
    return VBResult(
        source_params=source,
        class_params=classes,
        expectations=exp,
        counted=exp if counted is None else counted,
        history=tuple(history),
        converged=converged,
        source_prior=hyper,
        copy_params=copy,
        copy_prior=copy_hyper,
        pooled=bool(pooling),
        fidelity_params=fidelity,
    )


def sum_stats(
    parts: Sequence[tuple[np.ndarray, ...]],
) -> tuple[np.ndarray, ...]:
    """Add per-block results field by field, in the given order.

    Parameters
    ----------
    parts : sequence of tuples
        Per-block ``(source_stats, class_stats, copy_stats, fidelity_stats[, log_z])``.

    Returns
    -------
    tuple
    """
    out = list(parts[0])
    for part in parts[1:]:
        for i, value in enumerate(part):
            out[i] = out[i] + value
    return tuple(out)
