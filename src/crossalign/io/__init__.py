"""Data in: array files and the reference datasets."""

from .arrays import load_array
from .datasets import DATASETS, dataset_status, load_dataset

__all__ = ["DATASETS", "dataset_status", "load_array", "load_dataset"]
