"""Feature extraction from PyTorch models via forward hooks.

Images are preprocessed with the model's own configuration, run in batches under
``torch.inference_mode()``, and each selected layer's output is captured by a forward hook,
pooled (``flatten`` or global average pool ``avg``) and optionally reduced by a sparse random
projection (Li, Hastie & Church 2006, KDD; as used by the APA paper for very large layers).
When one stimulus id has several images (e.g. exemplars of a condition), their activations are
averaged. Results are cached on disk per layer (see :mod:`crossalign.models.cache`).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from rich.progress import Progress

from crossalign._faults import checkpoint
from crossalign._validation import check_option
from crossalign.config import MemoryBudgetError, get_option
from crossalign.data.containers import ModelData
from crossalign.errors import InputError, InputTypeError
from crossalign.models.adapters import ModelAdapter
from crossalign.models.cache import ActivationCache
from crossalign.models.pooling import POOLS, aggregate_frames, pool_output
from crossalign.models.projection import ProjectionSetting
from crossalign.models.sources import as_adapter
from crossalign.models.stimuli import StimulusSet, resolve_stimuli
from crossalign.models.video import check_sampling, is_clip, load_video

__all__ = [
    "ClipSampling",
    "extract",
    "extraction_bytes",
    "list_layers",
    "match_layers",
    "select_layers",
]

Pool = Literal["flatten", "avg", "spatial", "temporal", "cls"]


def list_layers(model: Any) -> list[str]:
    """Every named layer of the model (torch modules), in definition order.

    Parameters
    ----------
    model : torch.nn.Module, ModelAdapter or str
        The model (a registered name is built first).

    Returns
    -------
    list of str
        Layer names usable in ``layers=`` (globs allowed there).
    """
    return as_adapter(model).layer_names()


def _glob_regex(pattern: str) -> re.Pattern[str]:
    """Layer-name globbing, as for paths with ``.`` as the separator: ``*`` and ``?`` stay
    within one name part, ``**`` crosses parts, ``[...]`` is a character class."""
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append(r"[^.]*")
            i += 1
        elif pattern[i] == "?":
            out.append(r"[^.]")
            i += 1
        elif pattern[i] == "[" and "]" in pattern[i + 2 :]:
            j = pattern.index("]", i + 2)
            body = pattern[i + 1 : j]
            out.append("[" + ("^" + body[1:] if body.startswith("!") else body) + "]")
            i = j + 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out) + r"\Z")


def match_layers(pattern: str, names: Sequence[str]) -> list[str]:
    """The names matching a layer glob: ``"_blocks.*"`` is every direct child of
    ``_blocks`` (not their sub-modules); ``"_blocks.**"`` is everything below it.

    Parameters
    ----------
    pattern : str
    names : sequence of str

    Returns
    -------
    list of str
    """
    regex = _glob_regex(pattern)
    return [n for n in names if regex.match(n)]


def select_layers(adapter: ModelAdapter, layers: str | Sequence[str] | None) -> list[str]:
    """Resolve names and glob patterns (``"_blocks.*"``: the direct children of ``_blocks``;
    ``**`` also matches dots) to layer names; unknown names fail listing the available ones,
    closest match first.

    Parameters
    ----------
    adapter : ModelAdapter
    layers : str or sequence of str, optional
        Names or glob patterns (default: the adapter's default layers).

    Returns
    -------
    list of str
    """
    available = adapter.layer_names()
    if layers is None:
        return list(adapter.default_layers) or available
    patterns = [layers] if isinstance(layers, str) else list(layers)
    chosen: list[str] = []
    for pattern in patterns:
        if any(ch in pattern for ch in "*?["):
            matches = match_layers(pattern, available)
            if not matches:
                raise InputError(
                    f"The layer pattern {pattern!r} matches no layer of {adapter.name!r}."
                    f" Available layers: {_by_closeness(pattern, available)}"
                )
            chosen.extend(m for m in matches if m not in chosen)
        elif pattern in available:
            if pattern not in chosen:
                chosen.append(pattern)
        else:
            raise InputError(
                f"Unknown layer {pattern!r} for model {adapter.name!r}. Available layers "
                f"(closest first): {_by_closeness(pattern, available)}"
            )
    return chosen


def _by_closeness(name: str, options: list[str], limit: int = 25) -> str:
    ranked = sorted(options, key=lambda o: -difflib.SequenceMatcher(None, name, o).ratio())
    text = ", ".join(repr(o) for o in ranked[:limit])
    return text + (f", ... ({len(options)} in all)" if len(options) > limit else "")


@dataclass(frozen=True)
class ClipSampling:
    """How clips are decoded beyond which frames are kept (:func:`crossalign.load_video`):
    a resize, a cap on the frame count, and how a frame rate is reached.

    Parameters
    ----------
    size : int or (width, height), optional
        FFmpeg ``scale`` to this size.
    max_frames : int, optional
        Keep the first frames only.
    fps_mode : {"select", "blend"}
        Keep source frames, or blend them with FFmpeg's ``framerate`` filter.
    """

    size: int | tuple[int, int] | None = None
    max_frames: int | None = None
    fps_mode: str = "select"

    def key(self) -> list[Any]:
        """The settings as plain data (part of the activation cache's key).

        Returns
        -------
        list
        """
        return [self.size, self.max_frames, self.fps_mode]


@dataclass(frozen=True)
class _Setting:
    """How one extraction runs: everything that decides the activations (and keys the
    cache), besides the model and the stimuli."""

    pool: str
    frames: int | None
    fps: float | None
    temporal: str
    projection: ProjectionSetting
    dtype: str
    clip: ClipSampling = ClipSampling()

    def key(self) -> dict[str, Any]:
        sampling: list[Any] = [self.frames, self.fps, self.temporal]
        if self.clip != ClipSampling():  # keys of the default sampling stay as they were
            sampling.append(self.clip.key())
        return {
            "pool": self.pool,
            "clip": sampling,
            "projection": self.projection.key(),
            "dtype": self.dtype,
        }


def extract(
    model: Any,
    stimuli: Any,
    layers: str | Sequence[str] | None = None,
    pool: Pool = "flatten",
    batch_size: int = 32,
    *,
    frames: int | None = None,
    fps: float | None = None,
    clip: ClipSampling | None = None,
    temporal: str = "mean",
    projection: int | str | None = None,
    projection_seed: int | None = None,
    projection_fit: Sequence[Hashable] | None = None,
    dtype: str = "float32",
    stimulus_ids: Sequence[Hashable] | None = None,
    cache: bool | str | ActivationCache = True,
    progress: bool = True,
    device: str | None = None,
) -> ModelData:
    """Activations of ``model`` at ``layers`` for ``stimuli``: a :class:`ModelData`
    (model, layer) x (stimulus, unit).

    Parameters
    ----------
    model
        A registered name, a :class:`ModelAdapter` from :func:`load_model`, a
        ``torch.nn.Module`` (ImageNet preprocessing unless wrapped with :func:`as_adapter`), or
        a callable returning ``{layer: array}`` for a list of stimuli.
    stimuli
        Images or clips: paths (image files, video files, folders of frames), an array of
        images (N, H, W[, C]) or clips (N, T, H, W, 3), ``{id: [paths]}``, or a dataset from
        ``load_dataset``.
    layers
        Names or glob patterns (``*`` stays within a name part, ``**`` crosses dots); default:
        the adapter's default layers.
    pool
        ``flatten``, ``avg``, ``spatial``, ``temporal`` or ``cls``: see
        :mod:`crossalign.models.pooling` for each output shape.
    batch_size
        Stimuli per forward pass.
    frames, fps
        Frames sampled from each clip (:func:`crossalign.load_video`); default: a video
        model's own frame count, all frames for an image model.
    clip
        How clips are decoded beyond that (:class:`ClipSampling`: resize, frame cap, frame
        blending), e.g. BOLD Moments as Hoefling et al. (2026):
        ``fps=4, clip=ClipSampling(size=256, max_frames=12, fps_mode="blend")``.
    temporal
        How an image model's per-frame features of a clip are aggregated: ``mean``, ``max``,
        ``middle``, ``concat``; ``none`` only for video models.
    projection, projection_seed, projection_fit
        Reduce every layer wider than ``projection`` dimensions with a very sparse random
        projection (seeded by ``projection_seed``, default 0; the same matrix for every batch,
        applied as each batch arrives, so a wide layer is never held whole); ``"auto"`` uses
        the Johnson-Lindenstrauss dimension of the stimuli at eps = 0.1; ``"hoefling2026"``
        is the paper's scikit-learn ``SparseRandomProjection`` (seed 1234 unless given) of
        every layer to ``min(JL dimension of the projection_fit stimuli, width)``, feature
        maps flattened channels last as the paper does
        (:mod:`crossalign.models.projection`). ``projection_fit``: the stimuli the projection
        is fitted on, e.g. the training stimuli (default: all).
    dtype
        Stored precision: ``float32`` (default) or ``float16``.
    stimulus_ids
        Ids of the stimuli (default: file stems, the dataset's ids, or 0..N-1).
    cache
        ``True`` (default folder, ``$CROSSALIGN_CACHE_DIR``), a folder, or ``False``.
    progress
        Show a progress bar.
    device
        Where the model runs (``"cpu"``, ``"cuda"``, ...); default CUDA when visible.

    Returns
    -------
    ModelData
        One model, its layers in ``keys()`` order, with the extraction settings in ``attrs``.

    Raises
    ------
    PlanError
        The activations would not fit the memory budget (checked after the first batch,
        before the rest runs).
    """
    check_option(pool, "pool", POOLS, "extract")
    check_option(dtype, "dtype", ["float32", "float16"], "extract")
    if not isinstance(batch_size, int) or batch_size < 1:
        raise InputError(
            f"The 'batch_size' argument must be a positive integer. Got {batch_size!r}."
        )
    adapter = as_adapter(model)
    stim = resolve_stimuli(stimuli, stimulus_ids)
    n_fit = None if projection_fit is None else len(projection_fit)
    reduction = ProjectionSetting.make(projection, projection_seed, len(stim.ids), n_fit)
    if adapter.function is not None:
        return _from_function(adapter, stim, layers)
    if adapter.kind == "video" and frames is None and fps is None:
        frames = adapter.frames
    sampling = clip or ClipSampling()
    check_sampling(frames=frames, fps=fps, size=sampling.size, max_frames=sampling.max_frames)
    check_option(sampling.fps_mode, "fps_mode", ["select", "blend"], "extract_features")
    setting = _Setting(pool, frames, fps, temporal, reduction, dtype, clip or ClipSampling())
    names = select_layers(adapter, layers)
    found, keys, store = _cached(adapter, stim, names, setting, cache)
    missing = [n for n in names if found.get(n) is None]
    if missing:
        computed = _run(adapter, stim, missing, setting, batch_size, progress, device)
        for name in missing:
            found[name] = computed[name]
            if store:
                store.put(keys[name], computed[name], {"layer": name, **setting.key()})
    out = ModelData.from_activations(
        {n: found[n] for n in names}, model=adapter.name, stimuli=stim.ids, dtype=np.float32
    )
    out.attrs.update(
        paradigm=adapter.paradigm,
        weights_id=adapter.weights_id,
        weights_tag=adapter.weights_tag,
        pool=pool,
        projection=reduction.value,
        frames=frames,
        temporal=temporal,
        citation=adapter.citation,
        cached_layers=[n for n in names if n not in missing],
    )
    return out


def extraction_bytes(
    model: Any,
    n_stimuli: int,
    layers: str | Sequence[str] | None = None,
    pool: str = "flatten",
    projection: int | str | None = None,
    dtype: str = "float32",
) -> int:
    """The memory the stored activations of an extraction will take, from one forward pass
    on a blank input (before anything is extracted): stimuli x the layers' widths after
    pooling and projection x the dtype's size. 0 for models that are plain functions.

    Parameters
    ----------
    model : ModelAdapter or module
    n_stimuli : int
    layers : str or sequence of str, optional
        Names or glob patterns (default: the model's default layers).
    pool : {"flatten", "avg"}
    projection : int or str, optional
        A projected dimension, a rule of :data:`crossalign.models.projection.PROJECTIONS`
        (fitted on all ``n_stimuli``) or None.
    dtype : str
        The stored precision.

    Returns
    -------
    int
    """
    import torch

    adapter = as_adapter(model)
    if adapter.module is None:
        return 0
    names = select_layers(adapter, layers)
    modules = dict(adapter.module.named_modules())
    widths: dict[str, int] = {}

    def hook_for(name: str) -> Any:
        def hook(_m: Any, _i: Any, output: Any) -> None:
            widths[name] = pool_output(output, pool, channels_last=adapter.channels_last).shape[1]

        return hook

    handles = [modules[adapter.module_path(n)].register_forward_hook(hook_for(n)) for n in names]
    try:
        with torch.inference_mode():
            adapter.forward(adapter.blank_input())
    finally:
        for handle in handles:
            handle.remove()
    reduction = ProjectionSetting.make(projection, None, n_stimuli)
    stored = sum(reduction.width(w) for w in widths.values())
    return int(n_stimuli * stored * np.dtype(dtype).itemsize)


def _cached(
    adapter: ModelAdapter,
    stim: StimulusSet,
    names: list[str],
    setting: _Setting,
    cache: bool | str | ActivationCache,
) -> tuple[dict[str, np.ndarray | None], dict[str, str], ActivationCache | None]:
    """The layers already in the activation cache, their keys, and the cache."""
    store = _cache(cache)
    if store is None:  # hashing the stimulus set only pays off with a cache
        return {}, {}, None
    parts = {
        "model": adapter.name,
        "weights": adapter.weights_id,
        "stimuli": stim.key(),
        "preprocess": adapter.preprocess.key() if adapter.preprocess else None,
        **setting.key(),
    }
    keys = {name: ActivationCache.key(layer=name, **parts) for name in names}
    return {n: store.get(keys[n]) for n in names}, keys, store


def _as_tensor_input(image: Any) -> np.ndarray:
    """Without preprocessing, a stimulus must already be a float array: an image (channels,
    H, W) or a clip (frames, channels, H, W)."""
    arr = np.asarray(image, dtype=np.float32)
    if arr.ndim not in (3, 4):
        raise InputError(
            "Without a preprocessing config, stimuli must be ready float arrays (channels, "
            f"height, width) or clips (frames, channels, height, width). Got shape {arr.shape}."
        )
    return arr


def _cache(cache: bool | str | ActivationCache) -> ActivationCache | None:
    if cache is False or cache is None:
        return None
    if isinstance(cache, ActivationCache):
        return cache
    return ActivationCache(None if cache is True else cache)


def _from_function(adapter: ModelAdapter, stim: StimulusSet, layers: Any) -> ModelData:
    flat = [img for group in stim.images for img in group]
    if adapter.function is None:
        raise InputError(f"The model {adapter.name!r} has no function to call.")
    acts = adapter.function(flat)
    if not hasattr(acts, "items"):
        raise InputTypeError(
            f"The model {adapter.name!r} must return {{layer: array}}. Got {type(acts).__name__}."
        )
    names = (
        list(acts) if layers is None else ([layers] if isinstance(layers, str) else list(layers))
    )
    unknown = [n for n in names if n not in acts]
    if unknown:
        raise InputError(
            f"Unknown layer {unknown[0]!r} for model {adapter.name!r}. Available layers "
            f"(closest first): {_by_closeness(str(unknown[0]), [str(k) for k in acts])}"
        )
    counts = np.array([len(g) for g in stim.images])
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    out = {}
    for name in names:
        a = np.asarray(acts[name], dtype=np.float64).reshape(len(flat), -1)
        out[name] = np.add.reduceat(a, starts, axis=0) / counts[:, None]
    md = ModelData.from_activations(out, model=adapter.name, stimuli=stim.ids)
    md.attrs["paradigm"] = adapter.paradigm
    return md


def _prepare_item(adapter: ModelAdapter, item: Any, setting: _Setting) -> np.ndarray:
    """One stimulus as network input: an image (C, H, W), or a clip (T, C, H, W) of
    preprocessed frames. A video model given an image sees it as a static clip."""
    if adapter.preprocess is None:  # ready arrays: (C, H, W) images or (T, C, H, W) clips
        ready = _as_tensor_input(item)
        if ready.ndim == 3 and adapter.kind == "video":
            return np.repeat(ready[None], setting.frames or adapter.frames, axis=0)
        return ready
    if is_clip(item):
        sampling = setting.clip
        clip = load_video(
            item,
            frames=setting.frames,
            fps=setting.fps,
            size=sampling.size,
            max_frames=sampling.max_frames,
            fps_mode=sampling.fps_mode,
        )
        return np.stack([adapter.preprocess(frame) for frame in clip])
    image = adapter.preprocess(item)
    if adapter.kind == "video":
        return np.repeat(image[None], setting.frames or adapter.frames, axis=0)
    return image


def _forward_batch(
    adapter: ModelAdapter, inputs: list[np.ndarray], setting: _Setting, dev: Any
) -> int:
    """Run one batch; returns the frames per stimulus an image model saw (1 for images and
    video models), so the hooks' per-frame features can be aggregated."""
    import torch

    batch = np.stack(inputs)  # one shape: _run groups each batch by shape
    n_frames = 1
    if batch.ndim == 5 and adapter.kind == "video":  # (B, T, C, H, W)
        if adapter.video_layout == "BCTHW":
            batch = batch.transpose(0, 2, 1, 3, 4)
    elif batch.ndim == 5:  # an image model on clips: every frame through the network
        if setting.temporal == "none":
            raise InputError(
                f"{adapter.name!r} is an image model: it sees a clip frame by frame, whose "
                "features must be aggregated; use temporal='mean', 'max', 'middle' or "
                "'concat' ('none' is for video models)."
            )
        n_frames = batch.shape[1]
        batch = batch.reshape(-1, *batch.shape[2:])
    adapter.forward(torch.from_numpy(np.ascontiguousarray(batch)).to(dev))
    return n_frames


def _by_shape(owners: list[int], inputs: list[np.ndarray]) -> list[tuple[np.ndarray, list]]:
    """A batch split into runs of one input shape (clips of one frame count), in order of
    first appearance: every per-clip reduction is defined clip by clip, so clips of
    different lengths run in separate forward passes rather than being padded."""
    groups: dict[tuple[int, ...], tuple[list[int], list[np.ndarray]]] = {}
    for owner, x in zip(owners, inputs, strict=True):
        group = groups.setdefault(x.shape, ([], []))
        group[0].append(owner)
        group[1].append(x)
    return [(np.array(o), xs) for o, xs in groups.values()]


def _store(
    store: _Accumulator,
    names: list[str],
    captured: dict[str, np.ndarray],
    owners: np.ndarray,
    group: list[np.ndarray],
    n_frames: int,
    ids: list[Any],
) -> None:
    """One forward pass's captured layers into the accumulator; a width that differs
    between clips is refused naming the clips and their frame counts."""
    frames = [x.shape[0] if x.ndim == 4 else 1 for x in group]
    store.lengths.update({int(o): n for o, n in zip(owners, frames, strict=True)})
    for name in names:
        try:
            store.add(name, captured.pop(name), owners, n_frames)
        except _WidthError as err:
            raise err.named(ids, store.lengths) from None


class _WidthError(InputError):
    """A layer whose per-stimulus width differs between clips (``temporal="concat"`` or a
    video model's unpooled output on clips of different lengths)."""

    def __init__(self, layer: str, width: int, got: int) -> None:
        super().__init__(layer, width, got)
        self.layer, self.width, self.got = layer, width, got

    def named(self, ids: list[Any], lengths: dict[int, int]) -> InputError:
        """The error naming the clips seen so far and their frame counts."""
        seen = ", ".join(f"{ids[o]!r}: {n} frames" for o, n in list(lengths.items())[:6])
        return InputError(
            f"Layer {self.layer!r} gives {self.got} features for a clip of another length than "
            f"the earlier clips ({self.width} features; {seen}). Clips of different lengths "
            "need a per-clip reduction: temporal='mean', 'max' or 'middle' for an image "
            "model, pool='avg' for a video model, or one frame count for every clip "
            "(frames=N in select mode; max_frames=N in blend mode keeps the first N)."
        )


class _Accumulator:
    """Per-layer activations of all stimuli, filled batch by batch: frames aggregated,
    projected at once (the same seeded matrix for every batch) and stored at ``dtype``, so
    memory holds the reduced activations and one batch, never a whole wide layer."""

    def __init__(self, n_stimuli: int, counts: np.ndarray, setting: _Setting) -> None:
        self.n, self.counts, self.setting = n_stimuli, counts, setting
        self.single = bool((counts == 1).all())
        self.arrays: dict[str, np.ndarray] = {}
        self.projections: dict[str, Any] = {}
        self.widths: dict[str, int] = {}
        self.lengths: dict[int, int] = {}  # stimulus -> frames of its input, for errors

    def add(self, name: str, acts: np.ndarray, owners: np.ndarray, n_frames: int) -> None:
        if n_frames > 1:
            acts = aggregate_frames(
                acts.reshape(-1, n_frames, acts.shape[1]), self.setting.temporal
            )
        width = self.widths.setdefault(name, acts.shape[1])
        if acts.shape[1] != width:
            raise _WidthError(name, width, acts.shape[1])
        if name not in self.projections:
            self.projections[name] = self.setting.projection.matrix(acts.shape[1])
        if self.projections[name] is not None:
            acts = np.asarray(acts @ self.projections[name])
        if self.single and len(owners) == self.n and name not in self.arrays:
            self._check(name, acts.shape[1], np.dtype(self.setting.dtype))
            self.arrays[name] = acts.astype(self.setting.dtype, copy=False)  # one batch: no copy
            return
        if name not in self.arrays:
            self._allocate(name, acts.shape[1])
        if self.single:  # one row per stimulus (a batch may be split by clip length)
            self.arrays[name][owners] = acts
        else:  # images come grouped by stimulus: sum each run of one owner
            starts = np.flatnonzero(np.r_[True, owners[1:] != owners[:-1]])
            self.arrays[name][owners[starts]] += np.add.reduceat(acts.astype(np.float64), starts, 0)

    def _allocate(self, name: str, width: int) -> None:
        dtype = np.dtype(self.setting.dtype if self.single else np.float64)
        self._check(name, width, dtype)
        self.arrays[name] = np.zeros((self.n, width), dtype=dtype)

    def _check(self, name: str, width: int, dtype: np.dtype) -> None:
        """Refuse a layer whose stored activations would push past the memory budget."""
        need = self.n * width * dtype.itemsize + sum(a.nbytes for a in self.arrays.values())
        budget = get_option("memory_budget")
        if need > budget:
            raise MemoryBudgetError(
                f"Extracting layer {name!r} ({width} units for {self.n} stimuli) needs about "
                f"{need / 1e9:.3g} GB for the activations, over the memory budget of "
                f"{budget / 1e9:.3g} GB. Reduce it with projection=N (or 'auto'), pool='avg', "
                "fewer layers, or raise the budget (--memory-budget)."
            )

    def result(self) -> dict[str, np.ndarray]:
        if self.single:
            return self.arrays
        return {
            n: (a / self.counts[:, None]).astype(self.setting.dtype) for n, a in self.arrays.items()
        }


def _run(
    adapter: ModelAdapter,
    stim: StimulusSet,
    names: list[str],
    setting: _Setting,
    batch_size: int,
    progress: bool,
    device: str | None,
) -> dict[str, np.ndarray]:
    import torch

    module = adapter.module
    modules = dict(module.named_modules())
    dev = (
        torch.device(device)
        if device
        else next((p.device for p in module.parameters()), torch.device("cpu"))
    )
    flat = [(i, img) for i, group in enumerate(stim.images) for img in group]
    store = _Accumulator(len(stim.ids), np.array([len(g) for g in stim.images], float), setting)
    captured: dict[str, np.ndarray] = {}

    def hook_for(name: str) -> Any:
        def hook(_module: Any, _inputs: Any, output: Any) -> None:
            if name in captured:
                raise InputError(
                    f"Layer {name!r} of {adapter.name!r} runs more than once per forward pass "
                    "(a shared module); its activations are ambiguous. Choose a layer that "
                    "runs once, e.g. its parent block."
                )
            captured[name] = pool_output(
                output,
                setting.pool,
                channels_last=adapter.channels_last,
                units_last=setting.projection.units_last,
            )

        return hook

    handles = [modules[adapter.module_path(n)].register_forward_hook(hook_for(n)) for n in names]
    try:
        with Progress(disable=not progress, transient=True) as bar, torch.inference_mode():
            task = bar.add_task(f"extracting {adapter.name}", total=len(flat))
            for start in range(0, len(flat), batch_size):
                chunk = flat[start : start + batch_size]
                inputs = [_prepare_item(adapter, img, setting) for _, img in chunk]
                for owners, group in _by_shape([i for i, _ in chunk], inputs):
                    n_frames = _forward_batch(adapter, group, setting, dev)
                    checkpoint("extraction-batch")
                    _store(store, names, captured, owners, group, n_frames, stim.ids)
                bar.advance(task, len(chunk))
    finally:
        for handle in handles:
            handle.remove()
    return store.result()
