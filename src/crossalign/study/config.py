"""The study config: its schema, validation and path resolution (``crossalign run study.toml``).

Everything a study file can say is declared here, strictly typed (``n_bootstrap = true`` or
``1e10`` are errors, not 1 and ten billion), with names unique where results are keyed by
them. Relative paths in a study file resolve from the file's folder, not the working directory.
"""

from __future__ import annotations

import difflib
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from crossalign.config import parse_bytes
from crossalign.errors import InputError, MissingFileError
from crossalign.evaluation.protocols import CONSTRAINTS, PROTOCOLS
from crossalign.io.parcellations import PARCELLATIONS
from crossalign.metrics import get_metric
from crossalign.models.projection import PROJECTIONS
from crossalign.plugins import load_plugins
from crossalign.study.inputs import InputConfig
from crossalign.study.paths import resolve_path, resolved_options

__all__ = [
    "DEMO_STUDY",
    "DatasetConfig",
    "ModelConfig",
    "StudyConfig",
    "load_study",
    "metric_of",
    "parse_study",
]

_STRICT = ConfigDict(extra="forbid", strict=True)
Seed = Annotated[int, Field(ge=0, le=2**32 - 1)]

#: Model sources that need the dataset's stimulus images (or clips).
IMAGE_SOURCES = ("registry", "pixels", "module", "brain")
#: Model sources that read a file at ``path``.
FILE_SOURCES = ("activations", "rdms")


class ClipConfig(BaseModel):
    """How the dataset's clips are decoded for the models (:func:`crossalign.load_video`).

    Parameters
    ----------
    fps : float, optional
        Frames per second kept (``fps_mode="blend"``: blended to this rate).
    frames : int, optional
        Frames kept, uniformly (``select`` only).
    size : int, optional
        Resize every frame to size x size (FFmpeg ``scale``).
    max_frames : int, optional
        Keep the first frames only (``12`` with ``fps = 4``: the first 3 s).
    fps_mode : {"select", "blend"}
    """

    model_config = _STRICT
    fps: Annotated[float, Field(gt=0)] | None = None
    frames: Annotated[int, Field(ge=1)] | None = None
    size: Annotated[int, Field(ge=1)] | None = None
    max_frames: Annotated[int, Field(ge=1)] | None = None
    fps_mode: Literal["select", "blend"] = "select"


class DatasetConfig(BaseModel):
    """A brain dataset: a reference dataset by ``name``, or a user file (``path``).

    ``label`` names the dataset in results (default ``name``), so one reference dataset can
    run twice with different ``options``. ``regions`` selects regions (a list), or gives one
    file per region (``{EVC = "evc.npz:Net_RDM", IT = "it.npz"}``). ``stimuli`` is a folder of
    the dataset's stimulus images, matched to stimulus ids by file stem, for models that need
    images.

    Parameters
    ----------
    name : str
    label : str, optional
    options : dict
        Keyword arguments of the dataset's loader.
    path : str, optional
    regions : list or dict, optional
    stimuli : str, optional
    clips : ClipConfig, optional
        How the dataset's clips are decoded for every model (a model's own ``frames``
        overrides the frame sampling).
    parcellation : str, optional
        The parcellation whose parcels are this dataset's regions (``"hcp_mmp1"`` or a
        parcellation file): the regions must be its parcels, and with 20 or more the report
        draws cortex maps. A loader's ``parcellation`` option counts as well.
    """

    model_config = _STRICT
    name: str = Field(min_length=1)
    label: str | None = Field(None, min_length=1)
    options: dict[str, Any] = Field(default_factory=dict)
    path: str | None = None
    regions: Annotated[list[str], Field(min_length=1)] | dict[str, str] | None = None
    stimuli: str | None = None
    clips: ClipConfig | None = None
    parcellation: str | None = Field(None, min_length=1)

    @property
    def key(self) -> str:
        """The name this dataset carries in results (its ``label``, else its ``name``)."""
        return self.label or self.name

    @model_validator(mode="after")
    def _one_source(self) -> DatasetConfig:
        if isinstance(self.regions, dict) and self.path is not None:
            raise ValueError(
                "give either 'path' (one file) or 'regions' as {region = 'file[:variable]'} "
                "(one file per region), not both"
            )
        if isinstance(self.regions, dict) and not self.regions:
            raise ValueError("'regions' needs at least one region")
        return self


