"""The store file itself: schema versions (refuse newer, migrate older), read-only use, bad files.

Each CLI check asserts exit status 2, one line on stderr naming the file, and no traceback.
"""
from __future__ import annotations

import os
import shutil
import sqlite3
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from actlab.cli import main
from actlab.store import MIGRATIONS, SCHEMA_VERSION, Store, StoreError

SRC = Path(__file__).resolve().parents[1] / "src"

# the format of the first release (commit 8774508): no `studies` table, user_version 1
_FIRST_FORMAT = """
CREATE TABLE runs (key TEXT PRIMARY KEY, config TEXT NOT NULL, status TEXT NOT NULL, history TEXT,
    diagnostics TEXT, error TEXT, diverged_epoch INTEGER, created REAL NOT NULL, updated REAL NOT NULL,
    seconds REAL, pid INTEGER, pid_start TEXT, host TEXT, attempts INTEGER NOT NULL DEFAULT 0);
CREATE TABLE study_runs (study TEXT NOT NULL, key TEXT NOT NULL, added REAL NOT NULL, PRIMARY KEY (study, key));
CREATE INDEX study_runs_key ON study_runs (key);
CREATE INDEX runs_status ON runs (status);
PRAGMA user_version = 1;
"""


def _cli(*args):
    res = CliRunner().invoke(main, list(args))
    return res.exit_code, res.output, res.exception


def _assert_one_line_error(code, output, exc, *needles):
    assert code == 2, (code, output, exc)
    assert not isinstance(exc, Exception) or isinstance(exc, SystemExit), exc
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("actlab: error:"), output
    assert "Traceback" not in output
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])


def _snapshot(directory: Path) -> dict:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


def _store_with_runs(path: Path, n: int = 2, study: str = "adhoc") -> list[str]:
    store = Store(path)
    keys = []
    for seed in range(n):
        cfg = {"seed": seed, "model": {"activation": {"name": "relu"}}}
        key = Store.key(cfg)
        store.claim(key, cfg)
        store.tag(key, study)
        store.finish(key, "done", history={"epoch": [1, 2], "val_accuracy": [0.5, 0.6], "loss": [1.0, 0.5]})
        keys.append(key)
    store.close()
    return keys


# -- schema versions ------------------------------------------------------------------------------
def test_migrations_cover_every_version():
    assert sorted(MIGRATIONS) == list(range(SCHEMA_VERSION))


def test_newer_store_is_refused_and_left_byte_identical(tmp_path):
    path = tmp_path / "runs.sqlite"
    keys = _store_with_runs(path)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 99")
    conn.execute("INSERT INTO meta (name, value) VALUES ('schema_written_by', '9.0') "
                 "ON CONFLICT(name) DO UPDATE SET value = excluded.value")
    conn.commit()
    conn.close()
    before = _snapshot(tmp_path)
    for read_only in (False, True):
        with pytest.raises(StoreError, match=rf"schema version 99 \(written by actlab 9\.0\).*up to {SCHEMA_VERSION}"):
            Store(path, read_only=read_only)
    for args in (["runs", "list"], ["runs", "show", keys[0][:8]], ["report", "--all"]):
        _assert_one_line_error(*_cli(*args, "--store", str(path)), str(path), "99", f"up to {SCHEMA_VERSION}")
    with pytest.raises(StoreError):
        from actlab.studies.runner import Task, run_tasks

        run_tasks([Task({"seed": 0}, "x")], store=Store(path), progress=False)
    assert _snapshot(tmp_path) == before  # the file and its directory, byte for byte
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == 99


def _first_format_store(path: Path) -> str:
    conn = sqlite3.connect(path)
    conn.executescript(_FIRST_FORMAT)
    cfg = '{"engine":"numpy","seed":0,"version":"0.1.0"}'
    conn.execute("INSERT INTO runs (key, config, status, history, created, updated, attempts) "
                 "VALUES ('ab12', ?, 'done', '{\"loss\":[0.5]}', 1.0, 2.0, 1)", (cfg,))
    conn.execute("INSERT INTO study_runs VALUES ('old', 'ab12', 1.0)")
    conn.commit()
    conn.close()
    return cfg


def test_old_format_store_is_migrated(tmp_path):
    path = tmp_path / "runs.sqlite"
    _first_format_store(path)
    store = Store(path)
    assert store.schema_version() == SCHEMA_VERSION
    rec = store.get("ab12")
    assert rec["status"] == "done" and rec["history"] == {"loss": [0.5]} and store.tags("ab12") == ["old"]
    store.define_study("old", "adhoc", {"x": 1})  # the table the first format lacked
    assert [s["name"] for s in store.studies()] == ["old"] and store.study_info("old")["params"] == {"x": 1}
    store.close()
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")} >= {"studies", "meta"}


