"""Persistent job store: one SQLite table of jobs plus the result files under the data directory.

Layout of `data_dir`:
  jobs.sqlite3                   the job table (WAL mode)
  results/<job_id>/<file name>   files of a SUCCEEDED job
  results/<job_id>.partial/      a result being written (removed at start-up if left behind)

A result is written to `.partial`, fsynced, renamed into place, and only then is the job marked
SUCCEEDED, so a crash at any point leaves either a complete result or none. At start-up
(`recover`) jobs that were QUEUED or RUNNING become INTERRUPTED: the server does not re-run them
by itself, because a job that was running when the process died may be what killed it, and the
client that wanted it may be gone; clients resubmit (same seed, same result).

Paths are built only from server-made job ids (32 hex digits) and file names that pass
`intrinsix.pbr.files.check_file_name`, and are checked to stay inside `results/`.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from intrinsix.pbr.files import check_file_name

from .protocol import FAILED, INTERRUPTED, QUEUED, RUNNING, SUCCEEDED
from .validation import JOB_ID

if TYPE_CHECKING:
    from intrinsix.pbr.files import ExportResult

SCHEMA_VERSION = 1
ABORTED_CODE = 10  # google.rpc.Code.ABORTED
DATA_LOSS_CODE = 15

_COLUMNS = ("job_id", "owner", "kind", "state", "client_request_id", "params", "created_at", "started_at",
            "finished_at", "device", "progress", "error_code", "error_message", "files", "manifest_json",
            "material_name", "profile")


@dataclass
class JobRecord:
    """One row of the job table."""

    job_id: str
    owner: str  # auth owner id ("" without auth)
    kind: int  # job_pb2.JobKind
    state: int  # job_pb2.JobState
    client_request_id: str
    params: bytes  # serialized job_pb2.GenerateParams or RoomParams, defaults resolved
    created_at: float  # unix seconds
    started_at: float | None = None
    finished_at: float | None = None
    device: str = ""
    progress: float = 0.0
    error_code: int = 0  # google.rpc.Code
    error_message: str = ""
    files: list[dict] = field(default_factory=list)  # ExportedFile.describe() per file, in order
    manifest_json: str = ""
    material_name: str = ""
    profile: str = ""

    @property
    def total_bytes(self) -> int:
        return sum(int(f["bytes"]) for f in self.files)


class JobStore:
    def __init__(self, data_dir: str | os.PathLike):
        self.data_dir = Path(data_dir)
        self.results_dir = self.data_dir / "results"
        self.results_dir.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.data_dir / "jobs.sqlite3", isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode survives process crashes (what `recover` is for); only an OS crash may
        # lose the last commits.
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(
            """
            CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS jobs (
                job_id TEXT PRIMARY KEY,
                owner TEXT NOT NULL,
                kind INTEGER NOT NULL,
                state INTEGER NOT NULL,
                client_request_id TEXT NOT NULL,
                params BLOB NOT NULL,
                created_at REAL NOT NULL,
                started_at REAL,
                finished_at REAL,
                device TEXT NOT NULL DEFAULT '',
                progress REAL NOT NULL DEFAULT 0,
                error_code INTEGER NOT NULL DEFAULT 0,
                error_message TEXT NOT NULL DEFAULT '',
                files TEXT NOT NULL DEFAULT '[]',
                manifest_json TEXT NOT NULL DEFAULT '',
                material_name TEXT NOT NULL DEFAULT '',
                profile TEXT NOT NULL DEFAULT ''
            );
            CREATE INDEX IF NOT EXISTS jobs_owner_created ON jobs (owner, created_at);
            CREATE INDEX IF NOT EXISTS jobs_finished ON jobs (finished_at);
            """
        )
        row = self._db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        if row is None:
            self._db.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
        elif int(row[0]) != SCHEMA_VERSION:
            raise RuntimeError(f"{self.data_dir / 'jobs.sqlite3'} has schema version {row[0]}; this server "
                               f"reads version {SCHEMA_VERSION}")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # ---- rows ---------------------------------------------------------------------------------
    def _exec(self, sql: str, args: Sequence = ()) -> sqlite3.Cursor:
        with self._lock:
            return self._db.execute(sql, args)

    @staticmethod
    def _record(row: Sequence) -> JobRecord:
        values = dict(zip(_COLUMNS, row))
        values["files"] = json.loads(values["files"])
        values["params"] = bytes(values["params"])
        return JobRecord(**values)

    def insert(self, record: JobRecord) -> None:
        values = [getattr(record, c) for c in _COLUMNS]
        values[_COLUMNS.index("files")] = json.dumps(record.files)
        self._exec(f"INSERT INTO jobs ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})", values)

    def get(self, job_id: str) -> JobRecord | None:
        row = self._exec(f"SELECT {', '.join(_COLUMNS)} FROM jobs WHERE job_id = ?", (job_id,)).fetchone()
        return None if row is None else self._record(row)

    def list(self, owner: str, states: Iterable[int] = (), client_request_id: str = "", limit: int = 100,
             before: tuple[float, str] | None = None) -> list[JobRecord]:
        """Jobs of `owner`, newest first; `before` = (created_at, job_id) of the previous page's last."""
        sql = f"SELECT {', '.join(_COLUMNS)} FROM jobs WHERE owner = ?"
        args: list = [owner]
        states = list(states)
        if states:
            sql += f" AND state IN ({', '.join('?' * len(states))})"
            args += states
        if client_request_id:
            sql += " AND client_request_id = ?"
            args.append(client_request_id)
        if before is not None:
            sql += " AND (created_at < ? OR (created_at = ? AND job_id < ?))"
            args += [before[0], before[0], before[1]]
        sql += " ORDER BY created_at DESC, job_id DESC LIMIT ?"
        args.append(limit)
        return [self._record(row) for row in self._exec(sql, args).fetchall()]

    def set_running(self, job_id: str, device: str, started_at: float) -> None:
        self._exec("UPDATE jobs SET state = ?, device = ?, started_at = ? WHERE job_id = ?",
                   (RUNNING, device, started_at, job_id))

    def set_finished(self, job_id: str, state: int, finished_at: float, error_code: int = 0,
                     error_message: str = "", progress: float | None = None) -> None:
        self._exec("UPDATE jobs SET state = ?, finished_at = ?, error_code = ?, error_message = ?, "
                   "progress = COALESCE(?, progress) WHERE job_id = ?",
                   (state, finished_at, error_code, error_message, progress, job_id))

    def set_succeeded(self, job_id: str, files: list[dict], manifest_json: str, material_name: str,
                      profile: str, finished_at: float) -> None:
        self._exec("UPDATE jobs SET state = ?, finished_at = ?, progress = 1, files = ?, manifest_json = ?, "
                   "material_name = ?, profile = ? WHERE job_id = ?",
                   (SUCCEEDED, finished_at, json.dumps(files), manifest_json, material_name, profile, job_id))

    def recover(self, now: float) -> int:
        """After a restart: QUEUED/RUNNING jobs -> INTERRUPTED; drop half-written and orphaned
        results. Returns the number of interrupted jobs."""
        cursor = self._exec(
            "UPDATE jobs SET state = ?, finished_at = ?, error_code = ?, error_message = ? WHERE state IN (?, ?)",
            (INTERRUPTED, now, ABORTED_CODE, "the server stopped before this job finished; submit it again",
             QUEUED, RUNNING))
        succeeded = {row[0] for row in self._exec("SELECT job_id FROM jobs WHERE state = ?", (SUCCEEDED,))}
        for entry in self.results_dir.iterdir():
            if entry.name not in succeeded:
                shutil.rmtree(entry, ignore_errors=True)
        for job_id in succeeded:
            record = self.get(job_id)
            missing = [f["name"] for f in record.files if not self.result_path(job_id, f["name"]).is_file()]
            if missing:
                self._exec("UPDATE jobs SET state = ?, error_code = ?, error_message = ? WHERE job_id = ?",
                           (FAILED, DATA_LOSS_CODE, f"result files lost from the data directory: {missing}", job_id))
        return cursor.rowcount

    def expire(self, cutoff: float) -> list[str]:
        """Delete terminal jobs that finished before `cutoff` (unix seconds) and their files."""
        rows = self._exec("SELECT job_id FROM jobs WHERE finished_at IS NOT NULL AND finished_at < ? "
                          "AND state NOT IN (?, ?)", (cutoff, QUEUED, RUNNING)).fetchall()
        expired = [row[0] for row in rows]
        for job_id in expired:
            self.discard_result(job_id)
            self._exec("DELETE FROM jobs WHERE job_id = ?", (job_id,))
        return expired

    # ---- files --------------------------------------------------------------------------------
    def _job_dir(self, job_id: str, suffix: str = "") -> Path:
        if not JOB_ID.match(job_id):
            raise ValueError(f"job id {job_id!r} is not 32 lowercase hex digits")
        return self.results_dir / (job_id + suffix)

    def result_path(self, job_id: str, name: str) -> Path:
        """Path of one stored result file (validated name; never outside results/)."""
        path = self._job_dir(job_id) / check_file_name(name)
        if path.resolve().parent != (self.results_dir / job_id).resolve():
            raise ValueError(f"file name {name!r} resolves outside the job's result folder")
        return path

    def write_result(self, job_id: str, result: ExportResult) -> list[dict]:
        """Write every file durably (thread-safe; no database access). Returns the file
        descriptions (ExportedFile.describe()) in delivery order."""
        partial = self._job_dir(job_id, ".partial")
        final = self._job_dir(job_id)
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        names = set()
        for exported in result.files:
            name = check_file_name(exported.name)
            if name in names:
                raise ValueError(f"the export has two files named {name!r}")
            names.add(name)
            with open(partial / name, "wb") as fh:
                fh.write(exported.data)
                fh.flush()
                os.fsync(fh.fileno())
        shutil.rmtree(final, ignore_errors=True)
        os.rename(partial, final)
        dir_fd = os.open(self.results_dir, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
        return [exported.describe() for exported in result.files]

    def discard_result(self, job_id: str) -> None:
        for suffix in ("", ".partial"):
            shutil.rmtree(self._job_dir(job_id, suffix), ignore_errors=True)