class EncodingConfig(BaseModel):
    """How a ``source = "encoding"`` model is fitted (:class:`crossalign.EncodingModel`): on
    the study's training stimuli, never on a test stimulus.

    Parameters
    ----------
    cv : int
        Folds of the penalty choice.
    seed : int
    subjects : {"others", "each"}
        Per scored subject a model fitted on the other subjects' mean response (default:
        never on the subject it is scored on), or on the subject's own responses.
    refit : bool
        One ridge on all training stimuli, or predictivity's fold models.
    layers : list of str, optional
        Candidate layers of the backbone (default all).
    """

    model_config = _STRICT
    cv: Annotated[int, Field(ge=2)] = 5
    seed: Seed = 0
    subjects: Literal["others", "each"] = "others"
    refit: bool = True
    layers: list[str] | None = None


class ModelConfig(BaseModel):
    """A model. ``source``: ``registry`` (``model`` name, e.g. efficientnet_lite0 or
    timm:resnet18), ``predictors`` (the dataset's hand-built model RDMs), ``pixels`` (a
    pixel-space model of the stimulus images), ``activations`` (precomputed activations at
    ``path``), ``rdms`` (model RDMs at ``path``: one square array per layer), or ``module``
    (``"package.module:factory"``, needs --allow-user-modules), ``encoding`` (a
    brain-predictive model: ridge encoding models from the features of ``model`` or of the
    activations at ``path``, fitted on the training stimuli, settings in ``encoding``) or
    ``brain`` (a network trained on brain data, the weights file at ``path``, from
    :func:`crossalign.train_brain_model`). ``datasets`` limits the model
    to the datasets with these names or labels. ``projection`` reduces extracted layers with a
    seeded sparse random projection (a dimension, ``"auto"`` for the Johnson-Lindenstrauss
    dimension, ``"hoefling2026"`` for the paper's projection fitted on the study's training
    stimuli, ``"none"``; default: the study protocol's). On clips, ``frames`` are sampled
    from each clip (default: a video model's own count, all frames for an image model) and an
    image model's frame features are aggregated by ``temporal``. ``weights`` loads your own
    state dict into a registry architecture; ``family`` and ``training_data`` describe the
    model in the report.

    Parameters
    ----------
    name : str
    source : {"registry", "predictors", "pixels", "activations", "rdms", "module"}
    model : str, optional
    pretrained : bool
    seed : int
        Initialisation seed of an untrained model.
    path : str, optional
    module : str, optional
    layers : list of str or str, optional
        Names or glob patterns.
    pool : {"flatten", "avg"}
    projection : int, "auto", "hoefling2026" or "none", optional
    frames : int, optional
    temporal : {"mean", "max", "middle", "concat", "none"}
    weights : str, optional
    paradigm, family, training_data : str, optional
    datasets : list of str, optional
    encoding : EncodingConfig, optional
        The fit of a ``source = "encoding"`` model.
    input : InputConfig, optional
        Replaces a registry model's preprocessing, field by field.
    """

    model_config = _STRICT
    name: str = Field(min_length=1)
    source: Literal[
        "registry", "predictors", "pixels", "activations", "rdms", "module", "encoding", "brain"
    ] = "registry"
    model: str | None = None
    pretrained: bool = True
    seed: Seed = 0
    path: str | None = None
    module: str | None = None
    layers: list[str] | str | None = None
    pool: Literal["flatten", "avg"] = "flatten"
    projection: Annotated[int, Field(ge=1)] | str | None = None
    frames: Annotated[int, Field(ge=1)] | None = None
    temporal: Literal["mean", "max", "middle", "concat", "none"] = "mean"
    weights: str | None = None
    paradigm: str | None = None
    family: str | None = None
    training_data: str | None = None
    datasets: list[str] | None = None
    encoding: EncodingConfig | None = None
    input: InputConfig | None = None

    @field_validator("projection")
    @classmethod
    def _known_projection(cls, value: int | str | None) -> int | str | None:
        if isinstance(value, str) and value != "none":
            PROJECTIONS.get(value)  # raises with the valid names and the closest match
        return value

    @model_validator(mode="after")
    def _source_needs(self) -> ModelConfig:
        if self.source in FILE_SOURCES and not self.path:
            raise ValueError(f"source {self.source!r} needs a 'path'")
        if self.source == "module" and not self.module:
            raise ValueError("source 'module' needs 'module = \"package.module:factory\"'")
        if self.source == "brain" and not self.path:
            raise ValueError("source 'brain' needs a 'path' (a file from train_brain_model)")
        if self.source == "encoding" and not (self.model or self.path):
            raise ValueError(
                "source 'encoding' needs the backbone: 'model' (a registry model) or 'path' "
                "(its activations)"
            )
        if self.encoding is not None and self.source != "encoding":
            raise ValueError("'encoding' settings apply to source = \"encoding\" only")
        if self.input is not None and self.source not in ("registry", "encoding"):
            raise ValueError(
                "'input' replaces a registry model's preprocessing: it applies to source = "
                f'"registry" (or "encoding" with a \'model\'), not {self.source!r}'
            )
        return self

    def relevant(self) -> dict[str, Any]:
        """The fields that apply to this model's source (what the report shows)."""
        keep = {"name", "source", "paradigm", "family", "training_data", "datasets"}
        keep |= _SOURCE_FIELDS[self.source]
        return {k: v for k, v in self.model_dump().items() if k in keep and v is not None}


