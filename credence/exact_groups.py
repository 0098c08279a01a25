"""Groups in the exact engine: a shared copy probability integrated out exactly.

Under a hypothesis H, a group's members are tied by its one copy probability
c and, through their sources, to every other report of the same reliability
parameters. A *component* (per hypothesis) is a set of groups tied by the
random parameters their members read under H, with those parameters and every
report that reads one of them. Given the groups' c the component is an ordinary
product of factors each linear in its parameter; as a function of the uncertain
c's it is a polynomial of degree D_g in each, D_g the number of later members of
group g (each member's factor ``(1 - c) P_independent + c m`` is linear in c).

Its expectation is exact, with no quadrature: each parameter's factors are
expanded by a dynamic programme over its members, whose state is (k, r, f):
how many members are copies in each uncertain group (k, one count per group),
and how many of the others rise (``theta``) and fall (``1 - theta``) with the
parameter. The other
reports of the parameter (plain and ``derived_from`` mixtures) give
``E[theta^r (1 - theta)^f ...]`` under its Beta in closed form, so each
parameter yields a polynomial in c with non-negative weights in the unscaled
Bernstein basis; the parameters' polynomials multiply by convolution, and the
Beta expectation over c is a sum of positive terms.

Cost, for a component of one uncertain group with D later members, J_p members
on parameter p and n reports: O(sum_p J_p^3 + D^2) to evaluate, in practice
O(D^2) when every member has its own source (J_p = 1). The ledger evaluates
the component once per prefix and once per item left out (a member left out
changes the match fractions of the members after it), so O(n D^2), except for
a large group whose members have their own sources (:mod:`credence.exact_chain`, O(n D)).
Several uncertain groups sharing parameters multiply the polynomial's size:
prod_g (D_g + 1) weights; beyond ``MAX_WEIGHTS`` the exact engine refuses the
case and names the PyMC engine.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from credence.bernstein import log_convolve_nd, log_expectation, mixtures_of
from credence.compile import CompiledCase, match_fraction
from credence.errors import CaseError
from credence.exact_chain import Chain
from credence.likelihood import copy_mixture
from credence.special import log_beta_ratio, logsumexp

#: Most weights of a component's polynomial in its uncertain c's (prod_g (D_g + 1)).
MAX_WEIGHTS = 1_000_000

__all__ = ["Component", "component_log_evidence", "components", "copy_posterior", "draw_component"]


@dataclass(frozen=True)
class Component:
    """The reports tied together under hypothesis ``h`` by groups (see the module).

    Attributes
    ----------
    h : int
    groups : tuple of int
        Groups in the component.
    uncertain : tuple of int
        Those with an uncertain copy probability: the axes of its polynomial.
    params : ndarray of int
        Random reliability parameters read by members under h.
    reports : ndarray of int
        Members and every report reading one of ``params`` under h, in ledger order.
    """

    h: int
    groups: tuple[int, ...]
    uncertain: tuple[int, ...]
    params: np.ndarray
    reports: np.ndarray


def components(compiled: CompiledCase, position: np.ndarray) -> list[Component]:
    """The components of a case under every hypothesis.

    Parameters
    ----------
    compiled : CompiledCase
    position : ndarray of int
        Place of each evidence item in ledger order.

    Raises
    ------
    CaseError
        Uncertain groups tied together need more than ``MAX_WEIGHTS`` weights.
    """
    G = len(compiled.group_ids)
    if not G:
        return []
    random = compiled.param_random
    out = []
    for h in range(compiled.n_hypotheses):
        parent = list(range(G))
        find = _finder(parent)
        owner: dict[int, int] = {}
        for g, members in enumerate(compiled.group_members):
            for p in compiled.report_param[members, h]:
                if random[p]:
                    if p in owner:
                        parent[find(g)] = find(owner[p])
                    owner.setdefault(int(p), g)
        roots: dict[int, list[int]] = {}
        for g in range(G):
            roots.setdefault(find(g), []).append(g)
        for groups in roots.values():
            uncertain = tuple(g for g in groups if compiled.group_random[g])
            size = math.prod(len(compiled.group_members[g]) for g in uncertain)
            if size > MAX_WEIGHTS:
                ids = ", ".join(repr(compiled.group_ids[g]) for g in uncertain)
                raise CaseError(
                    f"groups {ids} have uncertain copy probabilities and share sources' "
                    f"reliabilities, which ties them into a polynomial of {size:,} weights "
                    f"(at most {MAX_WEIGHTS:,} in the exact engine): give some a fixed "
                    "copy_probability, or use --engine mcmc",
                    f"groups[{uncertain[-1]}]",
                )
            members = np.concatenate([compiled.group_members[g] for g in groups])
            params = np.unique([p for p in compiled.report_param[members, h] if random[p]])
            readers = np.flatnonzero(np.isin(compiled.report_param[:, h], params))
            reports = np.union1d(members, readers)
            place = position[compiled.report_evidence[reports]]
            reports = reports[np.argsort(place, kind="stable")]
            out.append(Component(h, tuple(groups), uncertain, params, reports))
    return out


def _finder(parent: list[int]):
    """Find with path halving over a union-find forest."""

    def find(g: int) -> int:
        while parent[g] != g:
            parent[g] = parent[parent[g]]
            g = parent[g]
        return g

    return find


def _member_roles(compiled: CompiledCase, comp: Component, kept: np.ndarray) -> dict[int, tuple]:
    """(role, m, c) of each kept member.

    Role 0 is a group's first member, 1 a later member of an uncertain group
    (``c`` is then its axis in ``comp.uncertain``), 2 a later member of a group
    with a fixed c.
    """
    roles: dict[int, tuple] = {}
    keep = set(kept.tolist())
    for g in comp.groups:
        members = [int(r) for r in compiled.group_members[g] if int(r) in keep]
        for j, r in enumerate(members):
            if j == 0:
                roles[r] = (0, 0.0, 0.0)
                continue
            m = match_fraction(compiled.report_declared[members[:j]], compiled.report_declared[r])
            if g in comp.uncertain:
                roles[r] = (1, m, comp.uncertain.index(g))
            else:
                roles[r] = (2, m, float(compiled.group_copy_value[g]))
    return roles


def _branches(m: float, c: float) -> tuple[float, float]:
    """(copy, independent) weights of a member: its factor is ``copy + independent * P``.

    Read from :func:`credence.likelihood.copy_mixture` at P = 0 and P = 1.
    """
    at = copy_mixture(np.array([c]), np.array([m]), np.array([[0.0], [1.0]]))[:, 0]
    return float(at[0]), float(at[1] - at[0])


def _member_polynomial(role: int, m: float, c, p: float, axes: int):
    """(log polynomial in the c's, or None) and a log constant, for a member with fixed P = p."""
    with np.errstate(divide="ignore"):
        if role == 0:
            return None, float(np.log(p))
        if role == 1:  # Bernstein weights along its group's axis: the factor at c = 0, at c = 1
            ends = np.log([sum(_branches(m, x) * np.array([1.0, p])) for x in (0.0, 1.0)])
            shape = [1] * axes
            shape[c] = 2
            return ends.reshape(shape), 0.0
        copy, independent = _branches(m, c)
        return None, float(np.log(copy + independent * p))


def _other_factors(terms, others: np.ndarray, h: int) -> tuple[float, int, int, np.ndarray]:
    """The factors of a parameter's reports that are not members, under h.

    Split as in :mod:`credence.exact`: (log constant, theta count,
    1 - theta count, log weights of the mixtures).
    """
    log_u, log_v = terms.log_u[others, h], terms.log_v[others, h]
    rises = log_u == -np.inf
    falls = (log_v == -np.inf) & ~rises
    mixes = ~rises & ~falls & (log_u != log_v)
    const = float(np.where(rises, log_v, log_u).sum())
    weights = mixtures_of((log_v - log_u)[mixes]).weights if mixes.any() else np.zeros(1)
    return const, int(rises.sum()), int(falls.sum()), weights


def _parameter_polynomial(compiled, terms, comp, p, members, roles, others) -> np.ndarray:
    """Log weights over k (copies in the uncertain group) of E[all factors of parameter p]."""
    h = comp.h
    a, b = compiled.param_alpha[p], compiled.param_beta[p]
    const, N1, N0, weights = _other_factors(terms, others, h)

    U = len(comp.uncertain)
    n_copy = [sum(roles[r][0] == 1 and roles[r][2] == u for r in members) for u in range(U)]
    n_rise = sum(bool(compiled.report_rises[r, h]) for r in members)
    n_fall = len(members) - n_rise
    state = np.full((*(d + 1 for d in n_copy), n_rise + 1, n_fall + 1), -np.inf)
    state[(0,) * (U + 2)] = 0.0
    whole = (slice(None),) * U
    for r in members:
        role, m, c = roles[r]
        # role 1: copy weight at c = 1 (k + 1 on its axis), independent weight at c = 0
        copy, independent = _branches(m, c) if role == 2 else (_branches(m, 1.0)[0], 1.0)
        grown = np.full_like(state, -np.inf)
        with np.errstate(divide="ignore"):
            if compiled.report_rises[r, h]:
                grown[(*whole, slice(1, None))] = state[(*whole, slice(None, -1))]
            else:
                grown[(*whole, slice(None), slice(1, None))] = state[
                    (*whole, slice(None), slice(None, -1))
                ]
            grown += np.log(independent)
            if role == 1:
                up = tuple(slice(1, None) if u == c else slice(None) for u in range(U))
                down = tuple(slice(None, -1) if u == c else slice(None) for u in range(U))
                grown[up] = np.logaddexp(grown[up], state[down] + np.log(copy))
            elif role == 2:
                grown = np.logaddexp(grown, state + np.log(copy))
        state = grown
    expect = _moments(tuple(weights), float(a), float(b), N1, N0, n_rise, n_fall)
    return const + logsumexp(state + expect, axis=(-2, -1))


@functools.lru_cache(maxsize=4096)
def _moments(weights: tuple, a: float, b: float, N1: int, N0: int, R: int, F: int) -> np.ndarray:
    """Log E[theta^(N1 + r) (1 - theta)^(N0 + f) (mixtures)] under Beta(a, b), (R + 1, F + 1).

    Cached: the ledger and the explanations evaluate the same parameter's
    moments for many subsets of the other reports.
    """
    r, f = np.arange(R + 1)[:, None], np.arange(F + 1)[None, :]
    out = log_expectation(np.array(weights), a, b, (N1 + r)[..., None], (N0 + f)[..., None])
    out.setflags(write=False)
    return out


def _polynomial(compiled, terms, comp: Component, kept: np.ndarray) -> np.ndarray:
    """Log weights of the component's likelihood as a polynomial in the uncertain group's c."""
    if len(kept) == len(comp.reports) and Chain.applies(compiled, comp):
        poly = Chain(compiled, terms, comp, nodes=False).polynomial()
        if poly is not None:
            return poly
    h = comp.h
    U = len(comp.uncertain)
    roles = _member_roles(compiled, comp, kept)
    poly = np.zeros((1,) * U)
    const = 0.0
    params = compiled.report_param[kept, h]
    for p in comp.params:
        on_p = kept[params == p]
        members = [int(r) for r in on_p if int(r) in roles]
        others = np.array([r for r in on_p if int(r) not in roles], dtype=int)
        part = _parameter_polynomial(compiled, terms, comp, p, members, roles, others)
        poly = log_convolve_nd(poly, part) if U else poly + part
    for r, (role, m, c) in roles.items():
        p = compiled.report_param[r, h]
        if compiled.param_random[p]:
            continue
        theta = float(compiled.param_value[p])
        part, value = _member_polynomial(
            role, m, c, theta if compiled.report_rises[r, h] else 1.0 - theta, U
        )
        const += value
        if part is not None:
            poly = log_convolve_nd(poly, part)
    return const + poly


def _copy_expectation(compiled: CompiledCase, groups: tuple[int, ...], shape) -> np.ndarray:
    """Log E[prod_g c_g^k_g (1 - c_g)^(D_g - k_g)] under the groups' Betas, over the k grid."""
    out = np.zeros(shape)
    for u, (g, n) in enumerate(zip(groups, shape, strict=True)):
        values = _bernstein_moments(
            float(compiled.group_copy_alpha[g]), float(compiled.group_copy_beta[g]), n - 1
        )
        out = out + values.reshape([n if v == u else 1 for v in range(len(shape))])
    return out


@functools.lru_cache(maxsize=1024)
def _bernstein_moments(a: float, b: float, D: int) -> np.ndarray:
    """Log E[c^k (1 - c)^(D - k)], k = 0..D, under Beta(a, b) (cached)."""
    k = np.arange(D + 1)
    out = log_beta_ratio(a, b, k, D - k)
    out.setflags(write=False)
    return out


def component_log_evidence(
    compiled: CompiledCase, terms, comp: Component, kept: np.ndarray | None = None
) -> float:
    """Log E[product of the component's factors] under h, c and its parameters integrated out.

    Parameters
    ----------
    compiled : CompiledCase
    terms : exact-engine terms (``log_u``, ``log_v`` of every report)
    comp : Component
    kept : ndarray of int, optional
        The component's reports to include (default all): a prefix for the
        in-order ledger, all but one for leaving one out. Members left out are
        taken out of their group, which keeps the others' order.
    """
    kept = comp.reports if kept is None else kept
    poly = _polynomial(compiled, terms, comp, kept)
    return float(
        logsumexp((poly + _copy_expectation(compiled, comp.uncertain, poly.shape)).ravel())
    )


def copy_posterior(compiled: CompiledCase, terms, comp: Component) -> np.ndarray:
    """Joint posterior of the uncertain groups' c's under h, as a Beta mixture.

    Returns
    -------
    ndarray (D_1 + 1, ..., D_U + 1)
        Normalised log weight of component (k_1, ..., k_U): each c_u from
        Beta(a_u + k_u, b_u + D_u - k_u).
    """
    poly = _polynomial(compiled, terms, comp, comp.reports)
    logp = poly + _copy_expectation(compiled, comp.uncertain, poly.shape)
    return logp - logsumexp(logp.ravel())


def draw_component(
    rng: np.random.Generator, compiled: CompiledCase, terms, comp: Component, size: int, beta_draws
) -> tuple[np.ndarray | None, dict[int, np.ndarray]]:
    """Exact draws of the uncertain c and the component's parameters given h.

    c is drawn from its posterior (a Beta mixture, :func:`copy_posterior`);
    given c each parameter's factors are linear in it, so its posterior is a
    mixture of Betas whose weights are convolved per draw.

    Returns
    -------
    c : ndarray (size, U)
        Draws of the uncertain groups' c's, columns as ``comp.uncertain``.
    theta : dict of int to ndarray (size,)
        Draws of each parameter of ``comp.params``.
    """
    h = comp.h
    c = np.empty((size, len(comp.uncertain)))
    if comp.uncertain:
        log_w = copy_posterior(compiled, terms, comp)
        flat = rng.choice(log_w.size, size=size, p=np.exp(log_w).ravel())
        for u, (g, k) in enumerate(
            zip(comp.uncertain, np.unravel_index(flat, log_w.shape), strict=True)
        ):
            D = log_w.shape[u] - 1
            a, b = compiled.group_copy_alpha[g], compiled.group_copy_beta[g]
            c[:, u] = beta_draws(rng, a + k, b + D - k)
    if Chain.applies(compiled, comp, size=0):
        g = comp.groups[0]
        copy = c[:, 0] if comp.uncertain else np.full(size, compiled.group_copy_value[g])
        theta = Chain(compiled, terms, comp, nodes=False).draw(rng, copy, beta_draws)
        if theta is not None:
            return c, theta
    roles = _member_roles(compiled, comp, comp.reports)
    params = compiled.report_param[comp.reports, h]
    theta = {}
    for p in comp.params:
        on_p = comp.reports[params == p]
        others = np.array([r for r in on_p if int(r) not in roles], dtype=int)
        _, N1, N0, weights = _other_factors(terms, others, h)
        W = np.zeros((size, 1))
        for r in (int(r) for r in on_p if int(r) in roles):
            role, m, fixed_c = roles[r]
            if role == 0:
                copy = np.zeros(size)
            else:
                copy = c[:, fixed_c] if role == 1 else np.full(size, fixed_c)
            at_zero = 0.0 if compiled.report_rises[r, h] else 1.0
            ends = np.array([at_zero, 1.0 - at_zero]).reshape(2, 1, 1, 1)
            corners = copy_mixture(copy[:, None], np.array([m]), ends)[:, :, 0, 0]
            with np.errstate(divide="ignore"):
                log_u_r, log_v_r = np.log(corners)
            grown = np.full((size, W.shape[1] + 1), -np.inf)
            grown[:, :-1] = W + log_u_r[:, None]
            grown[:, 1:] = np.logaddexp(grown[:, 1:], W + log_v_r[:, None])
            W = grown
        J, M = W.shape[1] - 1, len(weights) - 1
        total = np.full((size, J + M + 1), -np.inf)
        for i, wi in enumerate(weights):
            total[:, i : i + J + 1] = np.logaddexp(total[:, i : i + J + 1], W + wi)
        t = np.arange(J + M + 1)
        a, b = compiled.param_alpha[p], compiled.param_beta[p]
        logp = total + log_beta_ratio(a, b, N1 + t, N0 + J + M - t)
        pick = np.argmax(logp + rng.gumbel(size=logp.shape), axis=1)
        theta[int(p)] = beta_draws(rng, a + N1 + pick, b + N0 + J + M - pick)
    return c, theta
