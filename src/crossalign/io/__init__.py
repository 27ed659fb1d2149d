"""Data in: safe array loading, loaders for lab formats, and the reference datasets."""

from crossalign.io.arrays import load_array
from crossalign.io.connectivity import load_connectivity
from crossalign.io.datasets import DATASETS, dataset_status, load_dataset
from crossalign.io.epochs import from_epochs, from_temporal_dataset
from crossalign.io.loaders import load_activations, load_arrays, load_region_files, load_table
from crossalign.io.nifti import load_nifti
from crossalign.io.nwb import load_nwb
from crossalign.io.parcellations import Parcellation, load_parcellation
from crossalign.io.pickles import load_pickle
from crossalign.io.rdm_files import load_matlab_rdms, load_rsatoolbox_rdms
from crossalign.io.xarray_files import load_xarray, save_xarray

__all__ = [
    "DATASETS",
    "Parcellation",
    "dataset_status",
    "from_epochs",
    "from_temporal_dataset",
    "load_activations",
    "load_array",
    "load_arrays",
    "load_connectivity",
    "load_dataset",
    "load_matlab_rdms",
    "load_nifti",
    "load_nwb",
    "load_parcellation",
    "load_pickle",
    "load_region_files",
    "load_rsatoolbox_rdms",
    "load_table",
    "load_xarray",
    "save_xarray",
]
