"""The results database: every number of a run, labelled, in an embedded DuckDB file.

Tables
------
``runs``
    ``run_id``, ``study``, ``started``, ``finished``, ``status`` (running / computed /
    complete / failed / interrupted), ``config_hash`` (SHA-256 of the canonical config JSON),
    ``config`` (JSON), ``version`` (crossalign's), ``resume_key`` (SHA-256 of everything a
    resumed run must share with the stored one) and ``key_parts`` (JSON: the validated config,
    a content hash of every input, the version, backend and dtype) and ``note`` (what
    failed, e.g. the report of a run whose results are all computed).
``results``
    one row per labelled value: ``run_id``, ``dataset``, ``analysis`` (e.g.
    ``cross_region_matrix``, ``noise_ceiling``, ``brain_aps``, ``score``, ``aps``,
    ``layer_profile``, ``selected_layer``, ``model_matrix``, ``model_to_brain``,
    ``matrix_comparison``, ``equivalence``, ``paradigm``, ``paired_comparison``), ``model``,
    ``other_model`` (the second model of a paired comparison), ``paradigm``, ``weights`` (the
    pretrained weights' tag a model's rows were computed with, e.g. ``fb_in1k``), ``layer``,
    ``stimulus`` / ``target_stimulus`` (RDM entries and MDS coordinates),
    ``region``, ``target_region``, ``subject``, ``metric`` (with ``[outcome]`` for a
    ceiling-normalised outcome), ``outcome`` (``score``, ``norm_upper``, ``norm_lower``:
    what the value is computed on), ``split`` (train / test / all),
    ``statistic`` (value, mean, low, high, lower, upper, p_value, ...) and ``value``.
``blocks``
    which (run, dataset, model, block) writes are complete; a resumed run skips them.

``latest`` (a view)
    the ``results`` rows of the most recently finished run whose results are all computed
    (``complete``, or ``computed`` when its report was not written: ``note`` says why).

Each block of rows is written in one transaction together with its ``blocks`` entry, so a
failure (or a kill) never leaves a half-written block, and nothing already committed is lost.
Query with SQL (:func:`query_database`, ``crossalign results``: read-only, one SELECT, no
file access) or export to Parquet/CSV.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from crossalign._faults import checkpoint
from crossalign.errors import BusyError, InputError, MissingFileError
from crossalign.io.outputs import check_not_link, write_atomic

__all__ = [
    "COLUMNS",
    "ResultsStore",
    "export_frame",
    "query_database",
    "rows_from",
    "scalar_rows",
]

COLUMNS = [
    "run_id",
    "dataset",
    "analysis",
    "model",
    "other_model",
    "paradigm",
    "weights",
    "layer",
    "region",
    "target_region",
    "subject",
    "stimulus",
    "target_stimulus",
    "metric",
    "outcome",
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
    split VARCHAR, statistic VARCHAR, value DOUBLE, other_model VARCHAR, stimulus VARCHAR,
    target_stimulus VARCHAR);
CREATE TABLE IF NOT EXISTS blocks (
    run_id VARCHAR, block VARCHAR, written TIMESTAMP, n_rows BIGINT);
ALTER TABLE runs ADD COLUMN IF NOT EXISTS resume_key VARCHAR;
ALTER TABLE runs ADD COLUMN IF NOT EXISTS key_parts VARCHAR;
ALTER TABLE runs ADD COLUMN IF NOT EXISTS choices VARCHAR;
ALTER TABLE results ADD COLUMN IF NOT EXISTS other_model VARCHAR;
ALTER TABLE results ADD COLUMN IF NOT EXISTS stimulus VARCHAR;
ALTER TABLE results ADD COLUMN IF NOT EXISTS target_stimulus VARCHAR;
ALTER TABLE results ADD COLUMN IF NOT EXISTS outcome VARCHAR;
ALTER TABLE runs ADD COLUMN IF NOT EXISTS note VARCHAR;
ALTER TABLE results ADD COLUMN IF NOT EXISTS weights VARCHAR;
CREATE OR REPLACE VIEW latest AS SELECT * FROM results WHERE run_id = (
    SELECT run_id FROM runs WHERE status IN ('complete', 'computed')
    ORDER BY finished DESC LIMIT 1);
"""
UNFINISHED = ("running", "computed", "failed", "interrupted")


