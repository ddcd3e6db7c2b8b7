"""Downloading MNIST-like files from a local HTTP server on 127.0.0.1 (no network needed).

The server serves small synthetic IDX files built here; the expected SHA-256 values are
patched to theirs. Checked: success through a dead mirror first, progress reports, the
ACTLAB_DOWNLOAD switch, no download when the files are already on disk, and a corrupted file:
a checksum error and nothing left in the cache; a gzip bomb and an oversized body, refused
at the published file's size with little memory.
"""
from __future__ import annotations

import gzip
import hashlib
import http.server
import struct
import threading
import tracemalloc
from functools import partial
from pathlib import Path

import numpy as np
import pytest

from actlab import datasets
from actlab.datasets import idx as idx_mod

STEMS = {"train_images": "train-images-idx3-ubyte", "train_labels": "train-labels-idx1-ubyte",
         "test_images": "t10k-images-idx3-ubyte", "test_labels": "t10k-labels-idx1-ubyte"}


def idx_u8(arr: np.ndarray) -> bytes:
    arr = np.asarray(arr, dtype=np.uint8)
    return (bytes([0, 0, 0x08, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape)
            + arr.tobytes())


def synthetic(seed: int):
    rng = np.random.default_rng(seed)
    arrays = {"train_images": rng.integers(0, 256, (20, 28, 28), dtype=np.uint8),
              "train_labels": rng.integers(0, 10, 20, dtype=np.uint8),
              "test_images": rng.integers(0, 256, (5, 28, 28), dtype=np.uint8),
              "test_labels": rng.integers(0, 10, 5, dtype=np.uint8)}
    raw = {k: idx_u8(v) for k, v in arrays.items()}
    return arrays, raw, {k: hashlib.sha256(v).hexdigest() for k, v in raw.items()}


class _Handler(http.server.SimpleHTTPRequestHandler):
    requests: list = []

    def log_message(self, *args):  # keep pytest output clean
        pass

    def do_GET(self):
        type(self).requests.append(self.path)
        super().do_GET()


@pytest.fixture
def server(tmp_path):
    """A static file server on 127.0.0.1 serving tmp_path/'served'; yields (dir, base_url, log)."""
    served = tmp_path / "served"
    served.mkdir()
    log: list = []
    handler = type("Handler", (_Handler,), {"requests": log})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(handler, directory=str(served)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield served, f"http://127.0.0.1:{httpd.server_address[1]}/", log
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


@pytest.fixture
def env(tmp_path, monkeypatch):
    home, cwd = tmp_path / "home", tmp_path / "cwd"
    home.mkdir()
    cwd.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for var in ("XDG_CACHE_HOME", "KERAS_HOME", "ACTLAB_DATA", "MNIST_DIR",
                "FASHION_MNIST_DIR", "ACTLAB_DOWNLOAD", "ACTLAB_MIRRORS"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(cwd)
    monkeypatch.setitem(idx_mod._DEBIAN, "fashion_mnist", str(tmp_path / "no-debian"))
    idx_mod._load_cached.cache_clear()
    yield home
    idx_mod._load_cached.cache_clear()


def _serve(served: Path, raw: dict) -> None:
    for part, data in raw.items():
        (served / f"{STEMS[part]}.gz").write_bytes(gzip.compress(data))


def _files_under(path: Path) -> list:
    return sorted(p for p in path.rglob("*") if p.is_file()) if path.exists() else []


def test_download_success_through_a_dead_mirror(env, server, monkeypatch):
    served, url, log = server
    arrays, raw, sha = synthetic(0)
    monkeypatch.setitem(idx_mod.SHA256, "mnist", sha)
    _serve(served, raw)
    # port 9 (discard) refuses at once on 127.0.0.1: the next mirror must be tried
    monkeypatch.setenv("ACTLAB_MIRRORS", f"http://127.0.0.1:9/,{url}")
    seen: dict = {}
    got = datasets.load_idx_dataset(
        "mnist", download=True, progress=lambda f, done, total: seen.__setitem__(f, (done, total)))
    for part, arr in zip(STEMS, got):
        np.testing.assert_array_equal(arr, arrays[part])
    cache = env / ".cache" / "actlab" / "mnist"
    assert sorted(p.name for p in _files_under(cache)) == sorted(f"{s}.gz" for s in STEMS.values())
    for stem in STEMS.values():  # progress reached each file's full size
        size = (served / f"{stem}.gz").stat().st_size
        assert seen[f"{stem}.gz"] == (size, size)
    assert sorted(log) == sorted(f"/{s}.gz" for s in STEMS.values())
    # the cache is now a place find_files knows: no second download
    idx_mod._load_cached.cache_clear()
    assert datasets.find_files("mnist").directory == cache
    datasets.load_idx_dataset("mnist", download=True)
    assert len(log) == 4


def test_download_only_when_asked(env, server, monkeypatch):
    served, url, log = server
    arrays, raw, sha = synthetic(1)
    monkeypatch.setitem(idx_mod.SHA256, "fashion_mnist", sha)
    _serve(served, raw)
    monkeypatch.setenv("ACTLAB_MIRRORS", url)
    with pytest.raises(datasets.DataNotFoundError):
        datasets.load_idx_dataset("fashion_mnist")  # download=None and no ACTLAB_DOWNLOAD
    with pytest.raises(datasets.DataNotFoundError):
        datasets.load_idx_dataset("fashion_mnist", download=False)
    assert log == []
    monkeypatch.setenv("ACTLAB_DOWNLOAD", "1")
    d = datasets.load("fashion_mnist", n_samples=10, seed=0, scale="raw")
    assert log and d.x_train.shape == (8, 784)
    pool = np.concatenate([arrays["train_images"], arrays["test_images"]]).reshape(25, 784)
    np.testing.assert_array_equal(d.x_train, pool[d.info["train_indices"]])


def test_files_on_disk_are_never_downloaded(env, server, monkeypatch, tmp_path):
    served, url, log = server
    _, raw, sha = synthetic(2)
    monkeypatch.setitem(idx_mod.SHA256, "mnist", sha)
    _serve(served, raw)
    local = tmp_path / "local"
    _serve(local.mkdir() or local, raw)
    monkeypatch.setenv("ACTLAB_MIRRORS", url)
    datasets.load_idx_dataset("mnist", data_dir=local, download=True)
    assert log == []


def test_corrupted_download_is_refused_and_leaves_nothing(env, server, monkeypatch):
    served, url, log = server
    _, raw, sha = synthetic(3)
    monkeypatch.setitem(idx_mod.SHA256, "mnist", sha)
    bad = bytearray(raw["test_labels"])
    bad[-1] ^= 0x01
    _serve(served, dict(raw, test_labels=bytes(bad)))
    monkeypatch.setenv("ACTLAB_MIRRORS", url)
    with pytest.raises(datasets.ChecksumError) as info:
        datasets.load_idx_dataset("mnist", download=True)
    msg = str(info.value)
    assert f"{url}t10k-labels-idx1-ubyte.gz" in msg
    assert sha["test_labels"] in msg and hashlib.sha256(bytes(bad)).hexdigest() in msg
    assert "/t10k-labels-idx1-ubyte.gz" in log  # it was fetched, then refused
    assert _files_under(env / ".cache") == []  # nothing kept, not even the good three
    with pytest.raises(datasets.DataNotFoundError):
        datasets.find_files("mnist")


def test_unreachable_mirrors_give_a_download_error_with_the_search(env, monkeypatch):
    monkeypatch.setenv("ACTLAB_MIRRORS", "http://127.0.0.1:9/")
    with pytest.raises(datasets.DownloadError) as info:
        datasets.load_idx_dataset("mnist", download=True)
    msg = str(info.value)
    assert "http://127.0.0.1:9/train-images-idx3-ubyte.gz" in msg
    assert "was not found. Searched" in msg
    assert _files_under(env / ".cache") == []


def test_missing_file_on_server_is_a_download_error(env, server, monkeypatch):
    served, url, log = server
    _, raw, sha = synthetic(4)
    monkeypatch.setitem(idx_mod.SHA256, "mnist", sha)
    _serve(served, {k: v for k, v in raw.items() if k != "train_labels"})
    with pytest.raises(datasets.DownloadError, match="404"):
        datasets.download_idx("mnist", mirrors=[url])
    assert _files_under(env / ".cache") == []


def test_downloaded_gzip_bomb_is_refused_at_the_published_size(env, server, gzip_bomb):
    served, url, log = server
    # the real SHA-256 table: the published size of train-images applies; 256 MiB of content
    head = struct.pack(">BBBBIII", 0, 0, 0x08, 3, 60000, 28, 28)
    gzip_bomb(served / "train-images-idx3-ubyte.gz", 256 << 20, head)
    tracemalloc.start()
    try:
        with pytest.raises(datasets.DownloadError) as info:
            datasets.download_idx("mnist", mirrors=[url])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert (f"{url}train-images-idx3-ubyte.gz: size does not match dims (60000, 28, 28): more "
            "than the 47,040,016 bytes they call for") in str(info.value)
    assert peak < 56 << 20  # the 47 MB array and a chunk, not the 256 MiB
    assert log == ["/train-images-idx3-ubyte.gz"]
    assert _files_under(env / ".cache") == []


@pytest.mark.parametrize("announced", [True, False], ids=["content-length", "streamed"])
def test_download_larger_than_the_published_file_can_be_is_cut_off(env, server, monkeypatch,
                                                                   announced):
    served, url, _ = server
    _, raw, sha = synthetic(5)
    # train-labels keeps its published hash: the published file has 60,008 bytes, so no
    # .gz of it can have 100,000
    published = idx_mod.SHA256["mnist"]["train_labels"]
    monkeypatch.setitem(idx_mod.SHA256, "mnist", dict(sha, train_labels=published))
    _serve(served, raw)
    (served / "train-labels-idx1-ubyte.gz").write_bytes(bytes(100_000))
    if not announced:  # HTTP/1.0 without Content-Length: the body ends when the server closes
        send_header = _Handler.send_header
        monkeypatch.setattr(_Handler, "send_header", lambda self, key, value: (
            None if key == "Content-Length" else send_header(self, key, value)))
    with pytest.raises(datasets.DownloadError) as info:
        datasets.download_idx("mnist", mirrors=[url])
    cap = 60008 + 60008 // 64 + 4096
    expected = (f"100,000 bytes announced, more than the {cap:,}" if announced
                else f"more than the {cap:,} bytes this file can have (download stopped there)")
    assert expected in str(info.value)
    assert _files_under(env / ".cache") == []


def test_cli_reports_a_failed_download_without_a_traceback(env, monkeypatch):
    from click.testing import CliRunner

    from actlab.cli import main

    monkeypatch.setenv("ACTLAB_MIRRORS", "http://127.0.0.1:9/")
    monkeypatch.setenv("ACTLAB_DOWNLOAD", "1")
    result = CliRunner().invoke(main, ["train", "--dataset", "mnist", "--epochs", "1"])
    assert result.exit_code == 2, result.output
    assert "actlab: error: " in result.output and "http://127.0.0.1:9/" in result.output
    assert isinstance(result.exception, SystemExit)  # not the DownloadError
    assert "Traceback" not in result.output
