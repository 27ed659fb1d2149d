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

from . import backends, distributed, errors
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
from .skill import (
    collect_model_responses,
    collect_multi_region_data,
    compare_alignment_patterns,
    compare_model_paradigms,
    compute_alignment_score,
    compute_cross_region_alignment,
    compute_rdm,
    identify_best_layers,
    validate_model_comprehensive,
)
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

__all__ = [
    "DISTANCES",
    "METRICS",
    "PROTOCOLS",
    "BrainData",
    "CrossalignError",
    "Evaluation",
    "MemoryBudgetError",
    "ModelData",
    "PatternComparison",
    "Protocol",
    "ReliabilityWarning",
    "Representations",
    "__version__",
    "aps_permutation_test",
    "as_adapter",
    "assign_layers",
    "backends",
    "bootstrap_indices",
    "brain_aps",
    "brain_aps_ci",
    "brain_patterns",
    "ceiling_normalise",
    "collect_model_responses",
    "collect_multi_region_data",
    "compare_alignment_patterns",
    "compare_matrices",
    "compare_model_paradigms",
    "compute_alignment_score",
    "compute_cross_region_alignment",
    "compute_rdm",
    "compute_rdms",
    "cross_region_matrix",
    "dataset_status",
    "distributed",
    "double_criterion",
    "equivalence",
    "errors",
    "evaluate_model",
    "extract",
    "fdr_bh",
    "fwer_maxstat",
    "get_metric",
    "identify_best_layers",
    "layer_scores",
    "list_layers",
    "list_metrics",
    "load_array",
    "load_dataset",
    "load_model",
    "load_video",
    "metric_sensitivity",
    "model_aps",
    "model_cross_region_matrix",
    "model_patterns",
    "model_to_brain_matrix",
    "ncsnr",
    "noise_ceiling",
    "options",
    "pairwise_scores",
    "paradigm_summary",
    "percentile_ci",
    "plan_scores",
    "reliable_units",
    "score",
    "score_tensor",
    "select_layers",
    "split_stimuli",
    "two_factor_variance",
    "upper_triangle",
    "validate_model_comprehensive",
]
