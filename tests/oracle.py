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


def factors(case: Case, h: str):
    """For hypothesis h: {(source, param): [(copy, match, rises)]} and direct log-likelihoods."""
    by_id = {e.id: e for e in case.evidence}
    sources = {s.id: s for s in case.sources}
    groups: dict[tuple[str, str], list] = {}
    direct = 0.0
    for e in case.evidence:
        if e.likelihood is not None:
            direct += math.log(e.likelihood[h]) if e.likelihood[h] > 0 else -math.inf
            continue
        if e.likelihood_ratio is not None:
            direct += math.log(e.likelihood_ratio) if h == "true" else 0.0
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
