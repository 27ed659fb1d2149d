"""Analyses on score tensors: cross-region matrices, alignment patterns and APS, layer
selection and stimulus splits.

Modules
-------
patterns   cross-region alignment matrices (brain, model, model-to-brain) and their comparison
aps        alignment patterns and the alignment pattern score (brain and model kernels)
layers     layer-to-region assignment on training stimuli
splits     train/test splits of stimuli
"""

from crossalign.analysis.aps import (
    brain_aps,
    brain_aps_ci,
    brain_patterns,
    model_patterns,
)
from crossalign.analysis.layers import assign_layers, layer_scores, select_layers
from crossalign.analysis.patterns import (
    PatternComparison,
    compare_matrices,
    cross_region_matrix,
    model_cross_region_matrix,
    model_to_brain_matrix,
)
from crossalign.analysis.splits import split_stimuli

__all__ = [
    "PatternComparison",
    "assign_layers",
    "brain_aps",
    "brain_aps_ci",
    "brain_patterns",
    "compare_matrices",
    "cross_region_matrix",
    "layer_scores",
    "model_cross_region_matrix",
    "model_patterns",
    "model_to_brain_matrix",
    "select_layers",
    "split_stimuli",
]
