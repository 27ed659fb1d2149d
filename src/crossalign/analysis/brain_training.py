"""Training brain-predictive networks: a backbone's top blocks and one linear read-out per
region trained end to end to predict brain responses, saved as a weights file that loads as
the model source ``brain:path.pt`` (:mod:`crossalign.models.brain_trained`).

The backbone's output at ``readout_layer`` (spatially averaged when it has spatial axes) feeds
one linear read-out per region; the targets are each region's responses on the training
stimuli, z-scored over them (the subjects' mean where every subject has the same units, their
units side by side otherwise); the loss is the mean squared error over regions and units.
Only the read-outs and the backbone's last ``train_layers`` top-level blocks learn (Adam). A
seeded share of the training stimuli is held out for validation; training stops after
``patience`` epochs without a better validation loss and keeps the best weights. With one
seed, the same data and the same machine, two runs give the same weights bit for bit
(deterministic algorithms, seeded order).
"""

from __future__ import annotations

import contextlib
from collections.abc import Hashable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from rich.progress import Progress

from crossalign.analysis.encoding import pool_subjects
from crossalign.data.construct import average_repeats
from crossalign.data.containers import BrainData
from crossalign.errors import InputError
from crossalign.io.outputs import write_atomic
from crossalign.models.brain_trained import FORMAT, base_adapter, brain_network
from crossalign.models.stimuli import Preprocess, resolve_stimuli
from crossalign.stats.permutation import random_order

__all__ = ["train_brain_model"]


def _targets(
    brain: BrainData, train: list[Hashable], regions: list[str]
) -> tuple[dict[str, np.ndarray], list[int]]:
    """Each region's z-scored training responses (subjects averaged or side by side)."""
    data = brain.subset_stimuli(train)
    out = {}
    for r in regions:
        arrays = [
            average_repeats(np.asarray(data[(s, r)].values, dtype=np.float64))
            for s in data.subjects_with(r)
        ]
        y = pool_subjects(arrays)
        sd = y.std(axis=0)
        out[r] = (y - y.mean(axis=0)) / np.where(sd == 0, 1.0, sd)
    return out, [out[r].shape[1] for r in regions]


@contextlib.contextmanager
def _deterministic(seed: int) -> Iterator[None]:
    """Seeded, deterministic torch for the duration (the previous settings restored)."""
    import torch

    before = torch.are_deterministic_algorithms_enabled()
    state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(before)
        torch.random.set_rng_state(state)


def train_brain_model(
    base_model: str,
    brain: BrainData,
    out: str | Path,
    *,
    stimuli: Sequence[Hashable] | None = None,
    images: Any = None,
    regions: Sequence[str] | None = None,
    readout_layer: str | None = None,
    train_layers: str | int = "last",
    epochs: int = 30,
    batch_size: int = 16,
    lr: float = 1e-3,
    validation: float = 0.2,
    patience: int = 5,
    image_size: int | None = None,
    seed: int = 0,
    progress: bool = True,
    allow_user_modules: bool = False,
) -> Path:
    """Train a backbone's top blocks and one read-out per region to predict brain responses,
    and save the weights file (see the module text).

    Parameters
    ----------
    base_model : str
        A registry model (``"timm:resnet18"``; built with random weights, which training
        replaces in the blocks that learn) or ``"package.module:factory"``.
    brain : BrainData
        Responses of the regions, with the training stimuli.
    out : str or Path
        The weights file to write (``.pt``).
    stimuli : sequence, optional
        The training stimuli (default: the dataset's fixed ``train`` split, else all).
    images : optional
        The stimulus images: ``{id: image or path}``, an array or list of images in the
        dataset's stimulus order, or a dataset with ``attrs["stimulus_paths"]`` (default:
        ``brain``'s own).
    regions : sequence of str, optional
        Default every region.
    readout_layer : str, optional
        The backbone layer the read-outs see (default: its last default layer).
    train_layers : "last" or int
        How many of the backbone's top-level blocks learn (``"last"``: 1; 0: read-outs only).
    epochs, batch_size : int
    lr : float
        Adam's learning rate.
    validation : float
        Share of the training stimuli held out for early stopping.
    patience : int
        Epochs without a better validation loss before stopping.
    image_size : int, optional
        Resize images to this square size (default: the base model's preprocessing).
    seed : int
        Seeds the initialisation, the validation split and the batch order.
    progress : bool
    allow_user_modules : bool
        Allow a ``package.module:factory`` base (runs that code).

    Returns
    -------
    Path
        The weights file.
    """
    import torch

    train = list(stimuli) if stimuli is not None else _default_train(brain)
    names = [str(r) for r in (regions or brain.regions)]
    _check_training(brain, train, names, epochs, batch_size, validation, patience)
    with _deterministic(seed):
        base = base_adapter(base_model, allow_user_modules, seed)
        preprocess = base.preprocess or Preprocess()
        if image_size is not None:
            preprocess = Preprocess(size=int(image_size), crop_pct=1.0)
        x = _inputs(images if images is not None else brain, train, preprocess, brain)
        targets, widths = _targets(brain, train, names)
        layer = readout_layer or (base.default_layers or [""])[-1]
        net = brain_network(base, layer, widths, names)
        net(x[:1])  # materialise the lazy read-outs
        params = _trainable(net, train_layers)
        order = random_order(len(train), np.random.default_rng(seed))
        n_val = max(1, round(validation * len(train)))
        fit_rows, val_rows = np.sort(order[n_val:]), np.sort(order[:n_val])
        y = {r: torch.as_tensor(targets[r], dtype=torch.float32) for r in names}
        optimiser = torch.optim.Adam(params, lr=lr)
        best, best_state, waited, history = np.inf, None, 0, []
        generator = torch.Generator().manual_seed(seed)
        with Progress(disable=not progress, transient=True) as bar:
            task = bar.add_task("training on the brain", total=epochs)
            for _epoch in range(epochs):
                net.train()
                perm = torch.randperm(len(fit_rows), generator=generator).numpy()
                for start in range(0, len(perm), batch_size):
                    rows = fit_rows[perm[start : start + batch_size]]
                    optimiser.zero_grad()
                    loss = _loss(net(x[rows]), y, rows, names)
                    loss.backward()
                    optimiser.step()
                net.eval()
                with torch.no_grad():
                    val = float(_loss(net(x[val_rows]), y, val_rows, names))
                history.append(val)
                bar.advance(task)
                if val < best:
                    best, waited = val, 0
                    best_state = {k: v.detach().clone() for k, v in net.state_dict().items()}
                else:
                    waited += 1
                    if waited >= patience:
                        break
        net.load_state_dict(best_state or net.state_dict())
    return _save(out, net, base_model, layer, names, widths, history, preprocess)


