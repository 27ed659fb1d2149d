"""Inference plans: what a study's statistics will cost before it runs."""

from __future__ import annotations

from dataclasses import dataclass

from crossalign.config import MemoryBudgetError, get_option
from crossalign.engine.plan import format_duration

__all__ = ["plan_inference"]


@dataclass(frozen=True)
class InferencePlan:
    """Memory and time of a study's bootstrap and permutation loops, known before they run
    (:func:`plan_inference`)."""

    n_bootstrap: int
    n_permutations: int
    peak_bytes: int
    seconds: float

    def describe(self) -> str:
        """One line for the user, printed before the run starts."""
        return (
            f"{self.n_bootstrap} bootstraps and {self.n_permutations} permutations per model: "
            f"peak memory about {self.peak_bytes / 1e6:.1f} MB, time about "
            f"{format_duration(self.seconds)}"
        )


def plan_inference(
    n_subjects: int,
    n_regions: int,
    n_models: int,
    n_layers: int,
    *,
    n_bootstrap: int,
    n_permutations: int,
    budget: int | None = None,
) -> InferencePlan:
    """Plan the resampling loops of a study on one dataset and metric, and refuse one that
    cannot fit the memory budget before anything runs.

    Each subject resample re-indexes the score tensors: the brain's (S, R, S, R) and each
    model's (L, S, R); the samples kept are (B, R) for brain APS and (B, 3, R) per model.
    Permutation nulls keep (P, R) values per model.

    Parameters
    ----------
    n_subjects, n_regions, n_models, n_layers : int
        The dataset's and models' sizes (``n_layers``: the most of any model).
    n_bootstrap, n_permutations : int
        The study's resample counts.
    budget : int, optional
        Bytes allowed (default: the ``memory_budget`` option).

    Returns
    -------
    InferencePlan

    Raises
    ------
    MemoryBudgetError
        Naming ``n_bootstrap`` or ``n_permutations``, whichever needs the memory.
    """
    s, r, lay = n_subjects, n_regions, max(n_layers, 1)
    budget = get_option("memory_budget") if budget is None else budget
    per_resample = 8 * 2 * (s * s * r * r + lay * s * r)  # re-indexed tensors, freed each time
    boot_bytes = 8 * n_bootstrap * (r + 2 * 3 * r)
    perm_bytes = 8 * n_permutations * (2 * r + r)
    peak = per_resample + boot_bytes + perm_bytes
    if peak > budget:
        name, value = (
            ("n_bootstrap", n_bootstrap)
            if boot_bytes >= perm_bytes
            else ("n_permutations", n_permutations)
        )
        raise MemoryBudgetError(
            f"{name} = {value} needs about {peak / 1e9:.3g} GB for its resamples, over the "
            f"memory budget of {budget / 1e9:.3g} GB. Use a smaller {name} (1000 is usual) "
            "or a larger budget (--memory-budget)."
        )
    elements = s * s * r * r + n_models * (lay + s) * s * r * r
    seconds = n_bootstrap * (1 + n_models) * (60e-6 + elements / 2e8)
    seconds += n_models * n_permutations * (40e-6 + lay * s * r * r / 2e8)
    return InferencePlan(n_bootstrap, n_permutations, int(peak), float(seconds))
