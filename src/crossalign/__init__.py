"""crossalign: evaluate models of the brain by cross-region alignment patterns.

Pointwise benchmarks ask "does layer L match region R?". crossalign also asks whether a model
reproduces how every brain region relates to every other region, the way one subject's brain
reproduces another's (Hoefling et al. 2026, arXiv:2604.21780).

Quick start
-----------
>>> import crossalign as ca
>>> data = ca.load_dataset("cichy2014")             # doctest: +SKIP
>>> ca.cross_region_matrix(data, metric="spearman")  # doctest: +SKIP
"""

from importlib.metadata import PackageNotFoundError, version

from . import backends, distributed, errors, functional
from ._options import MemoryBudgetError, options
from .aps import brain_aps, brain_aps_ci, brain_patterns, model_patterns
from .data import BrainData, ModelData, Representations
from .engine import pairwise_scores, plan_scores, score, score_tensor
from .errors import CrossalignError, ReliabilityWarning
from .evaluation import Evaluation, aps_permutation_test, evaluate_model, model_aps
from .io import dataset_status, load_array, load_dataset
from .layers import assign_layers, layer_scores, select_layers, split_stimuli
from .metrics import METRICS, get_metric, list_metrics
from .models import as_adapter, extract, list_layers, load_model
from .models.video import load_video
from .patterns import (
    PatternComparison,
    compare_matrices,
    cross_region_matrix,
    model_cross_region_matrix,
    model_to_brain_matrix,
)
from .protocols import PROTOCOLS, Protocol
from .rdm import DISTANCES, compute_rdms, upper_triangle
from .reliability import ncsnr, reliable_units
from .sensitivity import metric_sensitivity
from .stats import (
    bootstrap_indices,
    ceiling_normalise,
    double_criterion,
    equivalence,
    fdr_bh,
    fwer_maxstat,
    noise_ceiling,
    paradigm_summary,
    percentile_ci,
    two_factor_variance,
)

try:
    __version__ = version("crossalign")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0+unknown"

__all__ = [  # noqa: RUF022 (grouped by topic, as in the API reference)
    # data containers and loading
    "BrainData",
    "ModelData",
    "Representations",
    "dataset_status",
    "load_array",
    "load_dataset",
    # models and their activations
    "as_adapter",
    "extract",
    "list_layers",
    "load_model",
    "load_video",
    # RDMs and metrics
    "DISTANCES",
    "METRICS",
    "compute_rdms",
    "get_metric",
    "list_metrics",
    "upper_triangle",
    # the engine: scores of all pairs, plans, memory budgets
    "MemoryBudgetError",
    "options",
    "pairwise_scores",
    "plan_scores",
    "score",
    "score_tensor",
    # cross-region matrices
    "PatternComparison",
    "compare_matrices",
    "cross_region_matrix",
    "model_cross_region_matrix",
    "model_to_brain_matrix",
    # alignment patterns and APS
    "brain_aps",
    "brain_aps_ci",
    "brain_patterns",
    "model_aps",
    "model_patterns",
    # layer selection
    "assign_layers",
    "layer_scores",
    "select_layers",
    "split_stimuli",
    # the evaluation and its protocols
    "PROTOCOLS",
    "Evaluation",
    "Protocol",
    "aps_permutation_test",
    "evaluate_model",
    # statistics and reliability
    "bootstrap_indices",
    "ceiling_normalise",
    "double_criterion",
    "equivalence",
    "fdr_bh",
    "fwer_maxstat",
    "metric_sensitivity",
    "ncsnr",
    "noise_ceiling",
    "paradigm_summary",
    "percentile_ci",
    "reliable_units",
    "two_factor_variance",
    # errors and submodules
    "CrossalignError",
    "ReliabilityWarning",
    "__version__",
    "backends",
    "distributed",
    "errors",
    "functional",
]


def __getattr__(name: str):
    """The function-level API's names, still importable from here (deprecated)."""
    if name in functional.__all__:
        import warnings

        warnings.warn(
            f"crossalign.{name} moved to crossalign.functional.{name}; import it from there "
            "(the top level holds the library's own API).",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(functional, name)
    raise AttributeError(f"module 'crossalign' has no attribute {name!r}")
