"""Independent oracles for the posterior of a case, written from DESIGN.md's semantics.

Nothing here uses credence's compiled arrays or engines: only the validated case
objects. ``quad_posterior`` integrates each reliability numerically (adaptive
quadrature with the Beta kernel as an algebraic weight); ``rational_posterior``
expands every product exactly in rational arithmetic (integer Beta parameters).
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
from scipy import integrate
from scipy.special import betaln

from credence.case import ADMIRALTY, Admiralty, Beta, Case, TwoCoin


def declared_set(case: Case, item) -> frozenset[str]:
    hs = case.hypothesis_ids
    if item.stance is not None:
        A, yes = {"true"}, item.stance == "supports"
    elif item.supports is not None:
        A, yes = set(item.supports), True
    else:
        A, yes = set(item.refutes), False
    return frozenset(A if yes else set(hs) - A)


def _in_a(item) -> tuple[set[str], bool]:
    if item.stance is not None:
        return {"true"}, item.stance == "supports"
    if item.supports is not None:
        return set(item.supports), True
    return set(item.refutes), False


def channel(case: Case, source) -> dict[str, float | Beta]:
    rel = source.reliability
    if isinstance(rel, TwoCoin):
        return {"s": rel.sensitivity, "f": rel.false_positive_rate}
    if isinstance(rel, str):
        rel = Admiralty(rel)
    if isinstance(rel, Admiralty):
        rel = (case.admiralty or {}).get(rel.admiralty, ADMIRALTY[rel.admiralty])
    return {"r": rel}


def _is_direct(e) -> bool:
    return e.likelihood is not None or e.likelihood_ratio is not None


def _direct_log(e, h: str) -> float:
    """Log-likelihood of direct evidence under hypothesis h (a ratio: "true" against "false")."""
    if e.likelihood is not None:
        return math.log(e.likelihood[h]) if e.likelihood[h] > 0 else -math.inf
    return math.log(e.likelihood_ratio) if h == "true" else 0.0


def factors(case: Case, h: str):
    """For hypothesis h: {(source, param): [(copy, match, rises)]} and direct log-likelihoods."""
    by_id = {e.id: e for e in case.evidence}
    sources = {s.id: s for s in case.sources}
    groups: dict[tuple[str, str], list] = {}
    direct = 0.0
    for e in case.evidence:
        if _is_direct(e):
            direct += _direct_log(e, h)
            continue
        A, yes = _in_a(e)
        ch = channel(case, sources[e.source])
        if "r" in ch:
            param, rises = "r", h in declared_set(case, e)
        else:
            param, rises = ("s" if h in A else "f"), yes
        copy, match = 0.0, 0.0
        if e.derived_from:
            c = e.copy_probability if e.copy_probability is not None else 1.0
            copy = c.mean if isinstance(c, Beta) else c
            mine = declared_set(case, e)
            match = sum(declared_set(case, by_id[p]) == mine for p in e.derived_from) / len(
                e.derived_from
            )
        groups.setdefault((e.source, param), []).append((copy, match, rises))
    return groups, direct


def _prior(case: Case) -> dict[str, float]:
    if case.claim is not None:
        p = case.claim.prior
        p = p.mean if isinstance(p, Beta) else p
        return {"true": p, "false": 1 - p}
    priors = [x.prior for x in case.hypotheses]
    if priors[0] is None:
        return {x.id: 1 / len(priors) for x in case.hypotheses}
    return {x.id: x.prior for x in case.hypotheses}


def quad_log_evidence(case: Case) -> dict[str, float]:
    sources = {s.id: s for s in case.sources}
    out = {}
    for h in case.hypothesis_ids:
        groups, total = factors(case, h)
        for (sid, param), fs in groups.items():
            prior = channel(case, sources[sid])[param]

            def product(t, fs=fs):
                return math.prod(c * m + (1 - c) * (t if up else 1 - t) for c, m, up in fs)

            if isinstance(prior, Beta):
                value, _ = integrate.quad(
                    product,
                    0,
                    1,
                    weight="alg",
                    wvar=(prior.a - 1, prior.b - 1),
                    epsabs=0,
                    epsrel=1e-13,
                    limit=200,
                )
                total += math.log(value) - betaln(prior.a, prior.b) if value > 0 else -math.inf
            else:
                value = product(float(prior))
                total += math.log(value) if value > 0 else -math.inf
        out[h] = total
    return out


def quad_posterior(case: Case) -> dict[str, float]:
    log_z = quad_log_evidence(case)
    prior = _prior(case)
    logs = np.array(
        [math.log(prior[h]) + log_z[h] if prior[h] > 0 else -math.inf for h in case.hypothesis_ids]
    )
    post = np.exp(logs - np.logaddexp.reduce(logs))
    return dict(zip(case.hypothesis_ids, post, strict=True))


def _frac(x) -> Fraction:
    return Fraction(x).limit_denominator(10**12) if isinstance(x, float) else Fraction(x)


def _beta_moment(a: int, b: int, k: int, j: int) -> Fraction:
    """E[t^k (1 - t)^j] under Beta(a, b), integer a, b: a ratio of factorials."""

    def B(x, y):
        return Fraction(math.factorial(x - 1) * math.factorial(y - 1), math.factorial(x + y - 1))

    return B(a + k, b + j) / B(a, b)


def rational_posterior(case: Case) -> dict[str, Fraction]:
    """Exact posterior for cases with integer Beta parameters and rational numbers."""
    sources = {s.id: s for s in case.sources}
    weights = {}
    for h in case.hypothesis_ids:
        groups, _ = factors(case, h)
        w = _frac(_prior(case)[h])
        for e in case.evidence:
            if e.likelihood is not None:
                w *= _frac(e.likelihood[h])
            elif e.likelihood_ratio is not None and h == "true":
                w *= _frac(e.likelihood_ratio)
        for (sid, param), fs in groups.items():
            prior = channel(case, sources[sid])[param]
            # polynomial in t as monomial coefficients, exactly
            poly = [Fraction(1)]
            for c, m, up in fs:
                c, m = _frac(c), _frac(m)
                const = c * m + (1 - c) * (0 if up else 1)
                slope = (1 - c) * (1 if up else -1)
                new = [Fraction(0)] * (len(poly) + 1)
                for k, coef in enumerate(poly):
                    new[k] += coef * const
                    new[k + 1] += coef * slope
                poly = new
            if isinstance(prior, Beta):
                a, b = int(prior.a), int(prior.b)
                w *= sum(coef * _beta_moment(a, b, k, 0) for k, coef in enumerate(poly))
            else:
                t = _frac(prior)
                w *= sum(coef * t**k for k, coef in enumerate(poly))
        weights[h] = w
    total = sum(weights.values())
    return {h: w / total for h, w in weights.items()}


# --- Dependence: about: channels and groups: (DESIGN.md "Dependence") ---------------------------
#
# A second, independent oracle: it reads only the validated case and DESIGN.md's semantics, and
# integrates every uncertain quantity by tensor-product Gauss-Jacobi quadrature. Under a
# hypothesis the likelihood is a product of factors each linear in one reliability parameter and
# (for a later group member) in its group's c, so it is a polynomial of degree (number of its
# factors) in each Beta variable: n Gauss nodes with 2n - 1 >= degree integrate it exactly.
# A derived report's own Beta copy probability enters one factor only, linearly, and is
# independent of everything else: its mean is exact.


def _signal(item) -> tuple[frozenset[str], bool]:
    """(set A, answer is yes) of a sourced report."""
    if item.stance is not None:
        return frozenset({"true"}), item.stance == "supports"
    if item.supports is not None:
        return frozenset(item.supports), True
    return frozenset(item.refutes), False


def _declares(case: Case, item) -> frozenset[str]:
    A, yes = _signal(item)
    return A if yes else frozenset(case.hypothesis_ids) - A


def _graded(case: Case, reliability):
    if isinstance(reliability, str):
        reliability = Admiralty(reliability)
    if isinstance(reliability, Admiralty):
        grade = reliability.admiralty
        return (case.admiralty or {}).get(grade, ADMIRALTY[grade])
    return reliability


def independent_channel(case: Case, item, h: str):
    """(parameter key, its prior: number or Beta, rises) of a report's own P under h.

    The report reads the source's ``about:`` channel whose set is exactly its A, else the
    source's ``reliability``. One-coin: P = r if h is in the declared set, else 1 - r.
    Two-coin: the parameter is s if h in A else f; P = it for "yes", 1 - it for "no".
    """
    A, yes = _signal(item)
    source = next(s for s in case.sources if s.id == item.source)
    chosen = next((c for c in source.about or () if frozenset(c.hypotheses) == A), None)
    reliability = source.reliability if chosen is None else chosen.reliability
    where = (source.id, None if chosen is None else A)
    if isinstance(reliability, TwoCoin):
        if h in A:
            return (*where, "s"), reliability.sensitivity, yes
        return (*where, "f"), reliability.false_positive_rate, yes
    return (*where, "r"), _graded(case, reliability), h in _declares(case, item)


def _factors(case: Case, h: str, keep: set[str]):
    """Sourced factors under h: (param key, prior, rises, copy) with copy None (independent),
    ("fixed", c, m) or ("group", group id, m); and the direct evidence's log-likelihood."""
    by_id = {e.id: e for e in case.evidence}
    later: dict[str, tuple] = {}
    for group in case.groups:
        members = [m for m in group.members if m in keep]
        prior = group.copy_prior
        for j in range(1, len(members)):
            mine = _declares(case, by_id[members[j]])
            m = sum(_declares(case, by_id[x]) == mine for x in members[:j]) / j
            if isinstance(prior, Beta):
                later[members[j]] = ("group", group.id, m)
            else:
                later[members[j]] = ("fixed", float(prior), m)
    out, direct = [], 0.0
    for e in case.evidence:
        if e.id not in keep:
            continue
        if _is_direct(e):
            direct += _direct_log(e, h)
            continue
        copy = later.get(e.id)
        if e.derived_from:
            c = 1.0 if e.copy_probability is None else e.copy_probability
            c = c.mean if isinstance(c, Beta) else float(c)
            mine = _declares(case, e)
            m = sum(_declares(case, by_id[p]) == mine for p in e.derived_from) / len(e.derived_from)
            copy = ("fixed", c, m)
        out.append((*independent_channel(case, e, h), copy))
    return out, direct


