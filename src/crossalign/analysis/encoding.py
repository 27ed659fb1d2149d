"""Encoding models: ridge regressions from a model's features to each region's responses, as
objects that fit, predict and turn into an "in-silico brain" (a brain-predictive model).

A fit z-scores the layer's features and the responses over the training stimuli (population
SD; a constant column keeps SD 1), as crossalign's linear predictivity does. Two kinds of fit:

* ``refit=True`` (default): the penalty that gives the best mean held-out R^2 over ``cv``
  folds of the training stimuli (scikit-learn's ``KFold(cv, shuffle=True,
  random_state=seed)``; uniform over units), then one ridge on every training stimulus: the
  fit of scikit-learn's ``RidgeCV(alphas, cv=KFold(...))`` on the z-scored rows.
* ``refit=False``: the fold models of linear predictivity's train-fitted protocol (Hoefling
  et al. 2026): each fold's ridge fitted on its training part with the penalty of smallest
  exact leave-one-out error; predictions are the mean of the fold models', and
  :meth:`EncodingModel.score` the mean over the fold models of the held-out R^2, which is
  the predictivity score of the same split.

Per region the layer is the one with the best cross-validated R^2 on the training stimuli
(mean over subjects), unless given. ``subjects="others"`` fits, for each subject s, the
unit-wise mean response of the other subjects (units must be aligned across subjects, as
grayordinates are): a model built for s has seen none of s's data, so scoring it on s is a
test on an unseen subject as well as on unseen stimuli.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from crossalign.compute.linear import RidgeFit, choose_loo, fit_ridge, kfold_scores, r2_scores
from crossalign.data.construct import average_repeats
from crossalign.data.containers import BrainData, ModelData
from crossalign.data.labels import coord
from crossalign.errors import InputError, InputTypeError
from crossalign.metrics.predictivity import kfold_indices

__all__ = ["ALPHAS", "EncodingModel", "pool_subjects"]

#: Default penalties: those of linear predictivity, ``logspace(0, 9, 19)``.
ALPHAS = tuple(float(a) for a in np.logspace(0, 9, 19))


@dataclass(frozen=True)
class _Scaler:
    """Column means and SDs over the training rows (SD 1 for a constant column)."""

    mean: np.ndarray
    sd: np.ndarray

    @classmethod
    def of(cls, x: np.ndarray) -> _Scaler:
        sd = x.std(axis=0)
        return cls(x.mean(axis=0), np.where(sd == 0, 1.0, sd))

    def apply(self, x: np.ndarray) -> np.ndarray:
        return (x - self.mean) / self.sd


@dataclass(frozen=True)
class _Cell:
    """The fitted model of one (subject, region): its layer, scalers and ridge fit(s)."""

    layer: Hashable
    x_scale: _Scaler
    y_scale: _Scaler
    fits: tuple[RidgeFit, ...]  # one (refit) or one per fold
    varying: np.ndarray  # units that vary over the training stimuli

    def predict_z(self, features: np.ndarray) -> list[np.ndarray]:
        x = self.x_scale.apply(features)
        return [f.predict(x) for f in self.fits]


class EncodingModel:
    """Ridge encoding models from a model's layers to brain regions (see the module text).

    Parameters
    ----------
    alphas : sequence of float
        Ridge penalties (default :data:`ALPHAS`).
    cv : int
        Folds of the training stimuli (>= 2).
    seed : int
        Seed of the folds' shuffle.
    layers : str, sequence or mapping, optional
        Candidate layers (default all), or ``{region: layer}`` to give each region's layer.
    refit : bool
        One ridge on all training stimuli (True), or predictivity's fold models (False).
    subjects : "each", "others" or sequence
        A model per subject on its own responses, per subject on the other subjects' mean
        response (never its own), or per subject for the listed subjects only.
    store_coef : bool
        Keep the coefficients in ``coef_``.

    Attributes
    ----------
    layer_ : dict
        ``{region: layer}`` after :meth:`fit`.
    alpha_ : xarray.DataArray
        (subject, region) penalties; (fold, subject, region) with ``refit=False``.
    coef_ : dict
        ``{(subject, region): (n_features, n_units)}`` in z-units, with ``store_coef``.
    train_ : list
        The training stimuli.
    """

    def __init__(
        self,
        *,
        alphas: Sequence[float] = ALPHAS,
        cv: int = 5,
        seed: int = 0,
        layers: str | Sequence[Hashable] | Mapping[Hashable, Hashable] | None = None,
        refit: bool = True,
        subjects: str | Sequence[Hashable] = "each",
        store_coef: bool = False,
    ) -> None:
        values = np.asarray(alphas, dtype=float)
        if values.ndim != 1 or not values.size or not (np.isfinite(values) & (values > 0)).all():
            raise InputError(f"The 'alphas' argument must be positive numbers. Got {alphas!r}.")
        if isinstance(cv, bool) or not isinstance(cv, int | np.integer) or cv < 2:
            raise InputError(f"The 'cv' argument must be an integer >= 2. Got {cv!r}.")
        subjects = _checked_subjects(subjects)
        self.alphas = tuple(float(a) for a in values)
        self.cv, self.seed, self.layers = int(cv), int(seed), layers
        self.refit, self.subjects, self.store_coef = bool(refit), subjects, bool(store_coef)
        self._cells: dict[tuple[Hashable, Hashable], _Cell] = {}

    # ------------------------------------------------------------------ fitting
    def fit(
        self,
        model_data: ModelData,
        brain: BrainData,
        *,
        stimuli: Sequence[Hashable] | None = None,
        model: Hashable | None = None,
        subjects: str | Sequence[Hashable] | None = None,
    ) -> EncodingModel:
        """Fit every (subject, region) on the training stimuli.

        Parameters
        ----------
        model_data : ModelData
        brain : BrainData
            Responses (not RDMs).
        stimuli : sequence, optional
            The training stimuli (default: the dataset's fixed ``train`` split, else all).
        model : hashable, optional
            Which model of ``model_data``.
        subjects : "each", "others" or sequence, optional
            Overrides the constructor's ``subjects``.

        Returns
        -------
        EncodingModel
            ``self``, fitted.
        """
        if subjects is not None:
            self.subjects = _checked_subjects(subjects)
        if not isinstance(model_data, ModelData) or not isinstance(brain, BrainData):
            raise InputTypeError(
                "EncodingModel.fit takes a ModelData and a BrainData. Got "
                f"{type(model_data).__name__} and {type(brain).__name__}."
            )
        name = model_data.one_model(model)
        train = self._train(brain, stimuli)
        md = model_data.select([name]).subset_stimuli(train)
        data = brain.subset_stimuli(train)
        features = {la: _features(md, name, la) for la in self._candidates(md, name, data)}
        targets = self._targets(data)
        self.layer_, cv = self._choose_layers(features, targets, data)
        self._cells = {
            (s, r): self._fit_cell(features[self.layer_[r]], y, self.layer_[r], cv.get((s, r)))
            for (s, r), y in targets.items()
        }
        self.model_, self.train_ = name, list(train)
        self.model_data_ = model_data.select([name])  # the features of every stimulus
        self.subjects_ = list(dict.fromkeys(s for s, _ in targets))
        self.regions_ = [r for r in data.regions if r in self.layer_]
        self.alpha_ = self._alphas()
        if self.store_coef:
            self.coef_ = {k: [f.coef for f in c.fits] for k, c in self._cells.items()}
        return self

    def _train(self, brain: BrainData, stimuli: Sequence[Hashable] | None) -> list[Hashable]:
        if stimuli is None:
            split = brain.attrs.get("split")
            return list(split["train"]) if split else list(brain.stimuli)
        train = list(stimuli)
        unknown = [s for s in train if s not in set(brain.stimuli)]
        if unknown or len(train) < 2 * self.cv:
            raise InputError(
                f"The 'stimuli' of EncodingModel.fit must be at least {2 * self.cv} stimulus "
                f"ids of the data (cv={self.cv}). Got {len(train)}, unknown: {unknown[:5]}."
            )
        return train

    def _candidates(self, md: ModelData, name: Hashable, data: BrainData) -> list[Hashable]:
        have = md.layers(name)
        if isinstance(self.layers, Mapping):
            wanted = [self.layers[r] for r in data.regions if r in self.layers]
            missing = [r for r in data.regions if r not in self.layers]
            if missing:
                raise InputError(f"The 'layers' mapping has no layer for region(s) {missing}.")
        elif self.layers is None:
            wanted = list(have)
        else:
            wanted = [self.layers] if isinstance(self.layers, str) else list(self.layers)
        unknown = [la for la in wanted if la not in have]
        if unknown:
            raise InputError(
                f"The 'layers' argument names {unknown[:5]}, which model {name!r} does not "
                f"have. Available: {list(have)[:10]}."
            )
        return list(dict.fromkeys(wanted))

    def _targets(self, data: BrainData) -> dict[tuple[Hashable, Hashable], np.ndarray]:
        """(subject, region) -> the responses its model is fitted to."""
        if self.subjects != "others":
            keep = data.subjects if self.subjects == "each" else list(self.subjects)
            unknown = [s for s in keep if s not in data.subjects]
            if unknown:
                raise InputError(f"The 'subjects' argument names unknown subject(s) {unknown}.")
            return {k: _responses(data, k) for k in data if k[0] in set(keep)}
        out = {}
        for r in data.regions:
            have = data.subjects_with(r)
            arrays = {s: _responses(data, (s, r)) for s in have}
            widths = {a.shape[1] for a in arrays.values()}
            if len(widths) != 1 or len(have) < 2:
                raise InputError(
                    f"subjects='others' fits the other subjects' mean response, which needs "
                    f"the same units in every subject and at least 2 subjects; region {r!r} "
                    f"has {len(have)} subject(s) with {sorted(widths)} units."
                )
            for s in have:
                out[(s, r)] = np.mean([arrays[a] for a in have if a != s], axis=0)
        return out

    def _choose_layers(
        self,
        features: dict[Hashable, np.ndarray],
        targets: dict[tuple[Hashable, Hashable], np.ndarray],
        data: BrainData,
    ) -> tuple[dict[Hashable, Hashable], dict[tuple[Hashable, Hashable], np.ndarray]]:
        """Per region the layer with the best cross-validated R^2 (mean over subjects), and
        every cell's scores at every penalty on its chosen layer (one SVD per layer and fold,
        shared by all cells)."""
        keys = list(targets)
        folds = kfold_indices(len(next(iter(targets.values()))), self.cv, self.seed)
        zs = [_Scaler.of(targets[k]).apply(targets[k]) for k in keys]
        if isinstance(self.layers, Mapping):
            given = {r: self.layers[r] for r in data.regions}
            return given, {}
        scores = {
            layer: kfold_scores(_Scaler.of(x).apply(x), zs, self.alphas, folds)
            for layer, x in features.items()
        }
        chosen = {}
        for r in data.regions:
            rows = [i for i, (_, region) in enumerate(keys) if region == r]
            if rows:  # first best on a tie
                chosen[r] = max(scores, key=lambda la: float(scores[la][rows].max(axis=1).mean()))
        return chosen, {k: scores[chosen[k[1]]][i] for i, k in enumerate(keys)}

    def _fit_cell(self, x: np.ndarray, y: np.ndarray, layer: Hashable, cv: Any) -> _Cell:
        """One cell's fit; ``cv`` its scores at every penalty when layer selection made them."""
        xs, ys = _Scaler.of(x), _Scaler.of(y)
        xz, yz = xs.apply(x), ys.apply(y)
        folds = kfold_indices(len(x), self.cv, self.seed)
        if self.refit:
            if cv is None:
                cv = kfold_scores(xz, [yz], self.alphas, folds)[0]
            fits: tuple[RidgeFit, ...] = (fit_ridge(xz, yz, self.alphas[int(np.argmax(cv))]),)
        else:
            fits = tuple(
                fit_ridge(xz[tr], yz[tr], choose_loo(xz[tr], yz[tr], self.alphas)[0])
                for tr, _ in folds
            )
        return _Cell(layer, xs, ys, fits, np.ptp(y, axis=0) > 0)

    def _alphas(self) -> xr.DataArray:
        subjects, regions = self.subjects_, self.regions_
        n_fits = len(next(iter(self._cells.values())).fits)
        values = np.full((n_fits, len(subjects), len(regions)), np.nan)
        for (s, r), cell in self._cells.items():
            values[:, subjects.index(s), regions.index(r)] = [f.alpha for f in cell.fits]
        dims = ("fold", "subject", "region")
        out = xr.DataArray(
            values, dims=dims, coords={"subject": coord(subjects), "region": coord(regions)}
        )
        return out.isel(fold=0, drop=True) if self.refit else out

    # ------------------------------------------------------------------ using
    def _check_fitted(self) -> None:
        if not self._cells:
            raise InputError("This EncodingModel is not fitted yet: call fit() first.")

    def _source(self, first: Any, model_data: ModelData | None) -> tuple[ModelData, Any]:
        """(the model's features, the stimuli) from ``predict(stimuli)``,
        ``predict(stimuli, model_data=...)`` or ``predict(model_data, stimuli)``."""
        self._check_fitted()
        if isinstance(first, ModelData):
            first, model_data = model_data, first
        md = self.model_data_ if model_data is None else model_data.select([self.model_])
        return md, first

    def predict(self, stimuli: Any = None, model_data: Any = None) -> BrainData:
        """Predicted responses of every fitted (subject, region), in the responses' units.

        Parameters
        ----------
        stimuli : sequence, optional
            The stimuli to predict (default: every stimulus of the model data).
        model_data : ModelData, optional
            The model's features (default: those given to :meth:`fit`, which hold every
            stimulus, not only the training ones); ``predict(model_data, stimuli)`` works
            too.

        Returns
        -------
        BrainData
            (subject, region) predicted responses; ``attrs["predicted_by"]`` names the model.
        """
        md, stimuli = self._source(stimuli, model_data)
        ids = list(md.stimuli) if stimuli is None else list(stimuli)
        md = md.subset_stimuli(ids)
        out = {}
        for (s, r), cell in self._cells.items():
            predictions = cell.predict_z(_features(md, self.model_, cell.layer))
            out[(s, r)] = np.mean(predictions, axis=0) * cell.y_scale.sd + cell.y_scale.mean
        data = BrainData.from_responses(out, stimuli=ids, constant_units="keep")
        data.attrs.update(predicted_by=str(self.model_), subjects_fitted=str(self.subjects))
        return data

    def score(self, *args: Any, model_data: ModelData | None = None) -> xr.DataArray:
        """Held-out R^2 on ``stimuli`` per (subject, region): per unit around the held-out
        mean, averaged over the units that vary over the training stimuli; with
        ``refit=False`` the mean over the fold models (linear predictivity's train-fitted
        score of the same split).

        Parameters
        ----------
        *args
            ``(brain, stimuli)``, or ``(model_data, brain, stimuli)``: the brain data and the
            held-out stimuli.
        model_data : ModelData, optional
            The model's features (default: those given to :meth:`fit`).

        Returns
        -------
        xarray.DataArray
            (subject, region).
        """
        if args and isinstance(args[0], ModelData):
            model_data, args = args[0], args[1:]
        if len(args) != 2:
            raise InputTypeError("EncodingModel.score takes (brain, stimuli).")
        brain, stimuli = args
        md, _ = self._source(None, model_data)
        ids = list(stimuli)
        overlap = set(ids) & set(self.train_)
        if overlap:
            raise InputError(
                f"EncodingModel.score is for held-out stimuli; {len(overlap)} were fitted on, "
                f"e.g. {sorted(map(str, overlap))[:3]}."
            )
        md = md.subset_stimuli(ids)
        data = brain.subset_stimuli(ids)
        out = np.full((len(self.subjects_), len(self.regions_)), np.nan)
        for (s, r), cell in self._cells.items():
            y = cell.y_scale.apply(_responses(data, (s, r)))
            per_fit = [
                r2_scores(y[:, cell.varying], p[:, cell.varying]).mean()
                for p in cell.predict_z(_features(md, self.model_, cell.layer))
            ]
            out[self.subjects_.index(s), self.regions_.index(r)] = np.mean(per_fit)
        return xr.DataArray(
            out,
            dims=("subject", "region"),
            coords={"subject": coord(self.subjects_), "region": coord(self.regions_)},
            name="r2",
        )

    def as_model(
        self,
        stimuli: Any = None,
        model_data: Any = None,
        *,
        name: str | None = None,
    ) -> ModelData:
        """The in-silico brain: a ModelData whose layers are the predicted regions, so every
        analysis treats this brain-predictive model like any other (``layers_by_region`` is
        the identity; ``attrs["paradigm"]`` is ``"brain-predictive"``; ``attrs["fitted_on"]``
        lists the training stimuli, which an evaluation never scores it on).

        With ``subjects="each"`` a region's layer is the subjects' predictions, averaged where
        the units are the same in every subject and side by side otherwise. With
        ``subjects="others"`` the ModelData holds one model per subject (the predictions of
        the model fitted without that subject), named ``"<name>|<subject>"`` and listed in
        ``attrs["held_out"]``; an evaluation scores each subject with its own.

        Parameters
        ----------
        stimuli : sequence, optional
            Default: every stimulus of the model data.
        model_data : ModelData, optional
            The model's features (default: those given to :meth:`fit`);
            ``as_model(model_data, stimuli)`` works too.
        name : str, optional
            Default ``"encoding:<model>"``.

        Returns
        -------
        ModelData
        """
        md, stimuli = self._source(stimuli, model_data)
        predicted = self.predict(stimuli, md)
        label = name or f"encoding:{self.model_}"
        ids = list(predicted.stimuli)
        entries: dict[tuple[Hashable, Hashable], np.ndarray] = {}
        held_out: dict[str, str] = {}
        if self.subjects == "others":
            for s in self.subjects_:
                held_out[str(s)] = f"{label}|{s}"
                for r in self.regions_:
                    if (s, r) in predicted:
                        entries[(held_out[str(s)], r)] = predicted[(s, r)].values
        else:
            for r in self.regions_:
                arrays = [predicted[(s, r)].values for s in self.subjects_ if (s, r) in predicted]
                entries[(label, r)] = pool_subjects(arrays)
        out = ModelData.from_responses(entries, stimuli=ids, constant_units="keep")
        out.attrs.update(
            paradigm="brain-predictive",
            fitted_on=[str(s) for s in self.train_],
            encoding_of=str(self.model_),
            encoding_layers={str(r): str(la) for r, la in self.layer_.items()},
            layers_by_region={m: {r: r for r in self.regions_} for m in out.models},
        )
        if held_out:
            out.attrs["held_out"] = held_out
        return out


