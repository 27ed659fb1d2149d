"""Benchmarks on seeded synthetic data (``crossalign bench``): timings against the reference
tools and the arithmetic floor, in the same run.

Modules
-------
suite   the benchmark registry and the component benchmarks (RSA, crossnobis, APS, ...)
paper   the whole analysis of Hoefling et al. (2026) at BOLD Moments scale
cortex  the same RSA analysis over all 180 HCP-MMP1 parcels (synthetic, real parcel sizes)
memory  peak resident memory of the benchmark process
"""

from crossalign.bench.cortex import CORTEX_SIZES, bench_cortex, cortex_world
from crossalign.bench.paper import PAPER_SIZES, bench_paper
from crossalign.bench.suite import (
    BENCHMARKS,
    bench_aps,
    bench_crossnobis,
    bench_evaluate,
    bench_extract,
    bench_nsd,
    bench_predictivity,
    bench_rsa,
    bench_stream,
)

__all__ = [
    "BENCHMARKS",
    "CORTEX_SIZES",
    "PAPER_SIZES",
    "bench_aps",
    "bench_cortex",
    "bench_crossnobis",
    "bench_evaluate",
    "bench_extract",
    "bench_nsd",
    "bench_paper",
    "bench_predictivity",
    "bench_rsa",
    "bench_stream",
    "cortex_world",
]