def test_a_failed_migration_changes_nothing(tmp_path, monkeypatch):
    import actlab.store as store_mod

    path = tmp_path / "runs.sqlite"
    _first_format_store(path)

    def broken(conn):
        conn.execute("CREATE TABLE studies (name TEXT)")
        raise RuntimeError("disk full, say")

    monkeypatch.setitem(store_mod.MIGRATIONS, 1, broken)
    with pytest.raises(RuntimeError, match="disk full"):
        Store(path)
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
    assert {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")} == {"runs", "study_runs"}
    assert conn.execute("SELECT key FROM runs").fetchall() == [("ab12",)]


def test_old_format_store_read_only_is_migrated_in_memory(tmp_path):
    path = tmp_path / "runs.sqlite"
    _first_format_store(path)
    before = _snapshot(tmp_path)
    store = Store(path, read_only=True)
    assert store.schema_version() == SCHEMA_VERSION
    assert [r["key"] for r in store.runs(study="old")] == ["ab12"] and store.studies()[0]["name"] == "old"
    with pytest.raises(StoreError, match="readonly"):
        store.define_study("new", "adhoc", {})
    store.close()
    assert _snapshot(tmp_path) == before
    code, out, exc = _cli("runs", "list", "--store", str(path))
    assert code == 0 and "ab12" in out, (out, exc)


def test_a_new_store_starts_at_the_current_version(tmp_path):
    store = Store(tmp_path / "a" / "b" / "runs.sqlite")
    assert store.schema_version() == SCHEMA_VERSION and store.journal_mode() == "wal"


# -- read-only use --------------------------------------------------------------------------------
def test_read_only_commands_create_nothing_where_there_is_no_store(tmp_path):
    path = tmp_path / "nowhere" / "runs.sqlite"
    for args in (["runs", "list"], ["runs", "show", "abc"], ["runs", "export", "-o", str(tmp_path / "x.csv")],
                 ["report", "--all"]):
        _assert_one_line_error(*_cli(*args, "--store", str(path)), f"no store at {path}")
    with pytest.raises(StoreError, match="no store at"):
        Store(path, read_only=True)
    assert list(tmp_path.iterdir()) == []


def test_read_only_store_sees_a_live_writers_wal(tmp_path):
    path = tmp_path / "runs.sqlite"
    writer = Store(path)
    cfg = {"seed": 1}
    writer.claim(Store.key(cfg), cfg)  # committed to the WAL, not yet checkpointed
    assert (tmp_path / "runs.sqlite-wal").stat().st_size > 0
    reader = Store(path, read_only=True)
    assert [r["key"] for r in reader.runs()] == [Store.key(cfg)]
    with pytest.raises(StoreError, match="readonly"):
        reader.tag(Store.key(cfg), "x")


_READER = """
import sys
from actlab.cli import main
sys.argv = ["actlab"] + sys.argv[1:]
main()
"""


# root ignores file modes, so as root the reader runs either with the capabilities that override them
# dropped (setpriv; works wherever root can reach this Python) or as `nobody` (needs a Python that
# `nobody` can reach). CI checks out as root under a directory `nobody` cannot enter.
_DROP = "-dac_override,-dac_read_search,-fowner"
_WAYS = [("ourselves", [], {})] if os.name == "posix" and os.geteuid() != 0 else [
    ("root without DAC capabilities", [shutil.which("setpriv") or "setpriv", f"--bounding-set={_DROP}",
                                       f"--inh-caps={_DROP}"], {}),
    ("nobody", [], {"user": 65534, "group": 65534, "extra_groups": []}),
]


def _run_as(way, args, cwd):
    _, prefix, kw = way
    env = {**os.environ, "PYTHONPATH": str(SRC) + os.pathsep + os.environ.get("PYTHONPATH", ""),
           "HOME": str(cwd), "MPLCONFIGDIR": str(cwd / "mpl")}
    return subprocess.run([*prefix, sys.executable, "-c", _READER, *args], check=False, cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120, **kw)


def _reader_without_write_permission(cwd):
    """The first way to run the CLI as a process that file modes apply to, proven by writing a
    read-only file and failing; skip (saying why) only when no way exists on this machine."""
    ro = cwd / "probe-readonly"
    ro.write_text("x")
    ro.chmod(0o444)
    why = []
    for way in _WAYS:
        try:
            res = _run_as(way, ["--version"], cwd)
        except OSError as e:
            why.append(f"{way[0]}: {e}")
            continue
        if res.returncode != 0:
            why.append(f"{way[0]}: {res.stderr.strip()[-200:]}")
            continue
        env = {**os.environ}
        try:
            w = subprocess.run([*way[1], sys.executable, "-c", f"open({str(ro)!r}, 'a')"], check=False, env=env,
                               capture_output=True, text=True, timeout=60, **way[2])
        except OSError as e:
            why.append(f"{way[0]}: {e}")
            continue
        if w.returncode != 0 and "Permission denied" in w.stderr:
            ro.unlink()
            return way
        why.append(f"{way[0]}: could write a read-only file")
    pytest.skip("no way to run a reader that file modes apply to: " + "; ".join(why))


@pytest.mark.skipif(not hasattr(os, "geteuid"), reason="POSIX file modes")
@pytest.mark.parametrize("directory_writable", [False, True])
def test_read_only_commands_on_a_read_only_file(directory_writable):
    base = Path(tempfile.mkdtemp(prefix="actlab-ro-"))
    try:
        base.chmod(0o777)  # the other user's HOME and report directory
        way = _reader_without_write_permission(base)
        sdir = base / "store"
        sdir.mkdir()
        path = sdir / "runs.sqlite"
        keys = _store_with_runs(path)
        path.chmod(0o444)
        if directory_writable:
            sdir.chmod(0o777)
        else:
            sdir.chmod(0o555)
        before = _snapshot(sdir)
        res = _run_as(way, ["runs", "list", "--store", str(path)], base)
        assert res.returncode == 0 and all(k[:12] in res.stdout for k in keys), res.stderr
        res = _run_as(way, ["runs", "show", keys[1][:10], "--store", str(path)], base)
        assert res.returncode == 0 and keys[1] in res.stdout, res.stderr
        res = _run_as(way, ["report", "--study", "adhoc", "-o", str(base / "report"), "--store", str(path)], base)
        assert res.returncode == 0 and (base / "report" / "index.html").exists(), res.stderr
        if not directory_writable:
            assert _snapshot(sdir) == before
        assert path.read_bytes() == before["runs.sqlite"]
        # a study needs a writable store: one line, exit 2
        res = _run_as(way, ["depth", "--dataset", "digits", "--store", str(path)], base)
        assert res.returncode == 2 and "read-only" in res.stderr and "Traceback" not in res.stderr, res.stderr
    finally:
        for p in base.rglob("*"):
            if p.is_dir():
                p.chmod(stat.S_IRWXU)
        shutil.rmtree(base, ignore_errors=True)


# -- bad files ------------------------------------------------------------------------------------
def test_a_file_that_is_not_sqlite(tmp_path):
    path = tmp_path / "runs.sqlite"
    path.write_text("these are my notes, not a database\n" * 200)
    before = _snapshot(tmp_path)
    for read_only in (False, True):
        with pytest.raises(StoreError, match=r"runs\.sqlite.*not a SQLite database"):
            Store(path, read_only=read_only)
    _assert_one_line_error(*_cli("runs", "list", "--store", str(path)), str(path), "not a SQLite database")
    assert _snapshot(tmp_path) == before


def test_a_sqlite_file_of_another_program(tmp_path):
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE contacts (name TEXT)")
    conn.commit()
    conn.close()
    before = _snapshot(tmp_path)
    with pytest.raises(StoreError, match="not an actlab store.*contacts"):
        Store(path)
    assert _snapshot(tmp_path) == before


def test_a_damaged_store(tmp_path):
    path = tmp_path / "runs.sqlite"
    _store_with_runs(path, n=40)
    data = bytearray(path.read_bytes())
    page = int.from_bytes(data[16:18], "big")
    assert len(data) > 3 * page
    data[page:] = b"\xa5" * (len(data) - page)  # every page but the first: garbage
    path.write_bytes(bytes(data))
    code, out, exc = _cli("runs", "list", "--store", str(path))
    _assert_one_line_error(code, out, exc, str(path), "damaged")
    with pytest.raises(StoreError, match="damaged"):
        Store(path).runs()


def test_a_parent_that_is_a_file(tmp_path):
    (tmp_path / "notes.txt").write_text("x")
    path = tmp_path / "notes.txt" / "runs.sqlite"
    for read_only in (False, True):
        with pytest.raises(StoreError, match=r"notes\.txt is a file, not a directory"):
            Store(path, read_only=read_only)
    _assert_one_line_error(*_cli("runs", "list", "--store", str(path)), "notes.txt is a file")
    _assert_one_line_error(*_cli("depth", "--dataset", "digits", "--store", str(path)), "notes.txt is a file")
    assert (tmp_path / "notes.txt").read_text() == "x"


def test_a_directory_is_not_a_store(tmp_path):
    for read_only in (False, True):
        with pytest.raises(StoreError, match="is a directory"):
            Store(tmp_path, read_only=read_only)
