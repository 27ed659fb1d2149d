"""Deprecated alias of :mod:`crossalign.functional` (the function-level API), kept so that
``from crossalign.skill import compute_rdm`` goes on working."""

import warnings

from .functional import *  # noqa: F403
from .functional import __all__  # noqa: F401

warnings.warn(
    "crossalign.skill is now crossalign.functional; import from there.",
    DeprecationWarning,
    stacklevel=2,
)
