"""Feature extraction from PyTorch models via forward hooks.

Images are preprocessed with the model's own configuration, run in batches under
``torch.inference_mode()``, and each selected layer's output is captured by a forward hook,
pooled (``flatten`` or global average pool ``avg``) and optionally reduced by a sparse random
projection (Li, Hastie & Church 2006, KDD; as used by the APA paper for very large layers).
When one stimulus id has several images (e.g. exemplars of a condition), their activations are
averaged. Results are cached on disk per layer (see :mod:`crossalign.models.cache`).
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Sequence
from typing import Any, Literal

import numpy as np

from .._faults import checkpoint
from ..data import ModelData
from ..errors import InputError, InputTypeError
from .adapters import ModelAdapter, as_adapter
from .cache import ActivationCache
from .stimuli import StimulusSet, resolve_stimuli

__all__ = ["extract", "list_layers", "select_layers", "sparse_projection"]

Pool = Literal["flatten", "avg"]


def list_layers(model: Any) -> list[str]:
    """Every named layer of the model (torch modules), in definition order."""
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
    ``_blocks`` (not their sub-modules); ``"_blocks.**"`` is everything below it."""
    regex = _glob_regex(pattern)
    return [n for n in names if regex.match(n)]


def select_layers(adapter: ModelAdapter, layers: str | Sequence[str] | None) -> list[str]:
    """Resolve names and glob patterns (``"_blocks.*"``: the direct children of ``_blocks``;
    ``**`` also matches dots) to layer names; unknown names fail listing the available ones,
    closest match first."""
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
    import difflib

    ranked = sorted(options, key=lambda o: -difflib.SequenceMatcher(None, name, o).ratio())
    text = ", ".join(repr(o) for o in ranked[:limit])
    return text + (f", ... ({len(options)} in all)" if len(options) > limit else "")


def sparse_projection(n_features: int, dim: int, seed: int = 0) -> Any:
    """A very sparse random projection matrix (n_features, dim) as scipy CSR: entries
    ``+-sqrt(s / dim)`` with probability ``1 / (2 s)`` each, else 0, ``s = sqrt(n_features)``
    (Li, Hastie & Church 2006); distances are preserved in expectation."""
    from scipy import sparse

    rng = np.random.default_rng(seed)
    s = np.sqrt(n_features)
    density = 1.0 / s
    nnz_per_col = rng.binomial(n_features, density, size=dim)
    rows = np.concatenate([rng.choice(n_features, k, replace=False) for k in nnz_per_col])
    cols = np.repeat(np.arange(dim), nnz_per_col)
    signs = rng.choice([-1.0, 1.0], size=rows.size) * np.sqrt(s / dim)
    return sparse.csr_matrix((signs, (rows, cols)), shape=(n_features, dim))


def _pool(output: Any, pool: str) -> np.ndarray:
    import torch

    if isinstance(output, tuple | list):
        output = next(o for o in output if isinstance(o, torch.Tensor))
    x = output.detach()
    if pool == "avg" and x.ndim == 4:
        x = x.mean(dim=(2, 3))
    elif pool == "avg" and x.ndim == 3:
        x = x.mean(dim=1)  # tokens
    return x.reshape(x.shape[0], -1).float().cpu().numpy()


