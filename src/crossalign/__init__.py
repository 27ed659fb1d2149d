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

from crossalign import errors, functional
from crossalign._version import __version__
from crossalign.analysis.aps import brain_aps, brain_aps_ci, brain_patterns, model_patterns
from crossalign.analysis.brain_training import train_brain_model
from crossalign.analysis.encoding import EncodingModel
from crossalign.analysis.layers import assign_layers, layer_scores, select_layers
from crossalign.analysis.patterns import (
    PatternComparison,
    compare_matrices,
    cross_region_matrix,
    model_cross_region_matrix,
    model_to_brain_matrix,
)
from crossalign.analysis.splits import split_stimuli
from crossalign.analysis.temporal import (
    lag_profiles,
    latencies,
    rdm_movie,
    temporal_generalisation,
    time_course,
    time_courses,
)
from crossalign.analysis.temporal_aps import aps_time_courses
from crossalign.compute import backends
from crossalign.compute.context import Context, using
from crossalign.compute.rdm import DISTANCES, compute_rdms, upper_triangle
from crossalign.config import MemoryBudgetError, options
from crossalign.data.containers import BrainData, ModelData
from crossalign.data.representations import Representations
from crossalign.engine import distributed
from crossalign.engine.core import pairwise_scores, score, score_tensor
from crossalign.engine.plan import plan_scores
from crossalign.errors import CrossalignError, LongRunWarning, ReliabilityWarning
from crossalign.evaluation.connectivity import connectivity_aps
from crossalign.evaluation.core import Evaluation
from crossalign.evaluation.evaluate import aps_permutation_test, evaluate_model, model_aps
from crossalign.evaluation.protocols import PROTOCOLS, Protocol
from crossalign.evaluation.sensitivity import metric_sensitivity
from crossalign.evaluation.summaries import paradigm_summary
from crossalign.io import dataset_status, load_array, load_dataset, load_parcellation
from crossalign.metrics import METRICS, get_metric, list_metrics
from crossalign.models import as_adapter, extract, list_layers, load_model
from crossalign.models.video import load_video
from crossalign.plugins import load_plugins
from crossalign.stats.ceilings import ceiling_normalise, noise_ceiling
from crossalign.stats.clusters import cluster_test
from crossalign.stats.equivalence import double_criterion, equivalence
from crossalign.stats.multiple import fdr_bh, fwer_maxstat
from crossalign.stats.reliability import ncsnr, reliable_units
from crossalign.stats.resampling import bootstrap_indices, percentile_ci, two_factor_variance
from crossalign.viz import plot_parcels

__all__ = [  # noqa: RUF022 (grouped by topic, as in the API reference)
    # data containers and loading
    "BrainData",
    "ModelData",
    "Representations",
    "dataset_status",
    "load_array",
    "load_dataset",
    "load_parcellation",
    "load_plugins",
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
    # the engine: scores of all pairs, plans, memory budgets, the execution context
    "Context",
    "MemoryBudgetError",
    "options",
    "pairwise_scores",
    "plan_scores",
    "score",
    "score_tensor",
    "using",
    # cross-region matrices
    "PatternComparison",
    "aps_time_courses",
    "cluster_test",
    "compare_matrices",
    "lag_profiles",
    "latencies",
    "rdm_movie",
    "temporal_generalisation",
    "time_course",
    "time_courses",
    "cross_region_matrix",
    "model_cross_region_matrix",
    "model_to_brain_matrix",
    # alignment patterns and APS
    "brain_aps",
    "brain_aps_ci",
    "brain_patterns",
    "connectivity_aps",
    "model_aps",
    "model_patterns",
    # brain-predictive models
    "EncodingModel",
    "train_brain_model",
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
    # maps
    "plot_parcels",
    # errors and submodules
    "CrossalignError",
    "LongRunWarning",
    "ReliabilityWarning",
    "__version__",
    "backends",
    "distributed",
    "errors",
    "functional",
]
