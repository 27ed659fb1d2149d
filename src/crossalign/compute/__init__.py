"""Array kernels that know nothing of labels: where products run (backends) and batched RDMs.

Modules
-------
backends   NumPy (default) or PyTorch (CPU, or CUDA where present); working precision
crossval   cross-validated distances (cross-validated Euclidean, crossnobis) from repetitions
products   the dense products of the ridge kernels per backend (symmetric products as halves)
rdm        representational dissimilarity matrices, computed in batches; RDM checks and MDS
ridge      all-pairs ridge regression with leave-one-out penalties (linear predictivity)
"""

from crossalign.compute import backends, rdm
from crossalign.compute.backends import BACKENDS, get_backend, working_dtype
from crossalign.compute.rdm import DISTANCES, compute_rdms, upper_triangle

__all__ = [
    "BACKENDS",
    "DISTANCES",
    "backends",
    "compute_rdms",
    "get_backend",
    "rdm",
    "upper_triangle",
    "working_dtype",
]
