"""All-pairs ridge regression with leave-one-out penalties: every source against every target
in one fold, as batched products on any backend (:mod:`crossalign.compute.products`), under
the caller's execution context (:mod:`crossalign.compute.context`).

With a source's centred training responses ``Xc = U diag(s) V^T`` and ``phi = s^2 / (s^2 +
alpha)``, the hat matrix of ridge with an intercept is ``H = 1/n + U diag(phi) U^T``; a centred
target ``Yc``'s summed squared leave-one-out error at ``alpha`` is

    SSE(alpha) = < E_alpha , Yc Yc^T >_F,   E = F^T F,   F = diag(1 / (1 - H_ii)) (I - H + 1/n)

(Golub, Heath & Wahba 1979; scikit-learn's ``RidgeCV`` computes the same per pair). ``E``
depends on the source and alpha only and ``Yc Yc^T`` on the target only, so the errors of every
target at every alpha are one product of the stacked ``E`` with the stacked target Grams.
The chosen alpha's fold model maps a centred training target to its centred test prediction by
``P = (X_te - mean) V diag(s / (s^2 + alpha)) U^T``, and with ``D = diag(1 / SST)`` per unit the
held-out ``sum_u SS_res,u / SST_u`` is ``const - 2 <P, (Y_te - mean) D Yc^T> + <P^T P, Yc D
Yc^T>``: all (source, chosen alpha) maps meet all targets in two more products.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from crossalign.compute.backends import Backend
from crossalign.compute.choices import FoldKeys
from crossalign.compute.context import Context, current_context, using

__all__ = [
    "STACK_BYTES",
    "ChunkWork",
    "Sources",
    "Targets",
    "cross_scores",
    "fold_scores",
    "paired_scores",
    "recording",
    "spectrum",
]

#: Bytes of the leave-one-out matrices stacked for one product with every target's Gram
#: (sources of a chunk x alphas x packed n x n): the targets' Grams are read once per chunk.
STACK_BYTES = 256 * 2**20


@dataclass(frozen=True)
class ChunkWork:
    """The products one chunk of sources needed in one fold (what :func:`recording` keeps,
    for pricing a run's arithmetic floor).

    Parameters
    ----------
    n_train, n_test : int
        The fold's training and test stimuli.
    n_alphas : int
        Ridge penalties.
    sources : tuple of tuple
        ``(units, rank)`` of each source of the chunk.
    targets : tuple of int
        Units of each target.
    maps : tuple of int
        Per source, its (source, chosen alpha) prediction maps met by the stacked targets.
    fills_targets : bool
        Whether the targets' matrices were built for this chunk (once per fold).
    direct : bool
        One source against one target by the per-pair form (:func:`paired_scores`).
    loo : tuple of bool
        Per source, whether its leave-one-out matrices were built (False: its penalties were
        remembered, :mod:`crossalign.compute.choices`); empty: all were.
    grams : bool
        Whether the targets' fill built their Gram matrices (not needed when every source's
        penalties were remembered).
    """

    n_train: int
    n_test: int
    n_alphas: int
    sources: tuple[tuple[int, int], ...]
    targets: tuple[int, ...]
    maps: tuple[int, ...]
    fills_targets: bool
    direct: bool = False
    loo: tuple[bool, ...] = ()
    grams: bool = True


@contextlib.contextmanager
def recording() -> Iterator[list[ChunkWork]]:
    """Within the block, every chunk the kernels run (in this process) is appended to the
    yielded list as a :class:`ChunkWork`: the block runs under the current context
    (:func:`crossalign.compute.context.current_context`) with a recorder.

    Yields
    ------
    list of ChunkWork
    """
    log: list[ChunkWork] = []
    with using(replace(current_context(), recorder=log)):
        yield log


def spectrum(ops: Backend, xc: Any, test: Any = None) -> tuple[Any, Any, Any]:
    """``U, s, V`` of the thin SVD of ``xc`` without its null space; with ``test``, ``test
    V`` in place of ``V``.

    From the eigendecomposition of the smaller of ``xc^T xc`` and ``xc xc^T`` (a third of an
    SVD's time) when every kept eigenvalue is resolved well (above 1e-9 of the largest);
    eigenvalues at the eigensolver's noise floor are the null space (the constant direction
    of centred data among them). A source with directions in between is decomposed by SVD,
    which keeps them accurately. When units outnumber stimuli, ``test V`` is computed as
    ``(test xc^T) U / s`` without forming ``V`` (n_te x p x n instead of p x n x r more).

    Parameters
    ----------
    ops : Backend
    xc : array
        (n, p) centred responses.
    test : array, optional
        (n_te, p) responses to project on the right singular vectors.

    Returns
    -------
    tuple
        ``U`` (n, r), ``s`` (r,), and ``V`` (p, r) or ``test V`` (n_te, r).
    """
    n, p = xc.shape
    lam, vecs = ops.eigh(ops.syrk(xc if p <= n else xc.T))
    top = float(lam.max()) if len(lam) else 0.0
    floor = top * max(n, p) * np.finfo(float).eps * 10
    values = ops.to_numpy(lam)
    keep = values > floor
    if (keep & (values < top * 1e-9)).any():
        u, s, vt = ops.svd(xc)
        kept = ops.index(ops.to_numpy(s) > float(s.max()) * max(n, p) * np.finfo(float).eps)
        v = vt[kept].T
        return u[:, kept], s[kept], v if test is None else ops.mm(test, v)
    kept = ops.index(keep)
    vecs, s = vecs[:, kept], lam[kept] ** 0.5
    if p <= n:
        return ops.mm(xc, vecs) / s, s, vecs if test is None else ops.mm(test, vecs)
    if test is None:
        return vecs, s, ops.mm(xc.T, vecs) / s
    return vecs, s, ops.mm(ops.mm(test, xc.T), vecs) / s


class Sources:
    """One fold's sources: per source the spectrum of its centred training responses and its
    projected test responses.

    Parameters
    ----------
    ops : Backend
    xs : sequence of arrays
        (stimulus, unit) responses of each source, on the backend.
    train, test : numpy.ndarray
        Positions of the fold's training and test stimuli.
    """

    def __init__(self, ops: Backend, xs: Sequence[Any], train: Any, test: Any) -> None:
        self.ops, self.n, self.xs = ops, len(train), xs
        self.scratch: dict[tuple[str, tuple[int, ...]], Any] = {}
        self.parts = []
        for x in xs:
            xtr = x[train]
            mu = xtr.mean(0)
            self.parts.append(spectrum(ops, xtr - mu, x[test] - mu))

    def __len__(self) -> int:
        return len(self.parts)

    def fill_loo(self, k: int, stack: Any, alphas: np.ndarray) -> None:
        """Row ``a`` of ``stack`` (alphas, packed size) becomes source ``k``'s ``E_alpha``
        (module docstring) in the half form: per alpha one product ``diag(1 / (1 - H_ii)) U
        diag(phi) U^T`` (the scaling applied to the n x r factor) and one symmetric
        product.

        Parameters
        ----------
        k : int
            The source.
        stack : array
            (alphas, ``ops.sym_size(n)``), written in place.
        alphas : numpy.ndarray
        """
        ops, n = self.ops, self.n
        u, s, _ = self.parts[k]
        s2 = s * s
        phis = s2[None, :] / (s2[None, :] + ops.asarray(alphas)[:, None])  # (alphas, r)
        roots = 1.0 / (1.0 - 1.0 / n - ops.mm(u * u, phis.T))  # (n, alphas): 1 / (1 - H_ii)
        scaled, m = self._scratch("factor", tuple(u.shape)), self._scratch("square", (n, n))
        for a in range(len(alphas)):
            root = roots[:, a]
            ops.mul(u, phis[a][None, :], out=scaled)
            scaled *= root[:, None]
            ops.mm(scaled, u.T, out=m)
            ops.flat(m)[:: n + 1] -= root  # m = -F (column-major: its rows are F's rows)
            ops.half(m, stack[a])

    def _scratch(self, name: str, shape: tuple[int, ...]) -> Any:
        """The work array ``name`` of ``shape``, allocated once per chunk (fresh pages cost
        more than the products)."""
        if (name, shape) not in self.scratch:
            self.scratch[name, shape] = self.ops.empty(shape)
        return self.scratch[name, shape]

    def prediction_map(self, k: int, alpha: float) -> Any:
        """(test, train): source ``k``'s fold model at ``alpha`` applied to a centred training
        target gives its centred test prediction.

        Parameters
        ----------
        k : int
            The source.
        alpha : float

        Returns
        -------
        array
        """
        u, s, a_te = self.parts[k]
        return self.ops.mm(a_te * (s / (s * s + alpha))[None, :], u.T)


class Targets:
    """Every target's matrices in one fold, stacked one target per row so that all sources
    meet all targets in products; buffers are kept over folds (fresh pages cost more than the
    products).

    ``gram`` ``Yc Yc^T`` and ``wgram`` ``Yc D Yc^T`` (partner forms, packed), ``cross``
    ``(Y_te - mean) D Yc^T`` (column by column) and ``const`` ``sum (Y_te - mean)^2 D`` with
    ``D = diag(1 / SST)`` per unit. A target with a unit constant over the scored stimuli is
    scored explicitly (``explicit``).

    Parameters
    ----------
    ops : Backend
    k : int
        Targets.
    n_tr, n_te : int
        The largest training and test fold.
    """

    def __init__(self, ops: Backend, k: int, n_tr: int, n_te: int) -> None:
        self.ops, self.k = ops, k
        self.buffers = {name: ops.zeros(k * ops.sym_size(n_tr)) for name in ("gram", "wgram")}
        self.buffers["cross"] = ops.zeros(k * n_tr * n_te)
        self.const, self.units = np.zeros(k), np.zeros(k)
        self.explicit: dict[int, tuple[Any, Any, Any, Any]] = {}
        self.n_tr = self.n_te = 0
        self.widths: list[int] = []
        self.fresh = False  # filled since a chunk was last recorded
        self.grams = True  # the last fill built the Gram matrices

    def stacked(self, name: str) -> Any:
        """The current fold's ``name`` matrices, one target per row (a view).

        Parameters
        ----------
        name : {"gram", "wgram", "cross"}

        Returns
        -------
        array
        """
        cols = self.n_tr * self.n_te if name == "cross" else self.ops.sym_size(self.n_tr)
        return self.buffers[name][: self.k * cols].reshape(self.k, cols)

    def fill(self, ys: Sequence[Any], train: Any, test: Any, grams: bool = True) -> None:
        """The matrices of the fold (``train``, ``test``), written over the last fold's.

        Parameters
        ----------
        ys : sequence of arrays
            (stimulus, unit) responses of each target (varying units only), on the backend.
        train, test : numpy.ndarray
        grams : bool
            Build the Gram matrices (only the leave-one-out errors read them).
        """
        self.n_tr, self.n_te, self.grams = len(train), len(test), grams
        self.explicit, self.widths, self.fresh = {}, [int(y.shape[1]) for y in ys], True
        ops = self.ops
        for t, y in enumerate(ys):
            y_tr = y[train]
            mean = y_tr.mean(0)
            yc = y_tr - mean
            if grams:
                ops.pair(yc.T, self.stacked("gram")[t])
            y_te = y[test]
            dev = y_te - mean
            sst = ops.to_numpy(((y_te - y_te.mean(0)) ** 2).sum(0))
            self.const[t] = self.units[t] = 0.0
            if sst.size == 0 or (sst == 0).any():
                self.explicit[t] = (yc, mean, y_te, sst)
                self.stacked("wgram")[t] = 0.0
                self.stacked("cross")[t] = 0.0
                continue
            inv = ops.asarray(1.0 / sst)
            self.const[t] = float(((dev * dev) * inv).sum())
            ops.pair((yc * inv**0.5).T, self.stacked("wgram")[t])
            cross = self.stacked("cross")[t].reshape(self.n_tr, self.n_te)
            ops.mm(yc, (dev * inv).T, out=cross)  # cross^T: column order
            self.units[t] = y.shape[1]


def fold_scores(
    sources: Sources,
    targets: Targets,
    alphas: np.ndarray,
    stack: Any,
    known: Sequence[np.ndarray | None] | None = None,
    log: list[ChunkWork] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(sources, targets): held-out R^2 of every target from every source of a chunk in one
    fold, at the alpha its leave-one-out error chose (the first of the smallest, as
    ``RidgeCV``), and those choices.

    Parameters
    ----------
    sources : Sources
    targets : Targets
    alphas : numpy.ndarray
        Ridge penalties.
    stack : array
        Flat scratch space for ``len(sources) * len(alphas)`` packed symmetric matrices
        (``ops.sym_size(n)`` each).
    known : sequence, optional
        Per source, its penalty indices (one per target) when already chosen, else None.
    log : list, optional
        Where to append the chunk's :class:`ChunkWork` (a context's recorder).

    Returns
    -------
    tuple of numpy.ndarray
        The (sources, targets) scores and the (sources, targets) penalty indices.
    """
    ops, n_a, n, k_s = sources.ops, len(alphas), sources.n, len(sources)
    size = ops.sym_size(n)
    rows = stack[: k_s * n_a * size].reshape(k_s * n_a, size)
    best = _choose(sources, targets, alphas, rows, known or [None] * k_s)
    out = np.empty((k_s, targets.k))
    maps: list[tuple[int, np.ndarray, Any]] = []  # (source, its targets, map column by column)
    for k in range(k_s):
        for a in np.unique(best[k]):
            chosen = np.flatnonzero(best[k] == a)
            p = sources.prediction_map(k, float(alphas[a]))
            for j in (int(j) for j in chosen if j in targets.explicit):
                out[k, j] = _explicit_r2(ops, p, targets.explicit[j])
            stacked = np.array([j for j in chosen if j not in targets.explicit], dtype=int)
            if stacked.size:
                ops.half(p, rows[len(maps)])
                maps.append((k, stacked, ops.fravel(p)))
    if maps:
        cross = ops.mm(ops.stack([p for _, _, p in maps]), targets.stacked("cross").T)
        quad = ops.mm(rows[: len(maps)], targets.stacked("wgram").T)
        ss = targets.const - 2.0 * ops.to_numpy(cross) + ops.to_numpy(quad)
        for row, (k, stacked, _) in enumerate(maps):
            out[k, stacked] = 1.0 - ss[row, stacked] / targets.units[stacked]
    if log is not None:
        n_maps = [sum(1 for m in maps if m[0] == k) for k in range(k_s)]
        log.append(_chunk_work(sources, targets, n_a, n_maps, known))
    return out, best