def uncertain_variables(case: Case, h: str, keep=None) -> set:
    """The Beta variables the likelihood under h depends on (parameters and groups' c)."""
    keep = {e.id for e in case.evidence} if keep is None else set(keep)
    found = set()
    for key, prior, _rises, copy in _factors(case, h, keep)[0]:
        if isinstance(prior, Beta):
            found.add(key)
        if copy is not None and copy[0] == "group":
            found.add(("group", copy[1]))
    return found


def _gauss_beta(prior: Beta, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights (summing to 1) integrating a polynomial of degree <= 2n - 1 against
    Beta(a, b): Jacobi weight (1 - x)^(b - 1) (1 + x)^(a - 1) on [-1, 1], t = (1 + x) / 2."""
    from scipy.special import roots_jacobi

    alpha, beta = prior.b - 1, prior.a - 1
    # scipy divides 0 by 0 on the way when a + b is within rounding of 1 (the result is
    # right), and fails for alpha = beta within rounding of -1/2: take the Chebyshev rule
    # there (the weights differ by rounding)
    if alpha == beta and abs(alpha + 0.5) < 1e-12:
        alpha = beta = -0.5
    with np.errstate(divide="ignore", invalid="ignore"):
        x, w = roots_jacobi(n, alpha, beta)
    return (1 + x) / 2, w / w.sum()


def _expectation(case: Case, h: str, keep=None, times=None) -> tuple[float, float]:
    """(E[sourced factors], direct log-likelihood) under h; see dependence_expectation."""
    keep = {e.id for e in case.evidence} if keep is None else set(keep)
    factors, direct = _factors(case, h, keep)
    priors: dict = {}
    degree: dict = {}
    groups = {g.id: g for g in case.groups}
    for key, prior, _rises, copy in factors:
        if isinstance(prior, Beta):
            priors[key] = prior
            degree[key] = degree.get(key, 0) + 1
        if copy is not None and copy[0] == "group":
            gkey = ("group", copy[1])
            priors[gkey] = groups[copy[1]].copy_prior
            degree[gkey] = degree.get(gkey, 0) + 1
    if times is not None:
        priors.setdefault(times, groups[times[1]].copy_prior)
        degree[times] = degree.get(times, 0) + 1
    keys = list(priors)
    V = len(keys)
    grid, value = {}, np.ones([1] * V)
    for i, key in enumerate(keys):
        nodes, w = _gauss_beta(priors[key], degree[key] // 2 + 2)
        shape = [1] * V
        shape[i] = -1
        grid[key] = nodes.reshape(shape)
        value = value * w.reshape(shape)
    for key, prior, rises, copy in factors:
        theta = grid[key] if isinstance(prior, Beta) else float(prior)
        p = theta if rises else 1 - theta
        if copy is not None:
            kind, c, m = copy
            c = grid[("group", c)] if kind == "group" else c
            p = c * m + (1 - c) * p
        value = value * p
    if times is not None:
        value = value * grid[times]
    return float(np.sum(value)), direct


def dependence_expectation(case: Case, h: str, keep=None, times=None) -> float:
    """E[P(sourced evidence kept | h, phi)], times a variable's value if ``times`` names one.

    ``keep``: ids of the evidence included (default all). Members not kept are out of their
    group, the others keep their order; a derived report's m counts all its declared parents.
    """
    return _expectation(case, h, keep, times)[0]


def dependence_log_evidence(case: Case, keep=None) -> dict[str, float]:
    """log P(evidence kept | h) for every h, by quadrature."""
    out = {}
    for h in case.hypothesis_ids:
        value, direct = _expectation(case, h, keep)
        out[h] = (math.log(value) if value > 0 else -math.inf) + direct
    return out


def dependence_log_posterior(case: Case, keep=None) -> dict[str, float]:
    """log P(h | evidence kept), the claim's Beta prior at its mean."""
    log_z = dependence_log_evidence(case, keep)
    prior = _prior(case)
    logs = np.array(
        [math.log(prior[h]) + log_z[h] if prior[h] > 0 else -math.inf for h in case.hypothesis_ids]
    )
    return dict(zip(case.hypothesis_ids, logs - np.logaddexp.reduce(logs), strict=True))


def log10_odds(log_post: dict[str, float]) -> dict[str, float]:
    """log10 odds of each hypothesis against all the others."""
    out = {}
    for h, lp in log_post.items():
        rest = np.logaddexp.reduce([v for k, v in log_post.items() if k != h])
        out[h] = (lp - rest) / math.log(10)
    return out


def copy_posterior_mean(case: Case, group_id: str) -> float:
    """E[c | evidence] of a group with a Beta c: sum_h P(h | E) E[c L_h] / E[L_h]."""
    post = dependence_log_posterior(case)
    key = ("group", group_id)
    total = 0.0
    for h in case.hypothesis_ids:
        total += math.exp(post[h]) * (
            dependence_expectation(case, h, times=key) / dependence_expectation(case, h)
        )
    return total
