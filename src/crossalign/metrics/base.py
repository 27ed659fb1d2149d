"""The contract every alignment metric follows.

A metric compares two representations. For all-pairs work it splits into

* ``prepare(reps)``: per-representation work, done once per representation (ranking an RDM's
  upper triangle, centring, normalising, a Gram matrix, a decomposition...);
* ``cross(a, b)``: the pairwise part on prepared stacks, as batched matrix products where the
  metric allows it.

Scoring K representations against each other therefore costs K preparations plus one
(K x K) product, never K^2 full recomputations (Williams et al. 2021, NeurIPS, "Generalized
shape metrics": cache per-representation work).

Inputs: RDM metrics (``input_kind == "rdm"``) take a stack of RDM upper-triangle vectors
(K, m); response metrics (``input_kind == "responses"``) take a sequence of K response
matrices (n_stimuli, n_units_k), which may differ in their number of units.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any, ClassVar, Literal

import numpy as np

from crossalign._validation import Constraint
from crossalign.compute.context import Context, current_context

__all__ = ["Metric", "Parameter", "unit_inner_products"]


@dataclass(frozen=True)
class Parameter:
    """One parameter of a metric, as :meth:`Metric.parameters` describes it.

    Parameters
    ----------
    name : str
        The keyword that sets it (``get_metric(name, **{parameter: value})``).
    type : str
        Its type, as annotated on the metric class.
    default : object
        The value used when it is not set.
    """

    name: str
    type: str
    default: Any


@dataclass(frozen=True)
class Metric(ABC):
    """An alignment metric. Subclasses set the class attributes and implement the two steps.

    A metric's parameters are the typed fields of its (frozen) dataclass, e.g.
    ``MutualKNN(k=10)`` or ``ShapeMetric(alpha=0.5)``; each subclass checks them when it is
    constructed (``__post_init__``) and raises :class:`~crossalign.errors.InputError` naming the
    parameter. :func:`crossalign.get_metric` builds one by name; :meth:`parameters` and
    ``crossalign metrics`` list each metric's parameters (most have none).
    """

    name: ClassVar[str]
    input_kind: ClassVar[Literal["rdm", "responses"]]
    symmetric: ClassVar[bool]
    higher_is_better: ClassVar[bool] = True
    citation: ClassVar[str] = ""
    description: ClassVar[str] = ""
    #: Backends with kernels for this metric (the ``backend`` option); elsewhere it runs on
    #: NumPy, and the plan says so.
    backends: ClassVar[tuple[str, ...]] = ("numpy",)
    #: Fitted on training stimuli and scored on test stimuli: an evaluation passes both
    #: (:meth:`with_split`) and selects layers with :meth:`for_selection`.
    held_out: ClassVar[bool] = False

    @classmethod
    def parameters(cls) -> dict[str, Parameter]:
        """The metric's parameters by name: their types and defaults."""
        return {f.name: Parameter(f.name, str(f.type), f.default) for f in fields(cls) if f.init}

    @property
    def label(self) -> str:
        """The metric's name, with the parameters that differ from their defaults:
        ``"spearman"``, ``"mutual_knn(k=5)"``; how results and files name it. A sequence of
        more than four values is shown by its length and a short hash of its values."""
        if not self.options:
            return self.name
        parts = ", ".join(f"{k}={_short(v)}" for k, v in sorted(self.options.items()))
        return f"{self.name}({parts})"

    @property
    def options(self) -> dict[str, Any]:
        """The parameters set to other values than their defaults (empty for a default
        metric); used in labels and cache keys."""
        out = {}
        for name, par in self.parameters().items():
            value = getattr(self, name)
            if not _same(value, par.default):
                out[name] = value
        return out

    @abstractmethod
    def prepare(self, reps: Any, labels: Sequence[Any] | None = None, *, ctx: Context) -> Any:
        """Per-representation work on a stack of representations (K, ...).

        Parameters
        ----------
        reps : numpy.ndarray or list of numpy.ndarray
            RDM vectors (K, m), or K response matrices.
        labels : sequence, optional
            The representations' labels, for error messages.
        ctx : Context
            The execution context (backend, precision, memories).

        Returns
        -------
        object
            What :meth:`cross` takes.
        """

    @abstractmethod
    def cross(self, a: Any, b: Any, *, ctx: Context) -> np.ndarray:
        """Scores (Ka, Kb) between two prepared stacks; ``out[i, j] = M(a_i, b_j)``.

        Parameters
        ----------
        a, b : object
            Prepared stacks (``b is a`` for a stack against itself).
        ctx : Context
            The execution context (backend, precision, memories).

        Returns
        -------
        numpy.ndarray
        """

    def paired(self, a: Any, b: Any, *, ctx: Context) -> np.ndarray:
        """Scores of corresponding entries, ``M(a_i, b_i)``: the diagonal of :meth:`cross`
        (metrics with a cheaper way to score pairs alone override it).

        Parameters
        ----------
        a, b : object
            Prepared stacks of equal length.
        ctx : Context
            The execution context (backend, precision, memories).

        Returns
        -------
        numpy.ndarray
        """
        return np.diag(self.cross(a, b, ctx=ctx)).copy()

    @property
    def parts(self) -> int:
        """How many additive parts :meth:`cross` sums (e.g. cross-validation folds), which a
        cluster may compute as separate tasks (:meth:`cross_part`); 1 unless the metric splits.

        Returns
        -------
        int
        """
        return 1

    def cross_part(self, a: Any, b: Any, part: int, *, ctx: Context) -> np.ndarray:
        """Part ``part`` of :meth:`cross`: summed over ``range(self.parts)`` in order, from
        zeros, the parts give :meth:`cross` exactly.

        Parameters
        ----------
        a, b : object
            Prepared stacks.
        part : int
        ctx : Context
            The execution context (backend, precision, memories).

        Returns
        -------
        numpy.ndarray
        """
        return self.cross(a, b, ctx=ctx)

    def pool_inputs(self, reps: np.ndarray) -> np.ndarray:
        """Per-representation transform applied before averaging representations into a
        group reference (noise ceilings with ``pool="metric"``); identity by default.

        Parameters
        ----------
        reps : numpy.ndarray

        Returns
        -------
        numpy.ndarray
        """
        return np.asarray(reps, dtype=np.float64)

    def stack(self, items: Sequence[np.ndarray]) -> Any:
        """Bundle single representations into the input ``prepare`` expects.

        Parameters
        ----------
        items : sequence of numpy.ndarray

        Returns
        -------
        object
        """
        if self.input_kind == "rdm":
            return np.stack([np.asarray(x, dtype=np.float64) for x in items])
        return [np.asarray(x, dtype=np.float64) for x in items]

    def with_split(self, n_train: int, n_test: int) -> Metric:
        """The metric fitted on the first ``n_train`` stimuli and scoring the next ``n_test``
        (held-out metrics); other metrics are returned as they are.

        Parameters
        ----------
        n_train, n_test : int

        Returns
        -------
        Metric
        """
        return self

    def for_selection(self) -> Metric:
        """The metric an evaluation selects layers with on training stimuli (itself, unless
        a held-out metric says otherwise).

        Returns
        -------
        Metric
        """
        return self

    def score(self, x: np.ndarray, y: np.ndarray) -> float:
        """The score of one pair (x, y), through the same path as the batched engine.

        Parameters
        ----------
        x, y : numpy.ndarray
            RDM vectors or response matrices.

        Returns
        -------
        float
        """
        ctx = current_context()
        a = self.prepare(self.stack([x]), ["x"], ctx=ctx)
        b = self.prepare(self.stack([y]), ["y"], ctx=ctx)
        return float(self.cross(a, b, ctx=ctx)[0, 0])