def _choose(
    sources: Sources,
    targets: Targets,
    alphas: np.ndarray,
    rows: Any,
    known: Sequence[np.ndarray | None],
) -> np.ndarray:
    """(sources, targets) penalty indices: the known ones as given, the others from the
    leave-one-out errors of the sources' stacked ``E`` against every target's Gram."""
    ops, n_a = sources.ops, len(alphas)
    best = np.empty((len(sources), targets.k), dtype=np.intp)
    todo = [k for k, chosen in enumerate(known) if chosen is None]
    for k, chosen in enumerate(known):
        if chosen is not None:
            best[k] = chosen
    if todo:
        if not targets.grams:
            raise RuntimeError("leave-one-out errors need the targets' Gram matrices")
        for i, k in enumerate(todo):
            sources.fill_loo(k, rows[i * n_a : (i + 1) * n_a], alphas)
        errors = ops.to_numpy(ops.mm(rows[: len(todo) * n_a], targets.stacked("gram").T))
        best[todo] = np.argmin(errors.reshape(len(todo), n_a, targets.k), axis=1)
    return best


def _chunk_work(
    sources: Sources,
    targets: Targets,
    n_alphas: int,
    maps: list[int],
    known: Sequence[np.ndarray | None] | None,
) -> ChunkWork:
    """The chunk's work, for a context's recorder (the targets' fill is counted once)."""
    shapes = tuple(
        (int(x.shape[1]), int(u.shape[1]))
        for x, (u, _, _) in zip(sources.xs, sources.parts, strict=True)
    )
    loo = () if known is None else tuple(chosen is None for chosen in known)
    work = ChunkWork(
        sources.n,
        targets.n_te,
        n_alphas,
        shapes,
        tuple(int(q) for q in targets.widths),
        tuple(maps),
        targets.fresh,
        loo=loo if not all(loo) else (),
        grams=targets.grams,
    )
    targets.fresh = False
    return work


