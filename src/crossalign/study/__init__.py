"""Studies: a whole analysis from one config file, stored, resumable and reported.

Modules
-------
config   the study file's schema and validation (``crossalign run study.toml``)
runner   runs a study: datasets, models, blocks, the report
models   the models of a study, built from its config
blocks   the blocks a run writes, one transaction each, and their rows
resume   the resume key: a hash of every input and choice that can change a number
plan     what a study's statistics will cost, before it runs
store    the results database (DuckDB)
report   figures and the HTML report, drawn from the database
"""

from crossalign.study.blocks import summary_table
from crossalign.study.config import (
    DEMO_STUDY,
    DatasetConfig,
    ModelConfig,
    StudyConfig,
    load_study,
    parse_study,
)
from crossalign.study.runner import run_study

__all__ = [
    "DEMO_STUDY",
    "DatasetConfig",
    "ModelConfig",
    "StudyConfig",
    "load_study",
    "parse_study",
    "run_study",
    "summary_table",
]