def check_parameter(metric: Metric, name: str, ok: bool, expected: str) -> None:
    """Raise :class:`~crossalign.errors.InputError` naming the parameter ``name`` of ``metric``,
    its value and ``expected`` unless ``ok``."""
    Constraint(check=lambda _: ok, expected=expected).validate(
        name, getattr(metric, name), where=metric.name
    )


def is_number(value: Any) -> bool:
    """A real number that is not a bool."""
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(
        value, bool | np.bool_
    )


def _short(value: Any) -> str:
    if isinstance(value, tuple) and len(value) > 4:
        digest = hashlib.sha256(repr(value).encode()).hexdigest()[:6]
        return f"<{len(value)} values #{digest}>"
    return repr(value)


def _same(a: Any, b: Any) -> bool:
    try:
        return bool(a == b)
    except (TypeError, ValueError):  # array-like values
        return False


def unit_inner_products(a: np.ndarray, b: np.ndarray, ctx: Context) -> np.ndarray:
    """All inner products of two stacks of unit vectors, clipped to [-1, 1], on the context's
    backend; ``a @ a.T`` when ``b is a`` (a symmetric product: half the work).

    Parameters
    ----------
    a, b : numpy.ndarray
        (Ka, m) and (Kb, m) unit vectors.
    ctx : Context
        Where the product runs, in its precision.

    Returns
    -------
    numpy.ndarray
        (Ka, Kb).
    """
    return ctx.inner(a, None if a is b else b)