def _explicit_r2(ops: Backend, p: Any, target: tuple[Any, Any, Any, np.ndarray]) -> float:
    """Mean held-out R^2 of a target with a unit constant over the test stimuli, from its
    predictions (scikit-learn's ``r2_score`` convention: such a unit scores 1 if predicted
    exactly, else 0)."""
    yc, mean, y_te, ss_tot = target
    return _mean_r2(ops.to_numpy(((y_te - (ops.mm(p, yc) + mean)) ** 2).sum(0)), ss_tot)


def _mean_r2(ss_res: np.ndarray, ss_tot: np.ndarray) -> float:
    """Mean R^2 over units; a unit constant over the scored stimuli scores 1 if predicted
    exactly, else 0 (scikit-learn's ``r2_score`` convention)."""
    if ss_res.size == 0:
        return float("nan")
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = 1.0 - ss_res / ss_tot
    flat = ss_tot == 0
    r2[flat] = np.where(ss_res[flat] == 0, 1.0, 0.0)
    return float(r2.mean())


def cross_scores(
    ctx: Context,
    xs: Sequence[np.ndarray],
    ys: Sequence[np.ndarray],
    folds: Sequence[tuple[np.ndarray, np.ndarray]],
    weights: Sequence[float] | np.ndarray,
    alphas: np.ndarray,
) -> np.ndarray:
    """(sources, targets): the weighted sum over ``folds`` of each fold's held-out R^2
    (:func:`fold_scores`). Penalties chosen for the same fitting rows earlier under the same
    context are reused (``ctx.penalties``, :mod:`crossalign.compute.choices`); the scores are
    the same either way.

    Parameters
    ----------
    ctx : Context
        Its backend runs the products; its memories keep penalties and record the work.
    xs, ys : sequence of numpy.ndarray
        (stimulus, unit) responses of the sources and the targets (varying units only).
    folds : sequence of tuple
        (fitting rows, scored rows) per fold.
    weights : sequence of float or numpy.ndarray
        Each fold's weight.
    alphas : numpy.ndarray

    Returns
    -------
    numpy.ndarray
    """
    ops, log = ctx.backend, ctx.recorder
    xs = [ops.asarray(x) for x in xs]
    ys = [ops.asarray(y) for y in ys]
    out = np.zeros((len(xs), len(ys)))
    keys = FoldKeys(ops, xs, ys, folds, alphas)
    # buffers for the largest fold, allocated once: fresh pages cost more than the products
    n_tr = max(len(train) for train, _ in folds)
    packed = ops.sym_size(n_tr)
    size = max(1, min(len(xs), STACK_BYTES // (len(alphas) * packed * 8)))
    stack = ops.zeros(size * len(alphas) * packed)
    targets = Targets(ops, len(ys), n_tr, max(len(test) for _, test in folds))
    for f, ((train, test), weight) in enumerate(zip(folds, weights, strict=True)):
        train_i, test_i = ops.index(train), ops.index(test)
        fold_keys = [keys.key(k, f) for k in range(len(xs))]
        known = [ctx.penalties.get(key) for key in fold_keys]
        targets.fill(ys, train_i, test_i, grams=any(chosen is None for chosen in known))
        for start in range(0, len(xs), size):
            block = slice(start, start + size)
            sources = Sources(ops, xs[block], train_i, test_i)
            scores, best = fold_scores(sources, targets, alphas, stack, known[block], log)
            out[block] += weight * scores
            for k, chosen in enumerate(best, start):
                if known[k] is None:
                    ctx.penalties.put(fold_keys[k], chosen)
    return out


def _paired_fold(
    ops: Backend,
    x: Any,
    y: Any,
    fold: tuple[Any, Any],
    alphas: np.ndarray,
    log: list[ChunkWork] | None,
) -> float:
    """Held-out mean R^2 of ``y`` from ``x`` in one fold, by the per-pair form: with ``B = U^T
    Yc`` and ``Yp = Yc - U B`` (the target outside the source's span), the leave-one-out
    residuals at ``alpha`` are ``diag(1 / (1 - H_ii)) (Yp + U diag(1 - phi) B)``; their sum of
    squares costs one n x r x q product per alpha (or n x r x r through ``B B^T`` when the
    target has more units than the source's rank), against the n x n matrices of the
    all-pairs form."""
    train, test = fold
    n = len(train)
    xtr = x[train]
    mu = xtr.mean(0)
    u, s, a_te = spectrum(ops, xtr - mu, x[test] - mu)
    y_tr = y[train]
    mean = y_tr.mean(0)
    yc = y_tr - mean
    b = ops.mm(u.T, yc)
    yp = yc - ops.mm(u, b)
    u2, s2, wide = u * u, s * s, yc.shape[1] > u.shape[1]
    if wide:
        c, lift, base = ops.mm(b, b.T), ops.mm(yp, b.T), (yp * yp).sum(1)
    errors = np.empty(len(alphas))
    for a, alpha in enumerate(alphas):
        phi = s2 / (s2 + alpha)
        root = 1.0 / (1.0 - 1.0 / n - ops.mm(u2, phi[:, None])[:, 0])
        if wide:
            vd = u * (1.0 - phi)[None, :]
            rows = base + 2.0 * (vd * lift).sum(1) + (ops.mm(vd, c) * vd).sum(1)
        else:
            res = yp + ops.mm(u, (1.0 - phi)[:, None] * b)
            rows = (res * res).sum(1)
        errors[a] = float((root * root * rows).sum())
    alpha = float(alphas[int(np.argmin(errors))])
    pred = ops.mm(a_te * (s / (s2 + alpha))[None, :], b)
    y_te = y[test]
    ss_res = ops.to_numpy(((y_te - mean - pred) ** 2).sum(0))
    ss_tot = ops.to_numpy(((y_te - y_te.mean(0)) ** 2).sum(0))
    if log is not None:
        shape = ((int(x.shape[1]), int(u.shape[1])),)
        log.append(
            ChunkWork(
                n, len(test), len(alphas), shape, (int(y.shape[1]),), (1,), False, direct=True
            )
        )
    return _mean_r2(ss_res, ss_tot)


def paired_scores(
    ctx: Context,
    xs: Sequence[np.ndarray],
    ys: Sequence[np.ndarray],
    folds: Sequence[tuple[np.ndarray, np.ndarray]],
    weights: Sequence[float] | np.ndarray,
    alphas: np.ndarray,
) -> np.ndarray:
    """(pairs,): the weighted sum over ``folds`` of the held-out R^2 of ``ys[i]`` from
    ``xs[i]``, equal to the diagonal of :func:`cross_scores`, at a fraction of its cost when
    each source faces one target.

    Parameters
    ----------
    ctx : Context
        Its backend runs the products; its recorder (if any) records the work.
    xs, ys : sequence of numpy.ndarray
        (stimulus, unit) responses of the sources and their targets (varying units only).
    folds : sequence of tuple
        (fitting rows, scored rows) per fold.
    weights : sequence of float or numpy.ndarray
        Each fold's weight.
    alphas : numpy.ndarray

    Returns
    -------
    numpy.ndarray
    """
    ops = ctx.backend
    out = np.zeros(len(xs))
    pairs = [(ops.asarray(x), ops.asarray(y)) for x, y in zip(xs, ys, strict=True)]
    for (train, test), weight in zip(folds, weights, strict=True):
        fold = (ops.index(train), ops.index(test))
        for i, (x, y) in enumerate(pairs):
            out[i] += weight * _paired_fold(ops, x, y, fold, alphas, ctx.recorder)
    return out
