"""Data in: safe array loading, loaders for lab formats, and the reference datasets."""

from .arrays import load_array
from .datasets import DATASETS, dataset_status, load_dataset
from .loaders import (
    load_activations,
    load_arrays,
    load_nifti,
    load_nwb,
    load_region_files,
    load_table,
    load_xarray,
    save_xarray,
)
from .pickles import load_pickle
from .rdm_files import load_matlab_rdms, load_rsatoolbox_rdms

__all__ = [
    "DATASETS",
    "dataset_status",
    "load_activations",
    "load_array",
    "load_arrays",
    "load_dataset",
    "load_matlab_rdms",
    "load_nifti",
    "load_nwb",
    "load_pickle",
    "load_region_files",
    "load_rsatoolbox_rdms",
    "load_table",
    "load_xarray",
    "save_xarray",
]
