"""Benchmarks on seeded synthetic data (``crossalign bench``): timings against the reference
tools and the arithmetic floor, in the same run.

Modules
-------
suite   the benchmark registry and the component benchmarks (RSA, APS, predictivity, ...)
paper   the whole analysis of Hoefling et al. (2026) at BOLD Moments scale
"""

__all__: list[str] = []
