"""The ledger of a large group whose members have their own sources, by quadrature over c.

See :class:`Chain`. Used by :mod:`credence.exact_groups`, whose direct
programme it replaces where it applies (and checks itself against).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from credence.bernstein import log_convolve
from credence.compile import CompiledCase
from credence.likelihood import copy_mixture
from credence.special import logsumexp

if TYPE_CHECKING:
    from credence.exact_groups import Component

__all__ = ["CHAIN_MIN_REPORTS", "Chain"]


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
    O(n^3)); beyond, from :func:`scipy.special.roots_jacobi` where it succeeds.
    """
    if n > _EIGH_NODES:
        from scipy.special import roots_jacobi

        # scipy divides 0 by 0 on the way when a + b is within rounding of 1 (the result is
        # right) and fails near a = b = 1/2; eigh below covers what it cannot
        with np.errstate(divide="ignore", invalid="ignore"):
            try:
                x, w = roots_jacobi(n, b - 1.0, a - 1.0)
            except ValueError:
                x = w = np.full(n, np.nan)
            if np.isfinite(x).all() and np.isfinite(w).all():
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