def _default_train(brain: BrainData) -> list[Hashable]:
    split = brain.attrs.get("split")
    return list(split["train"]) if split else list(brain.stimuli)


def _check_training(
    brain: BrainData,
    train: list[Hashable],
    regions: list[str],
    epochs: int,
    batch_size: int,
    validation: float,
    patience: int,
) -> None:
    if not isinstance(brain, BrainData):
        raise InputError(f"The 'brain' argument must be a BrainData. Got {type(brain).__name__}.")
    unknown = [s for s in train if s not in set(brain.stimuli)]
    if unknown or len(train) < 4:
        raise InputError(
            f"The 'stimuli' argument must be at least 4 stimulus ids of the data. Got "
            f"{len(train)}, unknown: {unknown[:5]}."
        )
    missing = [r for r in regions if r not in [str(x) for x in brain.regions]]
    if missing:
        raise InputError(f"The 'regions' argument names unknown region(s) {missing}.")
    for name, value, low in (
        ("epochs", epochs, 1),
        ("batch_size", batch_size, 1),
        ("patience", patience, 1),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise InputError(f"The '{name}' argument must be an integer >= {low}. Got {value!r}.")
    if not (isinstance(validation, float) and 0 < validation < 0.5):
        raise InputError(
            f"The 'validation' argument must be a share in (0, 0.5). Got {validation!r}."
        )


def _inputs(images: Any, train: list[Hashable], preprocess: Preprocess, brain: BrainData) -> Any:
    """The training stimuli's images as one preprocessed batch (first image of each); an
    array or list of images is in the dataset's stimulus order."""
    import torch

    ordered = isinstance(images, np.ndarray | list | tuple)
    stim = resolve_stimuli(images, list(brain.stimuli) if ordered else None)
    position = {sid: i for i, sid in enumerate(stim.ids)}
    missing = [s for s in train if s not in position]
    if missing:
        raise InputError(
            f"No image for the training stimuli {missing[:5]}; give images= with their ids."
        )
    batch = np.stack([preprocess(stim.images[position[s]][0]) for s in train])
    return torch.as_tensor(batch, dtype=torch.float32)


def _trainable(net: Any, train_layers: str | int) -> list[Any]:
    """Freeze the backbone but its last ``train_layers`` top-level blocks; the parameters
    that learn."""
    count = 1 if train_layers == "last" else train_layers
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise InputError(
            f"The 'train_layers' argument must be 'last' or an integer >= 0. Got {train_layers!r}."
        )
    blocks = list(net.backbone.children())
    for p in net.backbone.parameters():
        p.requires_grad_(False)
    for block in blocks[len(blocks) - count :] if count else []:
        for p in block.parameters():
            p.requires_grad_(True)
    return [p for p in net.parameters() if p.requires_grad]


def _loss(
    predicted: dict[str, Any], y: dict[str, Any], rows: np.ndarray, regions: list[str]
) -> Any:
    import torch

    losses = [torch.mean((predicted[r] - y[r][rows]) ** 2) for r in regions]
    return torch.stack(losses).mean()


def _save(
    out: str | Path,
    net: Any,
    base: str,
    layer: str,
    regions: list[str],
    widths: list[int],
    history: list[float],
    preprocess: Preprocess,
) -> Path:
    import torch

    record = {
        "format": FORMAT,
        "base": base,
        "readout_layer": layer,
        "regions": list(regions),
        "widths": [int(w) for w in widths],
        "validation_loss": [float(v) for v in history],
        "image_size": int(preprocess.size),
        "crop_pct": float(preprocess.crop_pct),
        "state_dict": {k: v.detach().cpu() for k, v in net.state_dict().items()},
    }
    return write_atomic(Path(out), lambda tmp: torch.save(record, tmp))