_SOURCE_FIELDS: dict[str, set[str]] = {
    "registry": {
        "model",
        "pretrained",
        "seed",
        "layers",
        "pool",
        "projection",
        "frames",
        "temporal",
        "input",
    },
    "module": {"module", "layers", "pool", "projection", "frames", "temporal"},
    "pixels": set(),
    "predictors": set(),
    "activations": {"path", "layers"},
    "rdms": {"path", "layers"},
    "encoding": {"model", "path", "pretrained", "seed", "layers", "pool", "encoding", "input"},
    "brain": {"path", "layers", "pool"},
}


class ConnectivityConfig(BaseModel):
    """A region x region connectivity file (e.g. tractography streamline densities) whose
    patterns the brain's and every model's alignment patterns are compared with
    (:func:`crossalign.connectivity_aps`).

    Parameters
    ----------
    name : str
        How results and the report name it.
    path : str
        ``.npy``, ``.npz``, ``.csv`` or ``.mat`` (:func:`crossalign.io.load_connectivity`).
    regions : list of str, optional
        Region names of a file without them.
    variable : str, optional
        The array's name in an ``.npz`` or ``.mat`` file.
    datasets : list of str, optional
        The datasets (names or labels) it applies to (default: all).
    similarity : str, optional
        How patterns are compared (default: the study's).
    n_random : int
        Random connectivity matrices for the null (0: none).
    """

    model_config = _STRICT
    name: str = Field(min_length=1)
    path: str = Field(min_length=1)
    regions: list[str] | None = None
    variable: str | None = None
    datasets: list[str] | None = None
    similarity: str | None = None
    n_random: int = Field(1000, ge=0)

    @field_validator("similarity")
    @classmethod
    def _known_similarity(cls, value: str | None) -> str | None:
        if value is not None:
            CONSTRAINTS["similarity"].validate("similarity", value)
        return value