def config_hash(config: Mapping[str, Any]) -> str:
    text = json.dumps(config, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


_RENAMED = {"bound": "statistic"}


def _label_strings(values: np.ndarray) -> np.ndarray:
    """Label values as text, a missing one (None or NaN) as None, as an object array of the
    same shape."""
    flat = [None if x is None or x != x else str(x) for x in values.reshape(-1).tolist()]
    out = np.empty(len(flat), dtype=object)
    out[:] = flat
    return out.reshape(values.shape)


def _label_columns(data: xr.DataArray) -> dict[str, np.ndarray]:
    """The label columns of ``data`` in C order: each dimension's coordinate (positions
    where it has none) and every other coordinate, broadcast; text made once per value."""
    index = np.indices(data.shape).reshape(data.ndim, data.size)
    columns: dict[str, np.ndarray] = {}
    for axis, dim in enumerate(data.dims):
        coord = data[dim].values if dim in data.coords else np.arange(data.shape[axis])
        columns[_RENAMED.get(str(dim), str(dim))] = _label_strings(coord)[index[axis]]
    for name, coord in data.coords.items():
        if name not in data.dims:
            text = _label_strings(coord.broadcast_like(data).transpose(*data.dims).values)
            columns[_RENAMED.get(str(name), str(name))] = text.reshape(-1)
    return columns


def rows_from(data: xr.DataArray, **labels: Any) -> pd.DataFrame:
    """Long rows from a labelled DataArray: its dims and coordinates become label columns
    (``region``, ``target_region``, ``subject``, ``layer``, ``bound`` -> ``statistic``...),
    ``labels`` fill the rest (``analysis``, ``model``, ``metric``...). Labels are text; a
    missing label is null, a missing statistic ``"value"``.

    Parameters
    ----------
    data : xarray.DataArray
    **labels
        Values of the other label columns.

    Returns
    -------
    pandas.DataFrame
    """
    n = data.size
    columns = _label_columns(data)
    for key, value in labels.items():
        if key not in columns:
            columns[key] = np.full(n, None if value is None else str(value), dtype=object)
    statistic = columns.get("statistic")
    if statistic is None or all(x is None for x in statistic):
        fill = labels.get("statistic")
        statistic = np.full(n, "value" if fill is None else str(fill), dtype=object)
    else:
        statistic = _label_strings(np.array(["value" if x is None else x for x in statistic]))
    columns["statistic"] = statistic
    none = np.full(n, None, dtype=object)
    frame = {col: columns.get(col, none) for col in LABELS}
    frame["value"] = np.asarray(data.values, dtype=float).reshape(-1)
    return pd.DataFrame(frame)


class ResultsStore:
    """A DuckDB results file. Open with a path; use as a context manager or ``close()``.

    Parameters
    ----------
    path : str or Path
        The ``.duckdb`` file (created when missing).
    """

    def __init__(self, path: str | Path) -> None:
        self.path = check_not_link(Path(path), "results database")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.con = _connect(self.path, read_only=False)
        self.con.execute(_SCHEMA)

    def __enter__(self) -> ResultsStore:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        """Close the database connection."""
        self.con.close()

    # -------------------------------------------------------------- runs
    def start_run(
        self,
        study: str,
        config: Mapping[str, Any],
        version: str,
        key_parts: Mapping[str, Any] | None = None,
    ) -> str:
        """Record a new run (status ``running``) and return its id. Runs of any study left
        ``running`` by a process that died are marked ``interrupted`` (the output folder's
        lock guarantees that no other process writes here).

        Parameters
        ----------
        study : str
        config : mapping
            The study config, stored with the run.
        version : str
        key_parts : mapping, optional
            What a resume must match (inputs, backend, dtype ...).

        Returns
        -------
        str
        """
        digest = config_hash(config)
        parts = dict(key_parts or {})
        run_id = f"{study}-{datetime.now(UTC):%Y%m%dT%H%M%S%f}-{digest[:8]}"
        self.con.execute("UPDATE runs SET status = 'interrupted' WHERE status = 'running'")
        self.con.execute(
            "INSERT INTO runs (run_id, study, started, finished, status, config_hash, config, "
            "version, resume_key, key_parts, choices) "
            "VALUES (?, ?, ?, NULL, 'running', ?, ?, ?, ?, ?, ?)",
            [
                run_id,
                study,
                datetime.now(UTC),
                digest,
                json.dumps(config, default=str),
                version,
                config_hash(parts),
                json.dumps(parts, sort_keys=True, default=str),
                json.dumps(parts.get("choices"), sort_keys=True, default=str),
            ],
        )
        return run_id

    def unfinished_run(self, study: str) -> tuple[str, dict[str, Any]] | None:
        """The latest unfinished run of ``study``: ``(run_id, key_parts)``, or None.

        Parameters
        ----------
        study : str

        Returns
        -------
        tuple or None
        """
        row = self.con.execute(
            f"SELECT run_id, key_parts FROM runs WHERE study = ? AND status IN "
            f"({', '.join('?' for _ in UNFINISHED)}) ORDER BY started DESC LIMIT 1",
            [study, *UNFINISHED],
        ).fetchone()
        if row is None:
            return None
        return row[0], json.loads(row[1]) if row[1] else {}

    def reopen(self, run_id: str) -> None:
        """Mark a resumed run ``running`` again.

        Parameters
        ----------
        run_id : str
        """
        self.con.execute("UPDATE runs SET status = 'running' WHERE run_id = ?", [run_id])

    def finish(self, run_id: str, status: str = "complete", note: str | None = None) -> None:
        """Mark a run finished.

        Parameters
        ----------
        run_id : str
        status : str
            ``"complete"``, ``"computed"`` (every result stored, no report), or
            ``"failed"``/``"interrupted"``.
        note : str, optional
            What failed (stored in ``runs.note``).
        """
        self.con.execute(
            "UPDATE runs SET finished = ?, status = ?, note = ? WHERE run_id = ?",
            [datetime.now(UTC), status, note, run_id],
        )

    # -------------------------------------------------------------- blocks
    def has_block(self, run_id: str, block: str) -> bool:
        """Whether ``block`` of a run was written completely (a resume skips it).

        Parameters
        ----------
        run_id : str
        block : str

        Returns
        -------
        bool
        """
        row = self.con.execute(
            "SELECT count(*) FROM blocks WHERE run_id = ? AND block = ?", [run_id, block]
        ).fetchone()
        return bool(row and row[0])

    def write_block(self, run_id: str, block: str, frames: Iterable[pd.DataFrame]) -> int:
        """Write rows and mark ``block`` complete, in one transaction (all or nothing).

        Parameters
        ----------
        run_id : str
        block : str
        frames : iterable of pandas.DataFrame

        Returns
        -------
        int
            Rows written.
        """
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
            cols = ", ".join(COLUMNS)
            self.con.execute(f"INSERT INTO results ({cols}) SELECT {cols} FROM _incoming")
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
        """Run one SQL query on the store's connection (``crossalign results`` uses a
        read-only connection instead).

        Parameters
        ----------
        sql : str
        params : list, optional
            Values of the query's ``?`` placeholders.

        Returns
        -------
        pandas.DataFrame
        """
        return self.con.execute(sql, params or []).df()

    def results(self, run_id: str | None = None) -> pd.DataFrame:
        """The result rows of a run (default: the most recently started one).

        Parameters
        ----------
        run_id : str, optional

        Returns
        -------
        pandas.DataFrame
        """
        if run_id is None:
            row = self.con.execute(
                "SELECT run_id FROM runs ORDER BY started DESC LIMIT 1"
            ).fetchone()
            if row is None:
                return pd.DataFrame(columns=COLUMNS)
            run_id = row[0]
        return self.query("SELECT * FROM results WHERE run_id = ?", [run_id])


def scalar_rows(values: Mapping[Any, float], **labels: Any) -> pd.DataFrame:
    """Rows for a few named scalars (statistic -> value) sharing ``labels``.

    Parameters
    ----------
    values : mapping
        ``{statistic: value}``.
    **labels
        Values of the label columns.

    Returns
    -------
    pandas.DataFrame
    """
    frame = pd.DataFrame({"statistic": list(values), "value": [float(v) for v in values.values()]})
    for col in LABELS:
        if col != "statistic":
            value = labels.get(col)
            frame[col] = None if value is None else str(value)
    frame["value"] = frame["value"].astype(float)
    return frame[[*LABELS, "value"]]


def _connect(path: Path, *, read_only: bool) -> Any:
    """Open a DuckDB file; a file that is not one, a damaged one or one held by another
    process is an :class:`~crossalign.errors.InputError` naming it."""
    try:
        import duckdb
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "The results database needs duckdb: pip install 'crossalign[report]'"
        ) from exc
    config: dict[str, Any] = (
        {"enable_external_access": False, "lock_configuration": True} if read_only else {}
    )
    try:
        return duckdb.connect(str(path), read_only=read_only, config=config)
    except duckdb.Error as exc:
        text = str(exc)
        if "lock" in text.lower():
            raise BusyError(
                f"The database '{path}' is held by another process (a run still writing it?). "
                "Try again when it has finished."
            ) from None
        raise InputError(
            f"The file '{path}' could not be opened as a crossalign results database (DuckDB): "
            f"{text.splitlines()[0]}"
        ) from None


