"""The results store: one SQLite file where every training run is a row keyed by its configuration.

A run's key is the SHA-256 of its configuration as canonical JSON (keys sorted, no spaces,
floats as ``repr``), after :meth:`Store.normalize` has filled in the actlab version and the
engine. Two fields are left out of the key because they do not change a run's result:
``study`` (a run can serve several studies; :meth:`Store.tag` links them) and ``runtime``
(where the data files are, how many workers, ...).

A row holds the configuration (JSON), the status, the per-epoch history and the diagnostics
(JSON), the error text of a failed run, the epoch at which a diverged run stopped, and times.

Statuses:

- ``running``  claimed by a worker process (``pid`` and its start time are recorded, so a row
  left behind by a killed worker is recognised and claimed again);
- ``done``     finished; a result, never recomputed;
- ``diverged`` the loss became NaN or infinite (``diverged_epoch``, 1-based, is the epoch in
  which it happened); also a result, never recomputed;
- ``failed``   an exception (its traceback in ``error``); retried when the study runs again.

Concurrency: WAL journal, a busy timeout, one connection per process (a forked child opens its
own). Claiming is one ``BEGIN IMMEDIATE`` transaction, so two workers never both get a run.

Schema versions: ``PRAGMA user_version`` holds the store's format (:data:`SCHEMA_VERSION`). A
store written by a newer actlab is refused (:class:`StoreError`) and left untouched; an older one
is brought up to date by the steps of :data:`MIGRATIONS`, in one transaction. ``read_only=True``
(``actlab runs list/show/export``, ``actlab report``) never writes, never creates a file, and
works on a read-only file or directory (an older store is migrated in a copy in memory).
A file that is not SQLite, not an actlab store or damaged is a :class:`StoreError` naming it.

>>> import tempfile, os
>>> s = Store(os.path.join(tempfile.mkdtemp(), "runs.sqlite"))
>>> cfg = {"model": {"hidden": "8"}, "seed": 0}
>>> k = Store.key(cfg)
>>> s.claim(k, cfg), s.claim(k, cfg)
(True, False)
>>> s.finish(k, "done", history={"loss": [0.5]})
>>> s.get(k)["status"], s.claim(k, cfg)
('done', False)
"""
from __future__ import annotations

import hashlib
import json
import math
import numbers
import os
import socket
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any, Iterable

__all__ = ["MIGRATIONS", "RESULT_STATUSES", "SCHEMA_VERSION", "STATUSES", "Store", "StoreError", "canonical_json",
           "default_path"]

STATUSES = ("running", "done", "diverged", "failed")
RESULT_STATUSES = ("done", "diverged")  # finished runs that are results; never recomputed
UNHASHED_FIELDS = ("study", "runtime")  # top-level config fields that do not change a result
STALE_AFTER = 3600.0  # a 'running' row not heard of for this long (and not provably alive) is free

# -- the format and its history --------------------------------------------------------------------
# Version 1: the runs and their study tags. Version 2: study definitions (the first stores of
# version 1 lacked that table) and a ``meta`` table recording which actlab wrote the format.
_V1 = (
    """CREATE TABLE IF NOT EXISTS runs (
    key            TEXT PRIMARY KEY,
    config         TEXT NOT NULL,
    status         TEXT NOT NULL,
    history        TEXT,
    diagnostics    TEXT,
    error          TEXT,
    diverged_epoch INTEGER,
    created        REAL NOT NULL,
    updated        REAL NOT NULL,
    seconds        REAL,
    pid            INTEGER,
    pid_start      TEXT,
    host           TEXT,
    attempts       INTEGER NOT NULL DEFAULT 0
)""",
    """CREATE TABLE IF NOT EXISTS study_runs (
    study   TEXT NOT NULL,
    key     TEXT NOT NULL,
    added   REAL NOT NULL,
    PRIMARY KEY (study, key)
)""",
    "CREATE INDEX IF NOT EXISTS study_runs_key ON study_runs (key)",
    "CREATE INDEX IF NOT EXISTS runs_status ON runs (status)",
)
_V2 = (
    """CREATE TABLE IF NOT EXISTS studies (
    name    TEXT PRIMARY KEY,
    kind    TEXT NOT NULL,
    params  TEXT NOT NULL,
    created REAL NOT NULL,
    updated REAL NOT NULL
)""",
    "CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
)


def _to_1(conn: sqlite3.Connection) -> None:
    """0 -> 1: an empty (new) file gets the runs and study_runs tables."""
    for stmt in _V1:
        conn.execute(stmt)


