"""Models in: feature extraction from PyTorch models, model adapters, stimulus loading.

Needs the ``torch`` extra (``pip install 'crossalign[torch]'``); importing crossalign itself
never imports torch.
"""

from crossalign.models.adapters import ModelAdapter
from crossalign.models.brain_trained import load_brain_model
from crossalign.models.cache import ActivationCache
from crossalign.models.extract import ClipSampling, extract, list_layers, select_layers
from crossalign.models.projection import (
    PROJECTIONS,
    jl_dimension,
    paper_projection,
    sparse_projection,
)
from crossalign.models.sources import MODELS, as_adapter, load_model
from crossalign.models.stimuli import IMAGENET, Preprocess, StimulusSet, resolve_stimuli
from crossalign.models.video import Frames, load_video

__all__ = [
    "IMAGENET",
    "MODELS",
    "PROJECTIONS",
    "ActivationCache",
    "ClipSampling",
    "Frames",
    "ModelAdapter",
    "Preprocess",
    "StimulusSet",
    "as_adapter",
    "extract",
    "jl_dimension",
    "list_layers",
    "load_brain_model",
    "load_model",
    "load_video",
    "paper_projection",
    "resolve_stimuli",
    "select_layers",
    "sparse_projection",
]