@dataclass(frozen=True)
class Scoring:
    """One metric evaluated on one outcome; ``label`` names its results (the metric's label,
    with ``[outcome]`` for a normalised outcome).

    Parameters
    ----------
    metric : Metric
    outcome : str
    """

    metric: Any
    outcome: str = "score"

    @property
    def label(self) -> str:
        """The results' metric label."""
        if self.outcome == "score":
            return str(self.metric.label)
        return f"{self.metric.label} [{self.outcome}]"


def _check_entries(table: str, entries: list[Any], keys: list[str]) -> None:
    """Names used once in a table, and every dataset an entry names exists."""
    names = [e.name for e in entries]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ValueError(f"{table}: the name(s) {twice} appear more than once")
    for e in entries:
        unknown = sorted(set(e.datasets or []) - set(keys))
        if unknown:
            raise ValueError(
                f"{table}.{e.name}.datasets names {unknown}, which no dataset has as its name "
                f"or label; the datasets are {keys}"
            )


class StudyConfig(BaseModel):
    """A whole study: datasets, models, metrics, the split and the inference settings.

    Parameters
    ----------
    name : str
    datasets : list of DatasetConfig
    models : list of ModelConfig
    models_file : str, optional
        A TOML file of further models.
    protocol : str
        An evaluation protocol (``crossalign``, ``hoefling2026``). It owns every choice the
        study leaves unset (see :meth:`effective_choices`).
    metrics : list of str or dict, optional
        Metric names, or tables with a ``name`` and the metric's parameters (default: the
        protocol's metric). A list without the protocol's metric is an override of a protocol
        named in the file: warned about and shown in the report (:meth:`overrides`).
    rdm : str, optional
        The RDM distance (default: the protocol's); ``cv_euclidean`` or ``crossnobis`` need
        brain data with repetitions (models use the noiseless limit).
    outcome : str or list of str, optional
        What evaluations are computed on (default: the protocol's, the raw ``score``):
        ``score``, ``norm_upper`` or ``norm_lower`` (the score over the per-subject upper or
        lower noise ceiling); a list runs each, in that order, and labels the results of a
        normalised outcome ``"<metric> [<outcome>]"`` (the ``outcome`` column says which).
    partners : "all" or int, optional
        Partner subjects per target subject in the lower ceilings and the brain's patterns.
    similarity : str, optional
        How alignment patterns are compared (pearson, spearman, cosine, mse, mae, r2).
    connectivity : list of ConnectivityConfig
        Connectivity matrices to compare the brain's and the models' patterns with.
    test_fraction : float
    seed : int
    n_bootstrap : int
    n_permutations : int
    batch_size : int
    cache_dir : str, optional
    memory_budget : str, optional
        E.g. ``"8GB"`` (default: 80% of the available memory).
    """

    model_config = _STRICT
    name: str = Field("study", min_length=1)
    datasets: list[DatasetConfig] = Field(min_length=1)
    models: list[ModelConfig] = Field(default_factory=list)
    models_file: str | None = None
    protocol: str = "crossalign"
    metrics: list[str | dict[str, Any]] | None = Field(None, min_length=1)
    rdm: str | None = None
    outcome: str | Annotated[list[str], Field(min_length=1)] | None = None
    partners: int | str | None = None
    similarity: str | None = None
    connectivity: list[ConnectivityConfig] = Field(default_factory=list)
    test_fraction: float = Field(0.5, gt=0.0, lt=1.0)
    seed: Seed = 0
    n_bootstrap: int = Field(1000, ge=0)
    n_permutations: int = Field(1000, ge=1)
    batch_size: int = Field(32, ge=1)
    cache_dir: str | None = None
    memory_budget: str | None = None  # e.g. "8GB"; default 80% of the available memory

    @field_validator("memory_budget")
    @classmethod
    def _valid_budget(cls, value: str | None) -> str | None:
        if value is not None:
            parse_bytes(value)
        return value

    @field_validator("protocol")
    @classmethod
    def _known_protocol(cls, value: str) -> str:
        PROTOCOLS.get(value)  # raises with the valid names and the closest match
        return value

    @field_validator("rdm", "similarity", "outcome", "partners")
    @classmethod
    def _evaluation_choice(cls, value: Any, info: ValidationInfo) -> Any:
        """The evaluation's choices are checked as the evaluation declares them."""
        name = str(info.field_name)
        for each in value if isinstance(value, list) else [] if value is None else [value]:
            CONSTRAINTS[name].validate(name, each)
        return value

    @field_validator("metrics")
    @classmethod
    def _known_metrics(
        cls, value: list[str | dict[str, Any]] | None
    ) -> list[str | dict[str, Any]] | None:
        if value is None:
            return value
        labels = [metric_of(entry).label for entry in value]  # raises naming the problem
        if len(set(labels)) != len(labels):
            raise ValueError(f"names a metric twice: {labels}")
        return value

    def metric_objects(self) -> list[Any]:
        """The study's metrics, built with their parameters (the protocol's when unset).

        Returns
        -------
        list of Metric
        """
        if self.metrics is None:
            return [get_metric(PROTOCOLS.get(self.protocol).metric)]
        return [metric_of(entry) for entry in self.metrics]

    def outcomes(self) -> list[str]:
        """The outcomes the study runs, in order (the protocol's when unset).

        Returns
        -------
        list of str
        """
        if self.outcome is None:
            return [PROTOCOLS.get(self.protocol).outcome]
        return [self.outcome] if isinstance(self.outcome, str) else list(self.outcome)

    def scorings(self) -> list[Scoring]:
        """Every (metric, outcome) the study evaluates, labelled as its results are.

        Returns
        -------
        list of Scoring
        """
        return [Scoring(m, o) for m in self.metric_objects() for o in self.outcomes()]

    def evaluation_choices(self) -> dict[str, Any]:
        """The evaluation options the study sets beyond its protocol and metrics.

        Returns
        -------
        dict
        """
        chosen = {"partners": self.partners, "similarity": self.similarity}
        return {k: v for k, v in chosen.items() if v is not None}

    def effective_choices(self) -> dict[str, Any]:
        """Every choice the study's evaluations make: the protocol's, with the study's metrics.

        Returns
        -------
        dict
            ``protocol``, ``metrics`` (labels) and each choice of
            :class:`~crossalign.evaluation.protocols.Protocol`.
        """
        protocol = PROTOCOLS.get(self.protocol)
        return {
            "protocol": protocol.name,
            "metrics": [m.label for m in self.metric_objects()],
            **protocol.choices(),
            "rdm": self.rdm or protocol.rdm,
            "projection": protocol.projection,
            **self.evaluation_choices(),
            "outcome": self.outcomes(),
        }

    def overrides(self) -> list[str]:
        """The choices this study sets against the protocol it names (empty when the file
        names no protocol): each is warned about when the study runs and listed in the report.

        Returns
        -------
        list of str
        """
        if "protocol" not in self.model_fields_set:
            return []
        protocol = PROTOCOLS.get(self.protocol)
        out = []
        used = [m.name for m in self.metric_objects()]
        if protocol.metric not in used:
            out.append(
                f"metrics = {[m.label for m in self.metric_objects()]} where protocol "
                f"{protocol.name!r} scores with {protocol.metric!r}"
            )
        if self.rdm is not None and self.rdm != protocol.rdm:
            out.append(f"rdm = {self.rdm!r} where protocol {protocol.name!r} uses {protocol.rdm!r}")
        for m in self.models:
            if m.projection is not None and m.projection != (protocol.projection or "none"):
                out.append(
                    f"model {m.name!r}: projection = {m.projection!r} where protocol "
                    f"{protocol.name!r} uses {protocol.projection!r}"
                )
        return out

    @model_validator(mode="after")
    def _unique_names(self) -> StudyConfig:
        keys = [d.key for d in self.datasets]
        twice = sorted({k for k in keys if keys.count(k) > 1})
        if twice:
            raise ValueError(
                f"datasets: {twice} appear more than once; results are keyed by dataset, so "
                "give each entry a distinct 'label' (e.g. label = \"castaldi-num\")"
            )
        for table, entries in (("models", self.models), ("connectivity", self.connectivity)):
            _check_entries(table, entries, keys)
        return self

    def resolve_paths(self, base: Path) -> StudyConfig:
        """A copy with every relative path made absolute against ``base`` (the study file's
        folder): dataset files, stimulus folders, region files, the ``parcellation`` field
        and every loader option that names a file or folder, model files and weights, the
        cache folder and the models file (see :func:`resolve_path`).

        Parameters
        ----------
        base : Path

        Returns
        -------
        StudyConfig
        """

        def fix(value: str | None) -> str | None:
            return None if value is None else resolve_path(value, base)

        datasets = [
            d.model_copy(
                update={
                    "path": fix(d.path),
                    "stimuli": fix(d.stimuli),
                    "parcellation": resolve_path(d.parcellation, base, names=PARCELLATIONS)
                    if d.parcellation is not None
                    else None,
                    "options": resolved_options(d.name, d.options, base),
                    "regions": {r: fix(v) for r, v in d.regions.items()}
                    if isinstance(d.regions, dict)
                    else d.regions,
                }
            )
            for d in self.datasets
        ]
        models = [
            m.model_copy(update={"path": fix(m.path), "weights": fix(m.weights)})
            for m in self.models
        ]
        connectivity = [c.model_copy(update={"path": fix(c.path)}) for c in self.connectivity]
        return self.model_copy(
            update={
                "datasets": datasets,
                "models": models,
                "connectivity": connectivity,
                "cache_dir": fix(self.cache_dir),
                "models_file": fix(self.models_file),
            }
        )


