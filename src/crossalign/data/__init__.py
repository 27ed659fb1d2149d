"""Data: labelled containers of brain and model representations, and what builds them.

Modules
-------
representations  the base container: entries indexed by (source, area), one stimulus index
containers       BrainData (subject x region) and ModelData (model x layer)
construct        turning user arrays into entries (ids, repeats, RDM stacks, missing cells)
rdm_cache        RDM vectors already computed for a container, reused
conversions      containers as xarray Datasets and back, in memory
labels           labels between Python, NumPy, xarray and JSON, with their types kept
"""

from crossalign.data.containers import BrainData, ModelData
from crossalign.data.representations import EntryBlock, Representations, match_stimuli

__all__ = ["BrainData", "EntryBlock", "ModelData", "Representations", "match_stimuli"]
