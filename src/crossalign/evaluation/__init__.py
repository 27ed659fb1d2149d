"""The evaluation of a model against a brain dataset, and what is built on it.

Modules
-------
state         the fitted state: labels, split, chosen layers, test tensors, per-subject values
core          :class:`Evaluation`: fitting (protocol options, split, layer selection, scoring)
resampling    bootstraps, permutation nulls and paired comparisons of evaluations
persistence   an evaluation as a labelled Dataset and on disk
evaluate      one-call evaluations: ``evaluate_model``, ``model_aps``, the APS permutation test
protocols     named sets of every choice an evaluation makes
summaries     the leaderboard and the paradigm summary over evaluations
sensitivity   the same analysis under several metrics
"""

from crossalign.evaluation.core import Evaluation
from crossalign.evaluation.evaluate import aps_permutation_test, evaluate_model, model_aps
from crossalign.evaluation.protocols import BOOTSTRAPS, PROTOCOLS, Protocol, get_protocol
from crossalign.evaluation.summaries import leaderboard, paradigm_summary

__all__ = [
    "BOOTSTRAPS",
    "PROTOCOLS",
    "Evaluation",
    "Protocol",
    "aps_permutation_test",
    "evaluate_model",
    "get_protocol",
    "leaderboard",
    "model_aps",
    "paradigm_summary",
]