def query_database(path: str | Path, sql: str) -> pd.DataFrame:
    """Run one read-only ``SELECT`` on a results database.

    The connection is read-only with file access switched off, so a query can neither change
    the database nor read or write other files.

    Parameters
    ----------
    path : str or Path
        A ``results.duckdb`` file.
    sql : str
        Exactly one SELECT statement over ``runs``, ``results``, ``blocks`` or ``latest``.

    Returns
    -------
    pandas.DataFrame

    Raises
    ------
    MissingFileError, InputError, BusyError
        A missing or unreadable database, a query that is not one SELECT, a failing query.
    """
    import duckdb

    path = Path(path)
    if not path.is_file():
        raise MissingFileError(f"The database '{path}' does not exist.")
    con = _connect(path, read_only=True)
    try:
        try:
            statements = con.extract_statements(sql)
        except duckdb.Error as exc:
            raise InputError(f"The SQL query could not be parsed: {exc}") from None
        if len(statements) != 1 or statements[0].type != duckdb.StatementType.SELECT:
            kinds = [s.type.name for s in statements]
            raise InputError(
                f"The query must be exactly one SELECT statement (the database is read-only). "
                f"Got {len(statements)} statement(s) of type {kinds}."
            )
        try:
            return con.execute(sql).df()
        except duckdb.Error as exc:
            raise InputError(f"The SQL query failed: {exc}") from None
    finally:
        con.close()


def export_frame(frame: pd.DataFrame, path: str | Path, *, overwrite: bool = False) -> Path:
    """Write a query result to Parquet (``.parquet``) or CSV (``.csv``), atomically; an
    existing file that crossalign did not write is refused unless ``overwrite``.

    Parameters
    ----------
    frame : pandas.DataFrame
    path : str or Path
    overwrite : bool

    Returns
    -------
    Path
    """
    path = Path(path)
    writers = {
        ".parquet": lambda tmp: frame.to_parquet(tmp, index=False),
        ".csv": lambda tmp: frame.to_csv(tmp, index=False),
    }
    if path.suffix not in writers:
        raise InputError(f"The export path must end in .parquet or .csv. Got {path.suffix!r}.")
    if not path.parent.is_dir():
        raise InputError(
            f"The export path '{path}' is in a folder that does not exist ('{path.parent}')."
        )
    return write_atomic(path, writers[path.suffix], overwrite=overwrite)
