"""The all-pairs engine: prepare each representation once, then score every pair in batched
products, within a memory budget, in one process or on a Dask cluster.

Modules
-------
core          preparation, blocks of products, score tensors, plans of time and memory
distributed   the Dask executor of the engine's blocks
"""

from crossalign.engine.core import (
    Prepared,
    ScoringPlan,
    all_pairs,
    cross,
    estimate_bytes,
    format_duration,
    pairwise_scores,
    plan_scores,
    prepare,
    representation_inputs,
    score,
    score_tensor,
)

__all__ = [
    "Prepared",
    "ScoringPlan",
    "all_pairs",
    "cross",
    "estimate_bytes",
    "format_duration",
    "pairwise_scores",
    "plan_scores",
    "prepare",
    "representation_inputs",
    "score",
    "score_tensor",
]
