"""Models in: feature extraction from PyTorch models, model adapters, stimulus loading.

Needs the ``torch`` extra (``pip install 'crossalign[torch]'``); importing crossalign itself
never imports torch.
"""

from .adapters import MODELS, ModelAdapter, as_adapter, load_model
from .cache import ActivationCache
from .extract import extract, list_layers, select_layers, sparse_projection
from .stimuli import IMAGENET, Preprocess, StimulusSet, resolve_stimuli
from .video import Frames, load_video

__all__ = [
    "IMAGENET",
    "MODELS",
    "ActivationCache",
    "Frames",
    "ModelAdapter",
    "Preprocess",
    "StimulusSet",
    "as_adapter",
    "extract",
    "list_layers",
    "load_model",
    "load_video",
    "resolve_stimuli",
    "select_layers",
    "sparse_projection",
]
