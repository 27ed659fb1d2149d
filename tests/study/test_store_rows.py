"""Long result rows from labelled arrays (``rows_from``) against a twin written with
xarray's own ``to_dataframe``."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from hypothesis import given
from hypothesis import strategies as st

from crossalign.study.store import LABELS, rows_from

DIMS = ["region", "target_region", "subject", "layer", "bound", "stimulus"]


def _text(x):
    return None if x is None or (isinstance(x, float) and np.isnan(x)) else str(x)


def twin(data: xr.DataArray, **labels) -> pd.DataFrame:
    """Row by row through pandas: every coordinate a column, ``bound`` named ``statistic``,
    the labels where no coordinate gives the column, text everywhere, a missing statistic
    ``"value"``."""
    if data.ndim == 0:  # to_dataframe takes arrays only
        data = data.expand_dims("one")
    frame = data.to_dataframe(name="value").reset_index()
    frame = frame.rename(columns={"bound": "statistic"})
    rows = []
    for i in range(len(frame)):
        row = {col: frame[col].iloc[i] for col in frame.columns}  # each value as stored
        out = {}
        for col in LABELS:
            if col in frame.columns:
                out[col] = _text(row[col])
            else:
                out[col] = _text(labels.get(col))
        if out["statistic"] is None:
            out["statistic"] = "value"
        out["value"] = float(row["value"])
        rows.append(out)
    return pd.DataFrame(rows, columns=[*LABELS, "value"])


@st.composite
def arrays(draw):
    dims = draw(st.lists(st.sampled_from(DIMS), unique=True, max_size=3))
    shape = [draw(st.integers(1, 3)) for _ in dims]
    coords = {}
    for dim, n in zip(dims, shape, strict=True):
        kind = draw(st.sampled_from(["text", "int", "none"]))
        if kind == "text":
            coords[dim] = [f"{dim}{i}" for i in range(n)]
        elif kind == "int":
            coords[dim] = list(range(10, 10 + n))
    if draw(st.booleans()):
        coords["model"] = "m"  # a scalar coordinate becomes a column
    values = draw(
        st.lists(
            st.floats(allow_nan=True, width=64),
            min_size=int(np.prod(shape)),
            max_size=int(np.prod(shape)),
        )
    )
    data = xr.DataArray(np.array(values, dtype=float).reshape(shape), dims=dims, coords=coords)
    labels = draw(
        st.dictionaries(
            st.sampled_from(["analysis", "dataset", "metric", "model", "statistic", "split"]),
            st.one_of(st.none(), st.sampled_from(["a", "b c"]), st.integers(0, 3)),
        )
    )
    return data, labels


@given(arrays())
@pytest.mark.slow  # over 0.5 s: in make test, not the everyday subset
def test_rows_equal_a_row_by_row_twin(case):
    data, labels = case
    ours = rows_from(data, **labels)
    expected = twin(data, **labels)
    assert list(ours.columns) == [*LABELS, "value"]
    pd.testing.assert_frame_equal(
        ours.astype(object).where(ours.notna(), None),
        expected.astype(object).where(expected.notna(), None),
        check_dtype=False,
    )


def test_labels_keep_their_coordinates_order_and_missing_labels_are_null():
    data = xr.DataArray(
        np.arange(6.0).reshape(2, 3),
        dims=("subject", "bound"),
        coords={"subject": ["s2", "s1"], "bound": ["low", None, "high"]},
    )
    rows = rows_from(data, analysis="score", model=None)
    assert rows["subject"].tolist() == ["s2"] * 3 + ["s1"] * 3
    assert rows["statistic"].tolist() == ["low", "value", "high"] * 2
    assert rows["value"].tolist() == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    assert rows["model"].isna().all() and rows["analysis"].eq("score").all()
    assert rows_from(xr.DataArray(2.5), statistic="mean")["statistic"].tolist() == ["mean"]


@pytest.mark.parametrize("value", [np.nan, None])
def test_a_missing_coordinate_value_is_a_null_label(value):
    layers = np.array(["a", value], dtype=object)
    data = xr.DataArray([1.0, 2.0], dims="layer", coords={"layer": layers})
    assert rows_from(data)["layer"].isna().tolist() == [False, True]