def extract(
    model: Any,
    stimuli: Any,
    layers: str | Sequence[str] | None = None,
    pool: Pool = "flatten",
    batch_size: int = 32,
    *,
    projection: int | None = None,
    projection_seed: int = 0,
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
        Image paths, an image array, ``{id: [paths]}`` or a dataset from ``load_dataset``.
    layers
        Names or glob patterns; default: the adapter's default layers.
    pool
        ``"flatten"`` (all units) or ``"avg"`` (global average over space / tokens).
    projection
        Reduce every layer wider than this to ``projection`` dimensions with a sparse random
        projection (seeded by ``projection_seed``).
    cache
        ``True`` (default folder, ``$CROSSALIGN_CACHE_DIR``), a folder, or ``False``.
    """
    if pool not in ("flatten", "avg"):
        raise InputError(f"The 'pool' parameter must be 'flatten' or 'avg'. Got {pool!r}.")
    if not isinstance(batch_size, int) or batch_size < 1:
        raise InputError(
            f"The 'batch_size' argument must be a positive integer. Got {batch_size!r}."
        )
    adapter = as_adapter(model)
    stim = resolve_stimuli(stimuli, stimulus_ids)
    if adapter.function is not None:
        return _from_function(adapter, stim, layers)
    names = select_layers(adapter, layers)
    store = _cache(cache)
    setting: dict[str, Any] = {}
    keys: dict[str, str] = {}
    found: dict[str, np.ndarray | None] = {}
    if store is not None:  # hashing the stimulus set only pays off with a cache
        setting = {
            "model": adapter.name,
            "weights": adapter.weights_id,
            "stimuli": stim.key(),
            "preprocess": adapter.preprocess.key() if adapter.preprocess else None,
            "pool": pool,
            "projection": [projection, projection_seed] if projection else None,
        }
        keys = {name: ActivationCache.key(layer=name, **setting) for name in names}
        found = {n: store.get(keys[n]) for n in names}
    missing = [n for n in names if found.get(n) is None]
    if missing:
        computed = _run(adapter, stim, missing, pool, batch_size, progress, device)
        for name in missing:
            acts = computed[name]
            if projection and acts.shape[1] > projection:
                acts = np.asarray(
                    acts @ sparse_projection(acts.shape[1], projection, projection_seed)
                )
            found[name] = acts
            if store:
                store.put(keys[name], acts, {"layer": name, **setting})
    out = ModelData.from_activations(
        {n: found[n] for n in names}, model=adapter.name, stimuli=stim.ids, dtype=np.float32
    )
    out.attrs.update(
        paradigm=adapter.paradigm,
        weights_id=adapter.weights_id,
        pool=pool,
        projection=projection,
        citation=adapter.citation,
        cached_layers=[n for n in names if n not in missing],
    )
    return out


def _as_tensor_input(image: Any) -> np.ndarray:
    """Without preprocessing, an image must already be a float array (channels, H, W)."""
    arr = np.asarray(image, dtype=np.float32)
    if arr.ndim != 3:
        raise InputError(
            "Without a preprocessing config, stimuli must be ready float arrays (channels, "
            f"height, width). Got shape {arr.shape}."
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


def _run(
    adapter: ModelAdapter,
    stim: StimulusSet,
    names: list[str],
    pool: str,
    batch_size: int,
    progress: bool,
    device: str | None,
) -> dict[str, np.ndarray]:
    import torch
    from rich.progress import Progress

    module = adapter.module
    modules = dict(module.named_modules())
    dev = (
        torch.device(device)
        if device
        else next((p.device for p in module.parameters()), torch.device("cpu"))
    )
    flat = [(i, img) for i, group in enumerate(stim.images) for img in group]
    counts = np.array([len(g) for g in stim.images], dtype=np.float64)
    single = bool((counts == 1).all())  # one image per stimulus: no averaging needed
    sums: dict[str, np.ndarray] = {}
    captured: dict[str, np.ndarray] = {}

    def hook_for(name: str) -> Any:
        def hook(_module: Any, _inputs: Any, output: Any) -> None:
            if name in captured:
                raise InputError(
                    f"Layer {name!r} of {adapter.name!r} runs more than once per forward pass "
                    "(a shared module); its activations are ambiguous. Choose a layer that "
                    "runs once, e.g. its parent block."
                )
            captured[name] = _pool(output, pool)

        return hook

    handles = [modules[n].register_forward_hook(hook_for(n)) for n in names]
    try:
        with Progress(disable=not progress, transient=True) as bar, torch.inference_mode():
            task = bar.add_task(f"extracting {adapter.name}", total=len(flat))
            for start in range(0, len(flat), batch_size):
                chunk = flat[start : start + batch_size]
                prep = adapter.preprocess or _as_tensor_input
                batch = np.stack([prep(img) for _, img in chunk])
                module(torch.from_numpy(batch).to(dev))
                checkpoint("extraction-batch")
                owners = np.array([i for i, _ in chunk])
                # images come grouped by stimulus: sum each run of one owner with reduceat
                starts = np.flatnonzero(np.r_[True, owners[1:] != owners[:-1]])
                for name in names:
                    acts = captured.pop(name)
                    if single and len(chunk) == len(flat):  # one batch: keep the arrays as is
                        sums[name] = acts
                        continue
                    if name not in sums:
                        dtype = np.float32 if single else np.float64
                        sums[name] = np.zeros((len(stim.ids), acts.shape[1]), dtype=dtype)
                    if single:
                        sums[name][owners] = acts
                    else:
                        sums[name][owners[starts]] += np.add.reduceat(
                            acts.astype(np.float64), starts, axis=0
                        )
                bar.advance(task, len(chunk))
    finally:
        for handle in handles:
            handle.remove()
    if single:
        return sums
    for name in names:
        sums[name] /= counts[:, None]
    return sums
