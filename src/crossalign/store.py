"""The results database: every number of a run, labelled, in an embedded DuckDB file.

Tables
------
``runs``
    ``run_id``, ``study``, ``started``, ``finished``, ``status`` (running / complete /
    failed), ``config_hash`` (SHA-256 of the canonical config JSON), ``config`` (JSON),
    ``version`` (crossalign's).
``results``
    one row per labelled value: ``run_id``, ``dataset``, ``analysis`` (e.g.
    ``cross_region_matrix``, ``noise_ceiling``, ``brain_aps``, ``score``, ``aps``,
    ``layer_profile``, ``selected_layer``, ``model_matrix``, ``model_to_brain``,
    ``matrix_comparison``, ``equivalence``, ``paradigm``), ``model``, ``paradigm``, ``layer``,
    ``region``, ``target_region``, ``subject``, ``metric``, ``split`` (train / test / all),
    ``statistic`` (value, mean, low, high, lower, upper, p_value, ...) and ``value``.
``blocks``
    which (run, dataset, model, block) writes are complete; a resumed run skips them.

Each block of rows is written in one transaction together with its ``blocks`` entry, so a
failure (or a kill) never leaves a half-written block, and nothing already committed is lost.
Query with SQL (``crossalign results``) or export to Parquet/CSV.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import xarray as xr

from ._faults import checkpoint

__all__ = ["COLUMNS", "ResultsStore", "rows_from", "scalar_rows"]

COLUMNS = [
    "run_id",
    "dataset",
    "analysis",
    "model",
    "paradigm",
    "layer",
    "region",
    "target_region",
    "subject",
    "metric",
    "split",
    "statistic",
    "value",
]
LABELS = [c for c in COLUMNS if c not in ("run_id", "value")]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id VARCHAR PRIMARY KEY, study VARCHAR, started TIMESTAMP, finished TIMESTAMP,
    status VARCHAR, config_hash VARCHAR, config VARCHAR, version VARCHAR);
CREATE TABLE IF NOT EXISTS results (
    run_id VARCHAR, dataset VARCHAR, analysis VARCHAR, model VARCHAR, paradigm VARCHAR,
    layer VARCHAR, region VARCHAR, target_region VARCHAR, subject VARCHAR, metric VARCHAR,
    split VARCHAR, statistic VARCHAR, value DOUBLE);
CREATE TABLE IF NOT EXISTS blocks (
    run_id VARCHAR, block VARCHAR, written TIMESTAMP, n_rows BIGINT);
"""


