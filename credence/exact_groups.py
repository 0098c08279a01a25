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
a large group whose members have their own sources (:class:`Chain`, O(n D)).
Several uncertain groups sharing parameters multiply the polynomial's size:
prod_g (D_g + 1) weights; beyond ``MAX_WEIGHTS`` the exact engine refuses the
case and names the PyMC engine.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from credence.bernstein import log_convolve, log_convolve_nd, log_expectation, mixtures_of
from credence.compile import CompiledCase, match_fraction
from credence.errors import CaseError
from credence.likelihood import copy_mixture
from credence.special import log_beta_ratio, logsumexp

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


def _parameter_polynomial(compiled, terms, comp, p, members, roles, others) -> np.ndarray:
    """Log weights over k (copies in the uncertain group) of E[all factors of parameter p]."""
    h = comp.h
    a, b = compiled.param_alpha[p], compiled.param_beta[p]
    log_u, log_v = terms.log_u[others, h], terms.log_v[others, h]
    rises_o = log_u == -np.inf
    falls_o = (log_v == -np.inf) & ~rises_o
    mixes = ~rises_o & ~falls_o & (log_u != log_v)
    const = float(np.where(rises_o, log_v, log_u).sum())
    N1, N0 = int(rises_o.sum()), int(falls_o.sum())
    weights = mixtures_of((log_v - log_u)[mixes]).weights if mixes.any() else np.zeros(1)

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
        log_u, log_v = terms.log_u[others, h], terms.log_v[others, h]
        rises_o = log_u == -np.inf
        falls_o = (log_v == -np.inf) & ~rises_o
        mixes = ~rises_o & ~falls_o & (log_u != log_v)
        N1, N0 = int(rises_o.sum()), int(falls_o.sum())
        weights = mixtures_of((log_v - log_u)[mixes]).weights if mixes.any() else np.zeros(1)
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


#: Most weights of a component's polynomial in its uncertain c's (prod_g (D_g + 1)).
MAX_WEIGHTS = 1_000_000
#: Components with more reports than this take the ledger of :class:`Chain`.
CHAIN_MIN_REPORTS = 4
#: Most quadrature nodes computed with numpy's eigh (beyond: scipy).
_EIGH_NODES = 16
#: Largest disagreement (natural log, relative above 1) between quadrature and the Bernstein sum.
_CHAIN_CHECK = 1e-9


def _beta_nodes(n: int, a: float, b: float) -> tuple[np.ndarray, np.ndarray]:
    """Gauss quadrature of Beta(a, b) with n nodes: exact for polynomials of degree < 2n.

    Nodes and log weights. Up to ``_EIGH_NODES`` nodes, from the eigenvalues
    of the Jacobi matrix of the Beta's orthogonal polynomials (Golub-Welsch,
    O(n^3)); beyond, from :func:`scipy.special.roots_jacobi`.
    """
    if n > _EIGH_NODES:
        from scipy.special import roots_jacobi

        # scipy divides 0 by 0 on the way when a + b is within rounding of 1; the result is right
        with np.errstate(divide="ignore", invalid="ignore"):
            x, w = roots_jacobi(n, b - 1.0, a - 1.0)
            return (1.0 + x) / 2.0, np.log(w / w.sum())
    # Jacobi polynomials with alpha = b - 1, beta = a - 1 on [-1, 1], mapped to c = (1 + x) / 2
    al, be = b - 1.0, a - 1.0
    k = np.arange(n, dtype=float)
    s = 2.0 * k + al + be
    with np.errstate(divide="ignore", invalid="ignore"):
        diag = (be**2 - al**2) / (s * (s + 2.0))
    diag[0] = (be - al) / (al + be + 2.0)
    k = k[1:]
    s = s[1:]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = (k + al + be) / (s - 1.0)
    ratio[:1] = 1.0  # at k = 1, k + al + be = s - 1 (0 / 0 when al + be = -1)
    off = np.sqrt(4.0 * k * (k + al) * (k + be) * ratio / (s**2 * (s + 1.0)))
    x, vectors = np.linalg.eigh(np.diag(diag) + np.diag(off, 1) + np.diag(off, -1))
    with np.errstate(divide="ignore"):
        return (1.0 + x) / 2.0, np.log(vectors[0] ** 2)