def pool_subjects(arrays: Sequence[np.ndarray]) -> np.ndarray:
    """Several subjects' (stimulus, unit) responses of one region as one: their mean where
    every subject has the same units (grayordinates), their units side by side otherwise.

    Parameters
    ----------
    arrays : sequence of numpy.ndarray

    Returns
    -------
    numpy.ndarray
    """
    if len({a.shape for a in arrays}) == 1:
        return np.mean(arrays, axis=0)
    return np.hstack(arrays)


def _checked_subjects(subjects: Any) -> Any:
    if isinstance(subjects, str) and subjects not in ("each", "others"):
        raise InputError(
            f"The 'subjects' argument must be 'each', 'others' or a list of subjects. Got "
            f"{subjects!r}."
        )
    return subjects


def _features(md: ModelData, name: Hashable, layer: Hashable) -> np.ndarray:
    return np.asarray(md[(name, layer)].values, dtype=np.float64).reshape(md.n_stimuli, -1)


def _responses(data: BrainData, key: tuple[Hashable, Hashable]) -> np.ndarray:
    if data.kind(key) != "responses":
        raise InputError(
            f"Encoding models predict responses; the cell {key!r} holds an RDM. Expected "
            "responses (BrainData.from_responses or a loader's repeats='average')."
        )
    return average_repeats(np.asarray(data[key].values, dtype=np.float64))