DEMO_STUDY: dict[str, Any] = {
    "name": "demo",
    "datasets": [
        {"name": "cichy2014"},
        {"name": "castaldi2019", "options": {"task": "both"}},
    ],
    "models": [
        {
            "name": "EfficientNet-Lite0",
            "model": "efficientnet_lite0",
            "paradigm": "supervised",
            "family": "EfficientNet-Lite",
        },
        {
            "name": "EfficientNet-Lite0 untrained",
            "model": "efficientnet_lite0",
            "pretrained": False,
            "seed": 0,
            "paradigm": "untrained",
            "family": "EfficientNet-Lite",
        },
        *(
            entry
            for k in (1, 2)
            for entry in (
                {
                    "name": f"EfficientNet-Lite{k}",
                    "model": f"efficientnet_lite{k}",
                    "paradigm": "supervised",
                    "family": "EfficientNet-Lite",
                },
                {
                    "name": f"EfficientNet-Lite{k} untrained",
                    "model": f"efficientnet_lite{k}",
                    "pretrained": False,
                    "seed": 0,
                    "paradigm": "untrained",
                    "family": "EfficientNet-Lite",
                },
            )
        ),
        {"name": "pixels", "source": "pixels", "paradigm": "hand-built"},
        {
            "name": "Castaldi predictors",
            "source": "predictors",
            "paradigm": "hand-built",
            "datasets": ["castaldi2019"],
        },
    ],
    "metrics": ["spearman"],
    "n_bootstrap": 1000,
}