def _same_before(kinds: np.ndarray) -> np.ndarray:
    """For each position, how many earlier positions have the same kind."""
    same = np.zeros(len(kinds))
    for k in np.unique(kinds):
        mine = kinds == k
        same[mine] = np.arange(np.count_nonzero(mine))
    return same


class Chain:
    """The ledger of a large component: one group whose members read distinct parameters.

    Each member's factor, with its parameter integrated out given the other
    (plain) reports of that parameter, is linear in c: ``(1 - c) x + c m``,
    with x its predictive probability as an independent report. Under Gauss
    quadrature over c with N = D / 2 + 1 nodes (exact for these polynomials of
    degree D) the log of the product is a sum of one row per member at each
    node. The in-order ledger then adds or updates one row per report, and
    leaving a member out is a prefix sum plus a suffix sum: the members after
    it have their match fractions without it, which depend only on whether it
    declared the same set. Cost O(n N) for n reports, against O(n D^2) for
    :func:`component_log_evidence` on every prefix and leave-one-out. The
    quadrature's value of the whole component is checked against the
    Bernstein sum; on any disagreement (or if a report is a copy mixture) the
    caller takes the direct path.
    """

    def __init__(self, compiled: CompiledCase, terms, comp: Component, nodes: bool = True) -> None:
        self.compiled, self.terms, self.comp = compiled, terms, comp
        h = comp.h
        self.members = compiled.group_members[comp.groups[0]]
        self.member_of = {int(r): j for j, r in enumerate(self.members)}
        self.param = compiled.report_param[self.members, h]
        self.rises = compiled.report_rises[self.members, h]
        declared = compiled.report_declared[self.members]
        self.kind = np.unique(declared, axis=0, return_inverse=True)[1].ravel()
        if comp.uncertain and nodes:
            g = comp.uncertain[0]
            self.nodes, self.log_w = _beta_nodes(
                (len(self.members) - 1) // 2 + 1,
                compiled.group_copy_alpha[g],
                compiled.group_copy_beta[g],
            )
        else:  # a fixed c: one node (unused by polynomial() for an uncertain c)
            self.nodes = np.array([compiled.group_copy_value[comp.groups[0]]])
            self.log_w = np.zeros(1)

    @staticmethod
    def applies(compiled: CompiledCase, comp: Component, size: int | None = None) -> bool:
        """Whether the chain applies: one group whose members' random parameters are distinct.

        Only components of more than ``size`` reports qualify (default
        ``CHAIN_MIN_REPORTS``).
        """
        size = CHAIN_MIN_REPORTS if size is None else size
        if len(comp.groups) != 1 or len(comp.reports) <= size:
            return False
        params = compiled.report_param[compiled.group_members[comp.groups[0]], comp.h]
        random = params[compiled.param_random[params]]
        return len(np.unique(random)) == len(random)

    # -- pieces -------------------------------------------------------------------

    def _plain(self, r: int) -> tuple[bool, float] | None:
        """(rises, log constant) of a non-member report, None if it is a copy mixture."""
        h = self.comp.h
        log_u, log_v = self.terms.log_u[r, h], self.terms.log_v[r, h]
        if log_u == -np.inf:
            return True, float(log_v)
        if log_v == -np.inf:
            return False, float(log_u)
        return None

    def _predictive(self, p: int, n1: int, n0: int, up: bool) -> float:
        """Log P(one more report rising / falling with p | n1 and n0 before it).

        For a random parameter, the Beta predictive ``(a + n1) / (a + b + n1 + n0)``
        (or its complement); the product of these over reports taken in any
        order is E[theta^n1 (1 - theta)^n0].
        """
        c = self.compiled
        if not c.param_random[p]:
            theta = float(c.param_value[p])
            value = theta if up else 1.0 - theta
            return math.log(value) if value > 0.0 else -math.inf
        a, b = float(c.param_alpha[p]) + n1, float(c.param_beta[p]) + n0
        return -math.log1p(b / a) if up else -math.log1p(a / b)

    def _log_x(self, j: int, counts: dict[int, list[int]]) -> float:
        """Log x of member j: its predictive probability as an independent report."""
        p = int(self.param[j])
        return self._predictive(p, *counts.get(p, (0, 0)), bool(self.rises[j]))

    def _rows(self, log_x: np.ndarray, match: np.ndarray) -> np.ndarray:
        """Log factor of members at each node, (N, len(log_x)): ``log((1 - c) x + c m)``."""
        with np.errstate(divide="ignore"):
            mixed = copy_mixture(self.nodes[:, None], match, np.exp(log_x)[None, :, None])
            return np.log(mixed[..., 0])

    def _match(self, order: list[int]) -> np.ndarray:
        """Match fraction of each member of ``order`` (group order) over those before it."""
        return _same_before(self.kind[order]) / np.maximum(np.arange(len(order)), 1)

    def _value(self, log_rest: float, first: float, rows_sum: np.ndarray) -> float:
        return log_rest + first + float(logsumexp(self.log_w + rows_sum))

    def _plain_state(self):
        """The non-member reports: their (rises, log constant), counts per parameter, log E.

        Returns (plain, counts, log_z, log_const), or None if one is a copy mixture.
        """
        h = self.comp.h
        others = [int(r) for r in self.comp.reports if int(r) not in self.member_of]
        plain = {r: self._plain(r) for r in others}
        if any(v is None for v in plain.values()):
            return None
        counts: dict[int, list[int]] = {}
        log_const = log_z = 0.0
        for r in others:
            up, const = plain[r]
            p = int(self.compiled.report_param[r, h])
            n1, n0 = counts.setdefault(p, [0, 0])
            log_z += self._predictive(p, n1, n0, up)
            counts[p] = [n1 + up, n0 + (not up)]
            log_const += const
        return plain, counts, log_z, log_const

    def polynomial(self) -> np.ndarray | None:
        """Log Bernstein weights in c of the whole component (as :func:`_polynomial`), or None.

        The product of the members' linear factors ``(1 - c) x + c m``: O(D^2).
        """
        found = self._plain_state()
        if found is None:
            return None
        _, counts, log_z, log_const = found
        n = len(self.members)
        log_x = np.array([self._log_x(j, counts) for j in range(n)])
        match = self._match(list(range(n)))
        if not self.comp.uncertain:
            rows = self._rows(log_x[1:], match[1:])
            return np.array(log_z + log_const + log_x[0] + float(rows.sum()))
        with np.errstate(divide="ignore"):
            log_m = np.log(match)
        poly = np.zeros(1)
        for j in range(1, n):
            poly = log_convolve(poly, np.array([log_x[j], log_m[j]]))
        return log_z + log_const + log_x[0] + poly

    def draw(self, rng: np.random.Generator, c: np.ndarray, beta_draws) -> dict | None:
        """Draws of each member's random parameter given c (one per draw), or None.

        Given c a later member is a copy (weight ``c m``) or independent (weight
        ``(1 - c) x``); its parameter is then drawn from the Beta of its other
        reports, plus this one if independent.
        """
        found = self._plain_state()
        if found is None:
            return None
        _, counts, _, _ = found
        compiled = self.compiled
        n = len(self.members)
        log_x = np.array([self._log_x(j, counts) for j in range(n)])
        match = self._match(list(range(n)))
        theta: dict[int, np.ndarray] = {}
        block = max(1, (1 << 18) // max(1, c.size))
        for lo in range(0, n, block):
            js = np.arange(lo, min(n, lo + block))
            js = js[compiled.param_random[self.param[js]]]
            if not js.size:
                continue
            mixed = copy_mixture(c[:, None], match[js], np.exp(log_x[js])[None, :, None])[..., 0]
            copied = copy_mixture(c[:, None], match[js], np.zeros((1, js.size, 1)))[..., 0]
            independent = rng.random(mixed.shape) * mixed >= copied
            independent[:, js == 0] = True
            p = self.param[js]
            n1 = np.array([counts.get(int(q), (0, 0))[0] for q in p])
            n0 = np.array([counts.get(int(q), (0, 0))[1] for q in p])
            up = self.rises[js]
            draws = beta_draws(
                rng,
                compiled.param_alpha[p] + n1 + independent * up,
                compiled.param_beta[p] + n0 + independent * ~up,
            )
            for i, q in enumerate(p):
                theta[int(q)] = draws[:, i]
        return theta

    # -- the ledger -----------------------------------------------------------------

    def deltas(self, full: float) -> tuple[np.ndarray, np.ndarray] | None:
        """Prefix log evidence and leave-one-out deltas of ``comp.reports``, or None.

        The first is the component's log evidence up to each report in ledger
        order; None when the quadrature disagrees with ``full`` (see the class).
        """
        reports = self.comp.reports
        h = self.comp.h
        found = self._plain_state()
        if found is None:
            return None
        plain, counts, log_z, log_const = found
        n = len(self.members)
        log_x = np.array([self._log_x(j, counts) for j in range(n)])
        match = self._match(list(range(n)))
        rows = self._rows(log_x, match)
        rows[:, 0] = 0.0  # the first member is independent: its log x is added apart
        total = rows.sum(axis=1)
        value = self._value(log_z + log_const, log_x[0], total)
        if not abs(value - full) <= _CHAIN_CHECK * max(1.0, abs(full)):
            return None
        in_order = self._in_order(reports, plain)

        loo = np.empty(len(reports))
        prefix = np.concatenate([np.zeros((len(self.nodes), 1)), np.cumsum(rows, axis=1)], axis=1)
        same = _same_before(self.kind)
        earlier = np.maximum(np.arange(n) - 1.0, 1.0)
        tails = {}
        for k in np.unique(self.kind):
            alt = self._rows(log_x, (same - (self.kind == k)) / earlier)
            alt[:, :2] = 0.0  # member 1 is the first when member 0 goes
            tail = np.cumsum(alt[:, ::-1], axis=1)[:, ::-1]
            tails[int(k)] = np.concatenate([tail, np.zeros((len(self.nodes), 1))], axis=1)
        for t, r in enumerate(map(int, reports)):
            j = self.member_of.get(r)
            if j == 0:
                first = log_x[1] if n > 1 else 0.0
                without = self._value(log_z + log_const, first, tails[int(self.kind[0])][:, 2])
            elif j is not None:
                rows_sum = prefix[:, j] + tails[int(self.kind[j])][:, j + 1]
                without = self._value(log_z + log_const, log_x[0], rows_sum)
            else:
                up, const = plain[r]
                p = int(self.compiled.report_param[r, h])
                less = dict(counts)
                n1, n0 = less[p]
                less[p] = [n1 - up, n0 - (not up)]
                z = log_z - self._predictive(p, *less[p], up)
                m = int(np.flatnonzero(self.param == p)[0])
                x = self._log_x(m, less)
                if m == 0:
                    without = self._value(z + log_const - const, x, total)
                else:
                    row = self._rows(np.array([x]), match[m : m + 1])[:, 0]
                    without = self._value(z + log_const - const, log_x[0], total - rows[:, m] + row)
            loo[t] = value - without
        return in_order, loo

    def _in_order(self, reports: np.ndarray, plain: dict) -> np.ndarray:
        """Log evidence of the component's reports up to each one, in ledger order."""
        h = self.comp.h
        N = len(self.nodes)
        counts: dict[int, list[int]] = {}
        log_rest = 0.0
        arrived: list[int] = []  # members, group order
        rows: dict[int, np.ndarray] = {}
        total = np.zeros(N)
        first = 0.0
        values = np.empty(len(reports))

        def refresh(js: list[int]) -> None:
            """Recompute the rows of arrived members js (and the first's log x)."""
            nonlocal total, first
            kinds = self.kind[arrived]
            at = np.array([arrived.index(j) for j in js])
            for j in js:
                if j in rows:
                    total = total - rows.pop(j)
            if at.min() == 0:
                first = self._log_x(arrived[0], counts)
            later = [(j, a) for j, a in zip(js, at, strict=True) if a > 0]
            if not later:
                return
            match = np.array([np.sum(kinds[:a] == kinds[a]) / a for _, a in later])
            log_x = np.array([self._log_x(j, counts) for j, _ in later])
            new = self._rows(log_x, match)
            for i, (j, _) in enumerate(later):
                rows[j] = new[:, i]
            total = total + new.sum(axis=1)

        for t, r in enumerate(map(int, reports)):
            j = self.member_of.get(r)
            if j is None:
                up, const = plain[r]
                p = int(self.compiled.report_param[r, h])
                n1, n0 = counts.get(p, [0, 0])
                counts[p] = [n1 + up, n0 + (not up)]
                log_rest += self._predictive(p, n1, n0, up) + const
                m = int(np.flatnonzero(self.param == p)[0])
                if m in arrived:
                    refresh([m])
            elif not arrived or j > arrived[-1]:
                arrived.append(j)
                refresh([j])
            else:  # out of group order: the match fractions after it change
                arrived.append(j)
                arrived.sort()
                refresh(arrived)
            values[t] = self._value(log_rest, first, total)
        return values
