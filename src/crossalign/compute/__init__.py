"""Array kernels that know nothing of labels: where products run (backends) and batched RDMs.

Modules
-------
backends   NumPy (default) or PyTorch (CPU, or CUDA where present): every backend kernel
context    the execution context (backend, precision, memory budget, memories) kernels take
crossval   cross-validated distances (cross-validated Euclidean, crossnobis) from repetitions
heap       the C allocator keeps freed large arrays between batches (no page faults per batch)
products   the backends' products on their own arrays (symmetric products as halves)
rdm        representational dissimilarity matrices, computed in batches; RDM checks and MDS
ridge      all-pairs ridge regression with leave-one-out penalties (linear predictivity)
"""

from crossalign.compute import backends, rdm
from crossalign.compute.backends import BACKENDS, get_backend
from crossalign.compute.context import Context, current_context, using
from crossalign.compute.rdm import DISTANCES, compute_rdms, upper_triangle

__all__ = [
    "BACKENDS",
    "DISTANCES",
    "Context",
    "backends",
    "compute_rdms",
    "current_context",
    "get_backend",
    "rdm",
    "upper_triangle",
    "using",
]
