"""The executors behind the study runner: no worker outlives its study, progress inside runs."""
from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time

import pytest

from actlab.store import Store
from actlab.studies import runner
from actlab.studies.executors import Job, LocalExecutor, make_executor
from actlab.studies.runner import Task, make_config, run_tasks, train_run


def _session_members(sid: int) -> list[int]:
    """Pids of the live processes in session ``sid`` (from /proc)."""
    pids = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as fh:
                fields = fh.read().decode("ascii", "replace").rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == sid and fields[0] not in ("Z", "X"):
            pids.append(int(name))
    return pids


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs /proc to find the study's processes")
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_no_worker_outlives_a_killed_compare(tmp_path, sig):
    cmd = [sys.executable, "-c", "from actlab.cli import main; main()", "compare", "--dataset", "digits",
           "--activations", "relu,tanh", "--seeds", "2", "--epochs", "400", "--hidden", "32", "--workers", "2",
           "--store", str(tmp_path / "r.sqlite"), "--out", str(tmp_path / "report"), "--no-progress"]
    proc = subprocess.Popen(cmd, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        store = None
        while time.monotonic() < deadline:  # until both workers train (the driver has claimed their runs)
            assert proc.poll() is None, proc.stderr.read().decode()
            if (tmp_path / "r.sqlite").exists():
                store = store or Store(tmp_path / "r.sqlite")
                if len(_session_members(proc.pid)) >= 3 and store.runs(status="running"):
                    break
            time.sleep(0.2)
        else:
            pytest.fail("the compare never started its workers")
        time.sleep(1.0)
        members = set(_session_members(proc.pid)) - {proc.pid}
        assert len(members) >= 2, members
        os.kill(proc.pid, sig)
        proc.wait(30)
        deadline = time.monotonic() + 10
        while _session_members(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        left = _session_members(proc.pid)
        assert left == [], f"processes of the killed compare still alive after 10 s: {left}"
    finally:
        for pid in _session_members(proc.pid):
            os.kill(pid, signal.SIGKILL)
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def _alive(pid: int) -> bool:
    """Running (a zombie awaiting its reaper is dead)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return fh.read().decode("ascii", "replace").rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return True


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs /proc to find the study's processes")
def test_ctrl_c_stops_a_compare_its_workers_and_says_how_to_resume(tmp_path):
    """Ctrl-C (SIGINT to the whole process group, as a terminal sends it): exit 130, the message,
    no process left, and the interrupted runs forgotten (not left 'running')."""
    # Ctrl-C's default action, as in a terminal: a test runner started in the background (`cmd &` in a
    # non-interactive shell) ignores SIGINT, and an ignored signal stays ignored across exec
    cmd = [sys.executable, "-c", "import signal; signal.signal(signal.SIGINT, signal.default_int_handler); "
           "from actlab.cli import main; main()", "compare", "--dataset", "digits",
           "--activations", "relu,tanh", "--seeds", "2", "--epochs", "400", "--hidden", "32", "--workers", "2",
           "--store", str(tmp_path / "r.sqlite"), "--out", str(tmp_path / "report"), "--no-progress"]
    proc = subprocess.Popen(cmd, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert proc.poll() is None, proc.stderr.read()
            if len(_session_members(proc.pid)) >= 3 and (tmp_path / "r.sqlite").exists() and \
                    Store(tmp_path / "r.sqlite").runs(status="running"):
                break
            time.sleep(0.2)
        else:
            pytest.fail("the compare never started its workers")
        time.sleep(1.0)
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 130, err
        assert "interrupted" in err and "run the same command again to resume" in err
        deadline = time.monotonic() + 10
        while _session_members(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _session_members(proc.pid) == []
        assert Store(tmp_path / "r.sqlite").runs(status="running") == []
    finally:
        for pid in _session_members(proc.pid):
            os.kill(pid, signal.SIGKILL)
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


ORPHAN = """
import multiprocessing, os, sys, time

def child(parent):
    sys.platform = "portable"          # no prctl: only the watchdog thread can end this process
    from actlab.studies.executors.local import die_with_parent
    die_with_parent(parent)
    time.sleep(60)

if __name__ == "__main__":
    p = multiprocessing.get_context("spawn").Process(target=child, args=(os.getpid(),))
    p.start()
    print(p.pid, flush=True)
    time.sleep(2)                      # the child is watching
    os._exit(0)                        # the parent vanishes without a word
"""


def test_the_parent_watchdog_ends_an_orphan_without_prctl(tmp_path):
    script = tmp_path / "orphan.py"
    script.write_text(ORPHAN)
    parent = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    child = int(parent.stdout.readline())
    parent.wait(60)
    parent.stdout.close()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if not _alive(child):
            break
        time.sleep(0.1)
    else:
        os.kill(child, signal.SIGKILL)
        pytest.fail("the orphaned child was still alive 10 s after its parent died")


class _Events:
    def __init__(self):
        self.log = []

    def started(self, key):
        self.log.append(("started", key))

    def epoch(self, key, epoch, epochs, logs):
        self.log.append(("epoch", key, epoch, epochs, sorted(logs)))

    def finished(self, key, outcome):
        self.log.append(("finished", key, outcome.result["status"] if outcome.result else outcome.error))


@pytest.mark.parametrize("workers", [1, 2])
def test_workers_stream_epochs_before_their_run_finishes(workers):
    cfgs = [make_config(study="p", hidden="8", epochs=3, batch_size=200, seed=s) for s in (0, 1)]
    jobs = [Job(Store.key(c), c) for c in cfgs]
    events = _Events()
    LocalExecutor(workers).run(jobs, train_run, events)
    for job in jobs:
        mine = [e for e in events.log if e[1] == job.key]
        assert [e[0] for e in mine] == ["started", "epoch", "epoch", "epoch", "finished"], mine
        assert [e[2] for e in mine[1:4]] == [1, 2, 3] and all(e[3] == 3 for e in mine[1:4])
        assert mine[1][4] == ["accuracy", "loss", "val_accuracy"]
        assert mine[-1][2] == "done"


def test_the_progress_display_shows_epochs_of_running_runs(tmp_path, monkeypatch):
    """A forced terminal: the second bar counts the epochs of the runs in flight and names them."""
    from rich.console import Console

    frames = []

    class Recording(runner.Progress):
        def __init__(self, *a, **kw):
            self.buffer = io.StringIO()
            super().__init__(*a, console=Console(file=self.buffer, force_terminal=True, width=200), **kw)

        def epoch(self, key, epoch, epochs, logs=None):
            super().epoch(key, epoch, epochs, logs)
            frames.append((self.epochs_done, self.epochs_total, self.done, self.running_text()))

        def __exit__(self, *exc):
            super().__exit__(*exc)
            frames.append(self.buffer.getvalue())

    monkeypatch.setattr(runner, "_Bar", Recording)
    tasks = [Task(make_config(study="p", hidden="8", epochs=4, batch_size=200, seed=s, activation=a), "p")
             for s in (0, 1) for a in ("relu", "tanh")]
    run_tasks(tasks, train_run, Store(tmp_path / "r.sqlite"), workers=2, progress=True)
    updates, text = frames[:-1], frames[-1]
    assert len(updates) == 16                        # every epoch of every run, while it ran
    assert all(total == 16 for _, total, _, _ in updates)
    # epochs advance while no run has finished yet: the first epochs arrive with 0 runs done
    assert any(done_runs == 0 and 0 < done_epochs < 4 for done_epochs, _, done_runs, _ in updates)
    assert any("seed" in running and "/4" in running for *_, running in updates)
    assert "16/16" in text and "4/4" in text


def test_make_executor_names_the_choices():
    with pytest.raises(ValueError, match="unknown executor 'dask'; valid: local, ray"):
        make_executor("dask")
    with pytest.raises(ValueError, match="--address.*needs --executor ray"):
        make_executor("local", address="10.0.0.1:6379")
    assert make_executor("local", workers=3).workers == 3


def test_without_ray_the_ray_executor_says_how_to_install_it(tmp_path):
    code = ("import sys; sys.modules['ray'] = None\n"   # as if Ray were not installed
            "from actlab.cli import main; main()")
    proc = subprocess.run([sys.executable, "-c", code, "compare", "--executor", "ray", "--seeds", "1",
                           "--store", str(tmp_path / "r.sqlite"), "--no-progress"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "actlab: error: the ray executor needs Ray, which is not installed: pip install 'actlab[ray]'"]