def _to_2(conn: sqlite3.Connection) -> None:
    """1 -> 2: the study definitions (missing from the first version-1 stores) and ``meta``."""
    for stmt in _V2:
        conn.execute(stmt)


SCHEMA_VERSION = 2
MIGRATIONS = {0: _to_1, 1: _to_2}  # version n -> n + 1, applied in order inside one transaction


class StoreError(ValueError):
    """A store that cannot be used as asked: newer format, not SQLite, damaged, read-only,
    missing (read-only use) or a bad path. The message is one line naming the file."""


def default_path() -> Path:
    """Where the store lives unless told: ``$ACTLAB_STORE``, else the user's data directory.

    Linux and other Unix: ``$XDG_DATA_HOME/actlab/runs.sqlite`` (``~/.local/share/...``);
    macOS: ``~/Library/Application Support/actlab/runs.sqlite``; Windows:
    ``%LOCALAPPDATA%\\actlab\\runs.sqlite``.
    """
    env = os.environ.get("ACTLAB_STORE")
    if env:
        return Path(env).expanduser()
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "actlab" / "runs.sqlite"


def _plain(value: Any, where: str = "config") -> Any:
    """JSON-able plain data: numpy scalars to Python, tuples to lists; NaN/inf and objects refused."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        f = float(value)
        if not math.isfinite(f):
            raise ValueError(f"{where} holds a non-finite number ({value!r}); a run configuration must be finite")
        return f
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise ValueError(f"{where} has a non-string key {k!r}")
            out[k] = _plain(v, f"{where}.{k}")
        return out
    if isinstance(value, (list, tuple)):
        return [_plain(v, f"{where}[{i}]") for i, v in enumerate(value)]
    raise ValueError(f"{where} holds {value!r} of type {type(value).__name__}, which is not JSON data")


def canonical_json(config: dict) -> str:
    """The canonical text of a configuration: sorted keys, no spaces, floats as ``repr``."""
    return json.dumps(_plain(config), sort_keys=True, separators=(",", ":"), allow_nan=False,
                      ensure_ascii=True)


def _proc_stat(pid: int) -> list[str] | None:
    """Fields 3.. of ``/proc/PID/stat`` (state, ppid, ...), or None where there is no /proc."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            data = fh.read().decode("ascii", "replace")
        return data.rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def _process_start(pid: int) -> str | None:
    """The start time of process ``pid`` (Linux ``/proc``), to tell a reused pid apart."""
    fields = _proc_stat(pid)
    return fields[19] if fields and len(fields) > 19 else None  # field 22 (starttime)


def _alive(pid: int | None, start: str | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    fields = _proc_stat(int(pid))
    if fields is not None:
        if fields[0] in ("Z", "X"):
            return False  # killed, not yet reaped
        if start is not None and len(fields) > 19 and fields[19] != start:
            return False  # the pid was reused by another process
    return True


def _loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def _problem(exc: BaseException) -> str:
    """SQLite's words for what went wrong, made plain where they are cryptic."""
    text = str(exc) or type(exc).__name__
    if "file is not a database" in text:
        return "not a SQLite database (file is not a database)"
    if "readonly" in text:
        return (f"it is read-only ({text}); `actlab runs list/show/export` and `actlab report` can read it, "
                "studies need a writable store")
    if "malformed" in text or "corrupt" in text:
        return f"the file is damaged ({text})"
    return text


class _Cursor(sqlite3.Cursor):
    """A cursor whose database errors become one-line :class:`StoreError` s naming the file."""

    def _fail(self, exc: sqlite3.Error):
        raise StoreError(f"the store {self.connection.store_path} cannot be used: {_problem(exc)}") from exc

    def execute(self, *args):
        try:
            return super().execute(*args)
        except sqlite3.DatabaseError as exc:
            self._fail(exc)

    def fetchone(self):
        try:
            return super().fetchone()
        except sqlite3.DatabaseError as exc:
            self._fail(exc)

    def fetchall(self):
        try:
            return super().fetchall()
        except sqlite3.DatabaseError as exc:
            self._fail(exc)


class _Connection(sqlite3.Connection):
    store_path = "?"

    def execute(self, *args):
        return self.cursor(_Cursor).execute(*args)


def _check_parents(path: Path) -> None:
    """A one-line error when a directory above ``path`` is a file (``mkdir`` would say less)."""
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise StoreError(f"cannot use the store {path}: {parent} is a file, not a directory")
            return


def _read_version(conn: sqlite3.Connection, path: Path) -> int:
    """The store's ``user_version``; StoreError for a newer format or a foreign SQLite file."""
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if version > SCHEMA_VERSION:
        from ._version import __version__

        written = ""
        try:
            row = conn.execute("SELECT value FROM meta WHERE name = 'schema_written_by'").fetchone()
            written = f" (written by actlab {row[0]})" if row else ""
        except StoreError:
            pass
        raise StoreError(
            f"the store {path} has schema version {version}{written}, newer than this actlab {__version__} "
            f"reads (up to {SCHEMA_VERSION}); upgrade actlab or give another --store. The file was not changed.")
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()}
    if version == 0 and tables and "runs" not in tables:
        raise StoreError(f"{path} is a SQLite database but not an actlab store (tables: {', '.join(sorted(tables))})")
    return version