def config_hash(config: Mapping[str, Any]) -> str:
    text = json.dumps(config, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def rows_from(data: xr.DataArray, **labels: Any) -> pd.DataFrame:
    """Long rows from a labelled DataArray: its dims become label columns (``region``,
    ``target_region``, ``subject``, ``layer``, ``bound`` -> ``statistic``...), ``labels`` fill
    the rest (``analysis``, ``model``, ``metric``...)."""
    frame = data.to_dataframe(name="value").reset_index()
    rename = {"bound": "statistic", "model": "model", "layer": "layer"}
    frame = frame.rename(columns={k: v for k, v in rename.items() if k in frame.columns})
    for key, value in labels.items():
        if key not in frame.columns:
            frame[key] = value
    keep = [c for c in LABELS if c in frame.columns] + ["value"]
    frame = frame[keep]
    for col in LABELS:
        if col not in frame.columns:
            frame[col] = None
        else:
            frame[col] = frame[col].map(lambda x: None if x is None else str(x))
    if "statistic" in labels and frame["statistic"].isna().all():
        frame["statistic"] = labels["statistic"]
    frame["statistic"] = frame["statistic"].fillna("value")
    frame["value"] = frame["value"].astype(float)
    return frame[[*LABELS, "value"]]


class ResultsStore:
    """A DuckDB results file. Open with a path; use as a context manager or ``close()``."""

    def __init__(self, path: str | Path) -> None:
        try:
            import duckdb
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError(
                "The results database needs duckdb: pip install 'crossalign[report]'"
            ) from exc
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.con = duckdb.connect(str(self.path))
        self.con.execute(_SCHEMA)

    def __enter__(self) -> ResultsStore:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        self.con.close()

    # -------------------------------------------------------------- runs
    def start_run(self, study: str, config: Mapping[str, Any], version: str) -> str:
        digest = config_hash(config)
        run_id = f"{study}-{datetime.now(UTC):%Y%m%dT%H%M%S%f}-{digest[:8]}"
        self.con.execute(
            "INSERT INTO runs VALUES (?, ?, ?, NULL, 'running', ?, ?, ?)",
            [run_id, study, datetime.now(UTC), digest, json.dumps(config, default=str), version],
        )
        return run_id

    def resumable_run(self, study: str, config: Mapping[str, Any]) -> str | None:
        """The latest unfinished run of the same study and config, if any."""
        row = self.con.execute(
            "SELECT run_id FROM runs WHERE study = ? AND config_hash = ? AND status != "
            "'complete' ORDER BY started DESC LIMIT 1",
            [study, config_hash(config)],
        ).fetchone()
        return row[0] if row else None

    def finish(self, run_id: str, status: str = "complete") -> None:
        self.con.execute(
            "UPDATE runs SET finished = ?, status = ? WHERE run_id = ?",
            [datetime.now(UTC), status, run_id],
        )

    # -------------------------------------------------------------- blocks
    def has_block(self, run_id: str, block: str) -> bool:
        row = self.con.execute(
            "SELECT count(*) FROM blocks WHERE run_id = ? AND block = ?", [run_id, block]
        ).fetchone()
        return bool(row and row[0])

    def write_block(self, run_id: str, block: str, frames: Iterable[pd.DataFrame]) -> int:
        """Write rows and mark ``block`` complete, in one transaction (all or nothing)."""
        parts = [f for f in frames if f is not None and len(f)]
        frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=LABELS)
        frame = frame.assign(run_id=run_id)
        for col in LABELS:
            if col not in frame.columns:
                frame[col] = None
        frame = frame[COLUMNS]
        frame["value"] = frame["value"].astype(float)
        self.con.execute("BEGIN TRANSACTION")
        try:
            self.con.register("_incoming", frame)
            self.con.execute(f"INSERT INTO results SELECT {', '.join(COLUMNS)} FROM _incoming")
            self.con.unregister("_incoming")
            self.con.execute(
                "INSERT INTO blocks VALUES (?, ?, ?, ?)",
                [run_id, block, datetime.now(UTC), len(frame)],
            )
            checkpoint("block-mid-write")
            self.con.execute("COMMIT")
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        checkpoint("block-written")
        return len(frame)

    # -------------------------------------------------------------- reading
    def query(self, sql: str, params: list[Any] | None = None) -> pd.DataFrame:
        return self.con.execute(sql, params or []).df()

    def results(self, run_id: str | None = None) -> pd.DataFrame:
        if run_id is None:
            row = self.con.execute(
                "SELECT run_id FROM runs ORDER BY started DESC LIMIT 1"
            ).fetchone()
            if row is None:
                return pd.DataFrame(columns=COLUMNS)
            run_id = row[0]
        return self.query("SELECT * FROM results WHERE run_id = ?", [run_id])

    def export(self, sql: str, path: str | Path) -> Path:
        """Write a query's result to Parquet (``.parquet``) or CSV (``.csv``)."""
        path = Path(path)
        frame = self.query(sql)
        if path.suffix == ".parquet":
            frame.to_parquet(path, index=False)
        elif path.suffix == ".csv":
            frame.to_csv(path, index=False)
        else:
            raise ValueError(f"The export path must end in .parquet or .csv. Got {path.suffix!r}.")
        return path


def scalar_rows(values: Mapping[str, float], **labels: Any) -> pd.DataFrame:
    """Rows for a few named scalars (statistic -> value) sharing ``labels``."""
    frame = pd.DataFrame({"statistic": list(values), "value": [float(v) for v in values.values()]})
    for col in LABELS:
        if col != "statistic":
            value = labels.get(col)
            frame[col] = None if value is None else str(value)
    frame["value"] = frame["value"].astype(float)
    return frame[[*LABELS, "value"]]