def metric_of(entry: str | dict[str, Any]) -> Any:
    """The metric a study's ``metrics`` entry names: a registered name, or a table with a
    ``name`` and the metric's typed parameters (``{name = "mutual_knn", k = 5}``).

    Parameters
    ----------
    entry : str or dict

    Returns
    -------
    Metric

    Raises
    ------
    ValueError
        For an unknown metric or parameter, or a value the metric refuses.
    """
    if isinstance(entry, str):
        return get_metric(entry)
    if "name" not in entry or not isinstance(entry["name"], str):
        raise ValueError(f"a metric table needs a 'name' (a registered metric). Got {entry!r}.")
    parameters = {k: v for k, v in entry.items() if k != "name"}
    return get_metric(entry["name"], **parameters)


def load_study(path: str | Path) -> StudyConfig:
    """Read and validate a TOML study file; relative paths in it resolve from its folder.

    Parameters
    ----------
    path : str or Path
        The study file.

    Returns
    -------
    StudyConfig

    Raises
    ------
    MissingFileError
        The file does not exist.
    InputError
        The file is not valid TOML or not a valid study (every problem is named by field).
    """
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(f"The study file '{path}' does not exist.")
    try:
        raw = tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"The study file '{path}' is not valid TOML: {exc}") from None
    base = path.resolve().parent
    return parse_study(raw, where=str(path), base=base).resolve_paths(base)