def _migrate(conn: sqlite3.Connection, path: Path) -> None:
    """Bring the store to :data:`SCHEMA_VERSION` with the steps of :data:`MIGRATIONS`, atomically."""
    from ._version import __version__

    conn.execute("BEGIN IMMEDIATE")
    try:
        version = _read_version(conn, path)  # again: another process may have migrated meanwhile
        if version == SCHEMA_VERSION:
            conn.execute("COMMIT")
            return
        while version < SCHEMA_VERSION:
            MIGRATIONS[version](conn)
            version += 1
        conn.execute(f"PRAGMA user_version = {int(version)}")
        conn.execute("INSERT INTO meta (name, value) VALUES ('schema_written_by', ?) ON CONFLICT(name) "
                     "DO UPDATE SET value = excluded.value", (__version__,))
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


class Store:
    """A SQLite file of runs. ``Store()`` opens the default file (see :func:`default_path`).

    Args:
        path: the SQLite file; created with its directories when missing (unless read-only).
        stale_after: seconds after which a ``running`` row whose worker cannot be checked
            (another host) is considered abandoned. Default one hour; workers that report
            progress (``heartbeat``) keep their rows fresh.
        read_only: only read: the file must exist (:class:`StoreError` otherwise, and nothing is
            created), is opened with SQLite's ``mode=ro`` (``immutable`` when the directory is
            read-only too), and every write fails.

    Raises:
        StoreError: the path is a directory, a parent is a file, the file is not SQLite, not an
            actlab store, damaged, from a newer actlab (left untouched), or missing (read-only).
    """

    def __init__(self, path: str | os.PathLike | None = None, stale_after: float = STALE_AFTER,
                 read_only: bool = False):
        self.path = Path(path).expanduser() if path is not None else default_path()
        self.read_only = bool(read_only)
        if self.path.is_dir():
            raise StoreError(f"the store path {str(self.path)!r} is a directory; give a file such as runs.sqlite")
        _check_parents(self.path)
        if self.read_only and not self.path.exists():
            raise StoreError(f"no store at {self.path}: nothing was stored there yet (run a study such as "
                             "`actlab compare`, or give --store / $ACTLAB_STORE)")
        if not self.read_only:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(f"cannot create the store {self.path}: {exc.strerror or exc}") from exc
        self.stale_after = float(stale_after)
        self._conn_obj: sqlite3.Connection | None = None
        self._pid: int | None = None
        self._host = socket.gethostname()
        _ = self._conn  # open now (the property connects) so that a bad path fails here

    # -- connection (one per process) ----------------------------------------------------------
    @property
    def _conn(self) -> sqlite3.Connection:
        if self._conn_obj is None or self._pid != os.getpid():
            # after a fork the parent's connection must not be used: open our own
            conn = self._open_read_only() if self.read_only else self._open()
            self._conn_obj, self._pid = conn, os.getpid()
        return self._conn_obj

    def _connect(self, target: str, **kw) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(target, timeout=60.0, isolation_level=None, factory=_Connection, **kw)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the store {self.path}: {_problem(exc)}") from exc
        conn.store_path = str(self.path)
        return conn

    def _open(self) -> sqlite3.Connection:
        conn = self._connect(str(self.path))
        try:
            conn.execute("PRAGMA busy_timeout = 60000")
            version = _read_version(conn, self.path)  # before anything writes: a newer store stays as it is
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise StoreError(f"the store {str(self.path)!r} cannot use the WAL journal (got {mode!r})")
            conn.execute("PRAGMA synchronous = NORMAL")
            if version < SCHEMA_VERSION:
                _migrate(conn, self.path)
        except BaseException:
            conn.close()
            raise
        return conn

    def _open_read_only(self) -> sqlite3.Connection:
        uri = self.path.resolve().as_uri() + "?mode=ro"
        conn = None
        for target in (uri, uri + "&immutable=1"):
            # mode=ro on a WAL store needs its -shm file or a writable directory; where neither is
            # there, `immutable` reads the file as it is (nothing can write to that directory)
            conn = self._connect(target, uri=True)
            try:
                conn.execute("PRAGMA busy_timeout = 60000")
                version = _read_version(conn, self.path)
                break
            except StoreError as exc:
                conn.close()
                if target != uri or not isinstance(exc.__cause__, sqlite3.OperationalError):
                    raise
        if version < SCHEMA_VERSION:  # migrate a copy in memory; the file stays as it is
            mem = self._connect(":memory:")
            try:
                conn.backup(mem)
            except sqlite3.Error as exc:
                raise StoreError(f"the store {self.path} cannot be read: {_problem(exc)}") from exc
            finally:
                conn.close()
            _migrate(mem, self.path)
            conn = mem
        conn.execute("PRAGMA query_only = 1")
        return conn

    def close(self) -> None:
        if self._conn_obj is not None and self._pid == os.getpid():
            self._conn_obj.close()
        self._conn_obj = None

    def __getstate__(self):  # a Store sent to another process reopens the file there
        return {"path": str(self.path), "stale_after": self.stale_after, "read_only": self.read_only}

    def __setstate__(self, state):
        self.__init__(state["path"], state["stale_after"], state.get("read_only", False))

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r}" + (", read_only=True)" if self.read_only else ")")

    def schema_version(self) -> int:
        """The store's format version (``PRAGMA user_version``): :data:`SCHEMA_VERSION` once opened."""
        return int(self._conn.execute("PRAGMA user_version").fetchone()[0])

    def journal_mode(self) -> str:
        return str(self._conn.execute("PRAGMA journal_mode").fetchone()[0]).lower()

    # -- keys --------------------------------------------------------------------------------
    @staticmethod
    def normalize(config: dict) -> dict:
        """The configuration as stored: plain JSON data, with ``version`` and ``engine`` filled in."""
        if not isinstance(config, dict):
            raise ValueError(f"a run configuration must be a dict, got {type(config).__name__}")
        from ._version import __version__

        cfg = _plain(config)
        cfg.setdefault("engine", "numpy")   # stored before runs named their engine: the NumPy engine
        # (a fact about those runs, not actlab.backends.DEFAULT_BACKEND: their keys must not move with it)
        cfg.setdefault("version", __version__)
        return cfg

    @staticmethod
    def key(config: dict) -> str:
        """SHA-256 (hex) of the canonical JSON of the normalized configuration, ``study`` and
        ``runtime`` left out."""
        cfg = {k: v for k, v in Store.normalize(config).items() if k not in UNHASHED_FIELDS}
        return hashlib.sha256(canonical_json(cfg).encode("ascii")).hexdigest()

    # -- reading -----------------------------------------------------------------------------
    _COLUMNS = ("key", "config", "status", "history", "diagnostics", "error", "diverged_epoch",
                "created", "updated", "seconds", "pid", "host", "attempts")

    def _record(self, row: tuple) -> dict:
        rec = dict(zip(self._COLUMNS, row))
        for k in ("config", "history", "diagnostics"):
            rec[k] = _loads(rec[k])
        return rec

    def get(self, key: str) -> dict | None:
        """The record of run ``key`` (JSON fields parsed), or None."""
        row = self._conn.execute(f"SELECT {', '.join(self._COLUMNS)} FROM runs WHERE key = ?",
                                 (key,)).fetchone()
        return None if row is None else self._record(row)

    def find(self, prefix: str) -> dict:
        """The one run whose key starts with ``prefix`` (as ``git`` abbreviations)."""
        if not prefix or any(c not in "0123456789abcdef" for c in prefix.lower()):
            raise ValueError(f"{prefix!r} is not a run key (hexadecimal, as `actlab runs list` shows)")
        rows = self._conn.execute(f"SELECT {', '.join(self._COLUMNS)} FROM runs WHERE key LIKE ? LIMIT 3",
                                  (prefix.lower() + "%",)).fetchall()
        if not rows:
            raise ValueError(f"no run with a key starting {prefix!r} in {self.path}")
        if len(rows) > 1:
            raise ValueError(f"{prefix!r} matches several runs; give more characters of the key")
        return self._record(rows[0])

    def runs(self, study: str | None = None, status: str | Iterable[str] | None = None) -> list[dict]:
        """Records, oldest first; only those tagged ``study`` and/or with ``status`` when given."""
        sql = f"SELECT {', '.join('r.' + c for c in self._COLUMNS)} FROM runs r"
        args: list[Any] = []
        where = []
        if study is not None:
            sql += " JOIN study_runs s ON s.key = r.key"
            where.append("s.study = ?")
            args.append(study)
        if status is not None:
            wanted = [status] if isinstance(status, str) else list(status)
            for s in wanted:
                _check_status(s)
            where.append(f"r.status IN ({', '.join('?' * len(wanted))})")
            args += wanted
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY r.created, r.key"
        return [self._record(row) for row in self._conn.execute(sql, args).fetchall()]

    def studies(self) -> list[dict]:
        """Every study name in the store: ``{"name", "kind", "runs", "updated"}`` (kind None when
        the study was never defined with :meth:`define_study`)."""
        rows = self._conn.execute(
            "SELECT n.name, d.kind, (SELECT COUNT(*) FROM study_runs s JOIN runs r ON r.key = s.key "
            "WHERE s.study = n.name), d.updated FROM (SELECT study AS name FROM study_runs UNION "
            "SELECT name FROM studies) n LEFT JOIN studies d ON d.name = n.name ORDER BY n.name").fetchall()
        return [{"name": n, "kind": k, "runs": c, "updated": u} for n, k, c, u in rows]

    def define_study(self, name: str, kind: str, params: dict) -> None:
        """Record what a study is (``kind``, e.g. ``"compare"``) and the parameters its report
        needs (activations in order, baseline, target, ...), so ``actlab report`` can rebuild it."""
        if not isinstance(name, str) or not name:
            raise ValueError(f"a study name must be a non-empty string, got {name!r}")
        now = time.time()
        self._conn.execute(
            "INSERT INTO studies (name, kind, params, created, updated) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT(name) DO UPDATE SET kind = excluded.kind, params = excluded.params, "
            "updated = excluded.updated", (name, kind, json.dumps(_jsonable(params)), now, now))

    def study_info(self, name: str) -> dict | None:
        """``{"name", "kind", "params", "created", "updated"}`` of a defined study, or None."""
        row = self._conn.execute("SELECT name, kind, params, created, updated FROM studies WHERE name = ?",
                                 (name,)).fetchone()
        if row is None:
            return None
        return {"name": row[0], "kind": row[1], "params": json.loads(row[2]), "created": row[3], "updated": row[4]}

    def tags(self, key: str) -> list[str]:
        return [r[0] for r in self._conn.execute(
            "SELECT study FROM study_runs WHERE key = ? ORDER BY study", (key,)).fetchall()]

    def keys(self, study: str) -> list[str]:
        """The keys tagged ``study`` in the order they were tagged (runs not stored yet included)."""
        return [r[0] for r in self._conn.execute(
            "SELECT key FROM study_runs WHERE study = ? ORDER BY added, rowid", (study,)).fetchall()]

    # -- writing -----------------------------------------------------------------------------
    def tag(self, key: str, study: str) -> None:
        """Mark run ``key`` as part of ``study`` (a run can belong to several studies)."""
        if not isinstance(study, str) or not study:
            raise ValueError(f"a study name must be a non-empty string, got {study!r}")
        self._conn.execute("INSERT OR IGNORE INTO study_runs (study, key, added) VALUES (?, ?, ?)",
                           (study, key, time.time()))

    def claim(self, key: str, config: dict) -> bool:
        """Mark run ``key`` as running in this process; False when it is a result already
        (done, diverged) or another live process runs it. A failed run, or a running row whose
        process is gone (or silent for ``stale_after`` seconds), is claimed again."""
        cfg_text = canonical_json(self.normalize(config))
        now = time.time()
        pid = os.getpid()
        start = _process_start(pid)
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            row = conn.execute("SELECT status, pid, pid_start, host, updated FROM runs WHERE key = ?",
                               (key,)).fetchone()
            if row is None:
                conn.execute(
                    "INSERT INTO runs (key, config, status, created, updated, pid, pid_start, host, attempts) "
                    "VALUES (?, ?, 'running', ?, ?, ?, ?, ?, 1)",
                    (key, cfg_text, now, now, pid, start, self._host))
                conn.execute("COMMIT")
                return True
            status, old_pid, old_start, host, updated = row
            if status in RESULT_STATUSES:
                conn.execute("COMMIT")
                return False
            if status == "running":
                mine = host == self._host and old_pid == pid and old_start == start
                if mine:
                    conn.execute("COMMIT")
                    return False  # already running here (a re-entrant call)
                gone = (host == self._host and not _alive(old_pid, old_start)) or \
                    (now - float(updated) > self.stale_after)
                if not gone:
                    conn.execute("COMMIT")
                    return False
            conn.execute(
                "UPDATE runs SET status = 'running', config = ?, history = NULL, diagnostics = NULL, "
                "error = NULL, diverged_epoch = NULL, seconds = NULL, updated = ?, pid = ?, pid_start = ?, "
                "host = ?, attempts = attempts + 1 WHERE key = ?",
                (cfg_text, now, pid, start, self._host, key))
            conn.execute("COMMIT")
            return True
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def heartbeat(self, key: str) -> None:
        """Tell the store that this process still works on ``key``."""
        self._conn.execute("UPDATE runs SET updated = ? WHERE key = ? AND status = 'running' AND pid = ?",
                           (time.time(), key, os.getpid()))

    def finish(self, key: str, status: str, history: dict | None = None, diagnostics: dict | None = None,
               error: str | None = None, diverged_epoch: int | None = None,
               seconds: float | None = None) -> None:
        """Record the outcome of run ``key`` (``done``, ``diverged`` or ``failed``)."""
        _check_status(status)
        if status == "running":
            raise ValueError("finish() records an outcome: status must be 'done', 'diverged' or 'failed', got 'running'")
        if status == "diverged" and diverged_epoch is None:
            raise ValueError("a diverged run needs the epoch it diverged in (diverged_epoch=)")
        cur = self._conn.execute(
            "UPDATE runs SET status = ?, history = ?, diagnostics = ?, error = ?, diverged_epoch = ?, "
            "seconds = ?, updated = ? WHERE key = ?",
            (status, _dumps(history), _dumps(diagnostics), error,
             None if diverged_epoch is None else int(diverged_epoch),
             None if seconds is None else float(seconds), time.time(), key))
        if cur.rowcount == 0:
            raise KeyError(f"no run {key!r} in the store: claim() it before finish()")

    def release(self, key: str) -> bool:
        """Forget a ``running`` claim of this process (an interrupted run); True if one was removed."""
        cur = self._conn.execute("DELETE FROM runs WHERE key = ? AND status = 'running' AND pid = ?",
                                 (key, os.getpid()))
        return cur.rowcount > 0

    def release_dead(self, keys: Iterable[str] | None = None, *, mark_failed: str | None = None) -> list[str]:
        """Claims of processes on this host that no longer exist: removed, or marked failed with
        the message ``mark_failed``. Returns their keys."""
        rows = self._conn.execute("SELECT key, pid, pid_start, host FROM runs WHERE status = 'running'").fetchall()
        wanted = None if keys is None else set(keys)
        dead = [k for k, pid, start, host in rows
                if (wanted is None or k in wanted) and host == self._host and not _alive(pid, start)]
        for k in dead:
            if mark_failed is None:
                self._conn.execute("DELETE FROM runs WHERE key = ? AND status = 'running'", (k,))
            else:
                self._conn.execute("UPDATE runs SET status = 'failed', error = ?, updated = ? "
                                   "WHERE key = ? AND status = 'running'", (mark_failed, time.time(), k))
        return dead

    def delete(self, key: str) -> bool:
        """Remove a run (and its study tags)."""
        self._conn.execute("DELETE FROM study_runs WHERE key = ?", (key,))
        return self._conn.execute("DELETE FROM runs WHERE key = ?", (key,)).rowcount > 0


def _check_status(status: str) -> None:
    if status not in STATUSES:
        raise ValueError(f"unknown run status {status!r}; valid: {', '.join(STATUSES)}")


def _dumps(value: Any) -> str | None:
    if value is None:
        return None
    return json.dumps(_jsonable(value), separators=(",", ":"))


def _jsonable(value: Any) -> Any:
    """History and diagnostics as JSON: numpy arrays and scalars become lists and numbers."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "tolist") and callable(value.tolist):  # numpy arrays and scalars
        return _jsonable(value.tolist())
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    raise ValueError(f"cannot store {value!r} of type {type(value).__name__} as JSON")
