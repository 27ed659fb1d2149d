"""The contract every alignment metric follows.

A metric compares two representations. For all-pairs work it splits into

* ``prepare(reps)``: per-representation work, done once per representation (ranking an RDM's
  upper triangle, centring, normalising, a Gram matrix, a decomposition...);
* ``cross(a, b)``: the pairwise part on prepared stacks, as batched matrix products where the
  metric allows it.

Scoring K representations against each other therefore costs K preparations plus one
(K x K) product, never K^2 full recomputations (Williams et al. 2021, NeurIPS, "Generalized
shape metrics": cache per-representation work).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import numpy as np

__all__ = ["Metric"]


@dataclass(frozen=True)
class Metric(ABC):
    """An alignment metric. Subclasses set the class attributes and implement the two steps."""

    name: ClassVar[str]
    input_kind: ClassVar[Literal["rdm", "responses"]]
    symmetric: ClassVar[bool]
    higher_is_better: ClassVar[bool] = True
    citation: ClassVar[str] = ""
    description: ClassVar[str] = ""
    options: dict[str, Any] = field(default_factory=dict)

    @abstractmethod
    def prepare(self, reps: np.ndarray, labels: Sequence[Any] | None = None) -> Any:
        """Per-representation work on a stack of representations (K, ...)."""

    @abstractmethod
    def cross(self, a: Any, b: Any) -> np.ndarray:
        """Scores (Ka, Kb) between two prepared stacks."""

    def pool_inputs(self, reps: np.ndarray) -> np.ndarray:
        """Per-representation transform applied before averaging representations into a
        group reference (noise ceilings with ``pool="metric"``); identity by default."""
        return np.asarray(reps, dtype=np.float64)

    def score(self, x: np.ndarray, y: np.ndarray) -> float:
        """The score of one pair (x, y), through the same path as the batched engine."""
        return float(self.cross(self.prepare(x[None], ["x"]), self.prepare(y[None], ["y"]))[0, 0])
