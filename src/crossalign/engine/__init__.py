"""The all-pairs engine: prepare each representation once, then score every pair in batched
products, within a memory budget, in one process or on a Dask cluster.

Modules
-------
core          preparation, blocks of products, score tensors, streaming within the budget
plan          plans of time and memory, decided before a run (block sizes, estimates)
distributed   the Dask executor of the engine's blocks
"""

from crossalign.engine import distributed  # registers the Dask executor
from crossalign.engine.core import (
    EXECUTORS,
    LONG_RUN_SECONDS,
    Prepared,
    all_pairs,
    cross,
    pairwise_scores,
    prepare,
    representation_inputs,
    score,
    score_tensor,
)
from crossalign.engine.plan import ScoringPlan, estimate_bytes, format_duration, plan_scores

__all__ = [
    "EXECUTORS",
    "LONG_RUN_SECONDS",
    "Prepared",
    "ScoringPlan",
    "all_pairs",
    "cross",
    "distributed",
    "estimate_bytes",
    "format_duration",
    "pairwise_scores",
    "plan_scores",
    "prepare",
    "representation_inputs",
    "score",
    "score_tensor",
]
