"""Degenerate inputs give defined results or clear errors (docs/robustness.md lists them)."""

import re
from pathlib import Path

import numpy as np
import pytest

import crossalign as ca
import crossalign.functional as caf

SRC = Path(__file__).resolve().parents[1] / "src" / "crossalign"


def rdm_stack(rng, n, s=3):
    return np.stack([caf.compute_rdm(rng.normal(size=(n, 5))) for _ in range(s)])


def test_constant_rdm(rng):
    flat = np.ones((3, 6, 6)) - np.eye(6)
    data = ca.BrainData.from_rdms({"V1": flat, "V2": rdm_stack(rng, 6)})
    with pytest.raises(ValueError, match=r"'spearman' comparison is undefined.*constant RDM"):
        ca.cross_region_matrix(data, "spearman")
    with pytest.raises(ValueError, match=r"'pearson' comparison is undefined"):
        ca.cross_region_matrix(data, "pearson")
    c = ca.cross_region_matrix(data, "kendall_taua")  # no concordant or discordant pair: 0
    assert c.sel(region="V1", target_region="V2") == 0.0
    cos = ca.cross_region_matrix(data, "cosine")
    assert float(cos.sel(region="V1", target_region="V1")) == pytest.approx(1.0)


def test_all_ties_within_an_rdm(rng):
    two_levels = np.where(rdm_stack(rng, 8) > 1.0, 2.0, 1.0)
    for s in range(3):
        np.fill_diagonal(two_levels[s], 0.0)
    data = ca.BrainData.from_rdms({"V1": two_levels, "V2": rdm_stack(rng, 8)})
    c = ca.cross_region_matrix(data, "spearman")
    assert np.isfinite(c.values).all()  # average ranks handle the ties exactly


def test_three_stimuli_is_the_minimum(rng):
    data = ca.BrainData.from_rdms({"V1": rdm_stack(rng, 3), "V2": rdm_stack(rng, 3)})
    assert np.isfinite(ca.cross_region_matrix(data, "pearson").values).all()
    with pytest.raises(ValueError, match=r"at least 3 stimuli"):
        ca.BrainData.from_rdms({"V1": rdm_stack(rng, 3)[:, :2, :2]})
    with pytest.raises(ValueError, match=r"at least 3 stimuli"):
        ca.BrainData.from_responses({("s", "V1"): rng.normal(size=(2, 4))})


def test_one_subject(rng):
    data = ca.BrainData.from_rdms({"V1": rdm_stack(rng, 6, s=1), "V2": rdm_stack(rng, 6, s=1)})
    with pytest.raises(ValueError, match=r"at least 2 subjects"):
        ca.cross_region_matrix(data)
    with pytest.raises(ValueError, match=r"needs at least 2 subjects"):
        ca.noise_ceiling(data)
    with pytest.raises(ValueError, match=r"APS needs at least 3 subjects"):
        ca.brain_aps(data)


def test_one_region(rng):
    data = ca.BrainData.from_rdms({"V1": rdm_stack(rng, 6)})
    c = ca.cross_region_matrix(data)
    assert c.shape == (1, 1) and np.isfinite(c.values).all()
    with pytest.raises(ValueError, match=r"APS needs at least 3 regions"):
        ca.brain_aps(data)
    model = ca.ModelData.from_activations({"l": rng.normal(size=(6, 4))})
    ev = ca.evaluate_model(model, data, {"V1": "l"}, n_bootstrap=10)
    assert np.isnan(ev["aps_mean"].values).all() and not ev.attrs["aps_defined"]
    assert np.isfinite(ev["score_mean"].values).all()


def test_no_code_execution_from_data():
    """No pickle anywhere but the restricted reader (io/_unpickle_child.py and
    io/pickles.py, which never call pickle.load); torch weights only with weights_only=True;
    no YAML loader."""
    offenders = []
    for path in SRC.rglob("*.py"):
        text = path.read_text()
        rel = path.relative_to(SRC).as_posix()
        restricted = rel in ("io/pickles.py", "io/_unpickle_child.py")
        if rel == "io/_unpickle_child.py":
            assert "def find_class" in text and "pickle.Unpickler)" in text
        for pattern in (
            *([] if restricted else [r"\bimport pickle\b"]),
            r"allow_pickle\s*=\s*True",
            r"\byaml\.load\(",
            r"\bpickle\.loads?\(",
            r"\bnp\.load\([^)]*\)(?![^\n]*allow_pickle)",
        ):
            for match in re.finditer(pattern, text):
                line = text[: match.start()].count("\n") + 1
                context = text.splitlines()[line - 1]
                if (
                    "allow_pickle=False" not in context
                    and "allow_pickle=False" not in text[match.start() : match.start() + 200]
                ):
                    offenders.append(f"{path.name}:{line}: {context.strip()}")
        for match in re.finditer(r"torch\.load\(", text):
            call = text[match.start() : match.start() + 300]
            if "weights_only=True" not in call:
                offenders.append(f"{path.name}: torch.load without weights_only=True")
    assert offenders == []