def _with_models_file(raw: dict[str, Any], base: Path | None) -> dict[str, Any]:
    """The config with the models of its ``models_file`` (a TOML file of ``[[models]]``
    entries, paths in it relative to itself) added after its own."""
    name = raw.get("models_file")
    if not isinstance(name, str):
        return raw
    path = Path(name) if base is None or Path(name).is_absolute() else base / name
    if not path.is_file():
        raise MissingFileError(f"The models file '{path}' (models_file) does not exist.")
    try:
        content = tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"The models file '{path}' is not valid TOML: {exc}") from None
    unknown = sorted(set(content) - {"models"})
    if unknown:
        raise InputError(
            f"The models file '{path}' has the unknown key(s) {unknown}"
            f"{_closest(unknown, ['models'])}; it holds [[models]] tables only."
        )
    listed = content.get("models", [])
    if not isinstance(listed, list) or not listed:
        raise InputError(f"The models file '{path}' must hold [[models]] entries; it has none.")
    for entry in listed:
        for key in ("path", "weights"):
            if isinstance(entry, dict) and isinstance(entry.get(key), str):
                entry[key] = resolve_path(entry[key], path.parent)
    return {**raw, "models": [*raw.get("models", []), *listed], "models_file": str(path)}


def parse_study(
    raw: dict[str, Any], where: str = "the study config", base: Path | None = None
) -> StudyConfig:
    """Validate a study given as a dict (the parsed TOML).

    Parameters
    ----------
    raw : dict
        The config.
    where : str
        How error messages name the config.
    base : Path, optional
        The folder relative paths resolve from (the ``models_file`` among them); default the
        working directory.

    Returns
    -------
    StudyConfig

    Raises
    ------
    InputError
        Listing every problem by field.
    """
    load_plugins()  # models, metrics and datasets of installed plugins can be named
    try:
        return StudyConfig.model_validate(_with_models_file(raw, base))
    except ValidationError as exc:
        problems = "; ".join(_problem(e) for e in exc.errors())
        raise InputError(f"In {where}: {problems}") from None


def _problem(error: Any) -> str:
    """One validation problem, by field; an unknown key names the closest valid one."""
    loc = [str(p) for p in error["loc"]]
    text = f"{'.'.join(loc) or '(top level)'}: {error['msg']}"
    if error["type"] == "extra_forbidden":
        tables: dict[str, type[BaseModel]] = {"datasets": DatasetConfig, "models": ModelConfig}
        fields = tables.get(loc[0], StudyConfig).model_fields
        text += _closest(loc[-1:], list(fields))
    return text


def _closest(unknown: list[str], valid: list[str]) -> str:
    """`` (did you mean 'x'?)`` for the first unknown name with a close valid one."""
    for name in unknown:
        match = difflib.get_close_matches(name, valid, n=1)
        if match:
            return f" (did you mean {match[0]!r}?)"
    return f" (valid: {sorted(valid)})"
