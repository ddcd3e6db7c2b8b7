"""actlab.datasets: IDX parsing, search order, SHA-256 verification, real MNIST and
Fashion-MNIST, the notes' protocol, the toy sets (against TensorFlow Playground's rules and
scikit-learn's make_moons), digits, and bad input.

Oracles: IDX bytes built here with ``struct``; hashes computed here with ``hashlib``; the
SHA-256 values published for MNIST (../shared/DATA.md); public facts about MNIST and
Fashion-MNIST (first labels, class counts); TensorFlow Playground's generator formulas
rewritten here; scikit-learn's own ``load_digits`` and ``make_moons``.
"""
from __future__ import annotations

import gzip
import hashlib
import io
import math
import os
import shutil
import struct
import subprocess
import sys
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest

from actlab import datasets
from actlab.datasets import idx as idx_mod
from actlab.datasets.toy import generate

SHARED_MNIST = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"
DEBIAN_FASHION = Path("/usr/share/datasets/fashion-mnist")

# Published SHA-256 of the decompressed MNIST files (../shared/DATA.md).
MNIST_SHA256 = {
    "train-images-idx3-ubyte.gz": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte.gz": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte.gz": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte.gz": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}
# MNIST class counts (public): training and test sets.
MNIST_TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]

FILES = {"train_images": "train-images-idx3-ubyte", "train_labels": "train-labels-idx1-ubyte",
         "test_images": "t10k-images-idx3-ubyte", "test_labels": "t10k-labels-idx1-ubyte"}


def needs_mnist():
    if not (SHARED_MNIST / "train-images-idx3-ubyte.gz").exists():
        pytest.skip(f"MNIST not found in {SHARED_MNIST} (../shared exists only in dev and CI)")
    return SHARED_MNIST


# --------------------------------------------------------------------------- helpers
def idx_u8(arr: np.ndarray) -> bytes:
    """IDX bytes of a uint8 array, built by hand: 0x00 0x00 0x08 ndim, dims (>u4), data."""
    arr = np.asarray(arr, dtype=np.uint8)
    return (bytes([0, 0, 0x08, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape)
            + arr.tobytes())


def synthetic(seed: int, n_train: int = 6, n_test: int = 3, side: int = 4):
    """A tiny MNIST-shaped set: arrays, their IDX bytes and those bytes' SHA-256."""
    rng = np.random.default_rng(seed)
    arrays = {
        "train_images": rng.integers(0, 256, (n_train, side, side), dtype=np.uint8),
        "train_labels": rng.integers(0, 10, n_train, dtype=np.uint8),
        "test_images": rng.integers(0, 256, (n_test, side, side), dtype=np.uint8),
        "test_labels": rng.integers(0, 10, n_test, dtype=np.uint8),
    }
    raw = {k: idx_u8(v) for k, v in arrays.items()}
    sha = {k: hashlib.sha256(v).hexdigest() for k, v in raw.items()}
    return arrays, raw, sha


def write_set(directory: Path, raw: dict, *, gz: bool = True, dotted: bool = False,
              skip: tuple = ()) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for part, data in raw.items():
        if part in skip:
            continue
        stem = FILES[part].replace("-idx", ".idx") if dotted else FILES[part]
        if gz:
            (directory / (stem + ".gz")).write_bytes(gzip.compress(data))
        else:
            (directory / stem).write_bytes(data)
    return directory


@pytest.fixture(autouse=True)
def _fresh_cache():
    idx_mod._load_cached.cache_clear()
    yield
    idx_mod._load_cached.cache_clear()


@pytest.fixture
def env(tmp_path, monkeypatch):
    """An isolated HOME, cwd and environment: no real cache or variable can leak in."""
    home, cwd = tmp_path / "home", tmp_path / "cwd"
    home.mkdir()
    cwd.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for var in ("XDG_CACHE_HOME", "KERAS_HOME", "ACTLAB_DATA", "MNIST_DIR",
                "FASHION_MNIST_DIR", "ACTLAB_DOWNLOAD", "ACTLAB_MIRRORS"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(cwd)

    class Env:
        pass

    e = Env()
    e.home, e.cwd, e.tmp = home, cwd, tmp_path
    return e


# --------------------------------------------------------------------------- IDX parser
def test_parse_idx_uint8_images_from_hand_built_bytes():
    pixels = list(range(24))
    data = struct.pack(">BBBBIII", 0, 0, 0x08, 3, 2, 3, 4) + bytes(pixels)
    arr = datasets.parse_idx(data)
    assert arr.dtype == np.uint8 and arr.shape == (2, 3, 4)
    assert arr[1, 2, 3] == 23 and arr[0, 1, 0] == 4  # C order: 1*12 + 2*4 + 3, 0 + 4 + 0


def test_parse_idx_big_endian_int32_and_float32():
    data = struct.pack(">BBBBI", 0, 0, 0x0C, 1, 3) + struct.pack(">iii", 1, -2, 70000)
    assert datasets.parse_idx(data).tolist() == [1, -2, 70000]
    data = struct.pack(">BBBBII", 0, 0, 0x0D, 2, 1, 2) + struct.pack(">ff", 1.5, -0.25)
    out = datasets.parse_idx(data)
    assert out.dtype == np.float32 and out.tolist() == [[1.5, -0.25]]


@pytest.mark.parametrize("magic", [b"\x00\x00\x0a\x01", b"\x01\x00\x08\x01", b"\x08\x03\x00\x00"])
def test_parse_idx_rejects_bad_magic(magic):
    data = magic + struct.pack(">I", 3) + bytes(3)
    with pytest.raises(datasets.IDXFormatError, match="magic") as info:
        datasets.parse_idx(data)
    assert isinstance(info.value, ValueError)
    assert f"0x{int.from_bytes(magic, 'big'):08x}" in str(info.value)


def test_parse_idx_rejects_size_mismatch_and_truncation():
    with pytest.raises(datasets.IDXFormatError, match="does not match dims"):
        datasets.parse_idx(struct.pack(">BBBBI", 0, 0, 8, 1, 5) + bytes(4))
    with pytest.raises(datasets.IDXFormatError):
        datasets.parse_idx(b"\x00\x00")


def test_read_idx_detects_gzip_by_content_not_name(tmp_path):
    arr = np.arange(12, dtype=np.uint8).reshape(3, 4)
    (tmp_path / "plain.gz").write_bytes(idx_u8(arr))          # named .gz, not compressed
    (tmp_path / "packed").write_bytes(gzip.compress(idx_u8(arr)))  # compressed, no suffix
    np.testing.assert_array_equal(datasets.read_idx(tmp_path / "plain.gz"), arr)
    np.testing.assert_array_equal(datasets.read_idx(tmp_path / "packed"), arr)


# --------------------------------------------------------------------------- hostile files
MNIST_IMAGES_HEAD = struct.pack(">BBBBIII", 0, 0, 0x08, 3, 60000, 28, 28)
HUGE_HEAD = struct.pack(">BBBBIII", 0, 0, 0x08, 3, 2**31, 2**31, 4)  # 2^64 bytes


class _Counting:
    """A file wrapper counting the (decompressed) bytes it hands out."""

    def __init__(self, fp):
        self.fp, self.n = fp, 0

    def read(self, size=-1):
        data = self.fp.read(size)
        self.n += len(data)
        return data

    def readinto(self, buf):
        n = self.fp.readinto(buf)
        self.n += n
        return n

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.fp.close()


@pytest.fixture
def counted(monkeypatch):
    """Every IDX file the loader opens, wrapped: a list of ``_Counting`` (bytes read: ``.n``)."""
    opened: list = []
    real = idx_mod._open_idx

    def wrapped(path):
        opened.append(_Counting(real(path)))
        return opened[-1]

    monkeypatch.setattr(idx_mod, "_open_idx", wrapped)
    return opened


def traced_peak(fn):
    """``fn()``'s peak of traced allocations (NumPy's arrays included), in bytes."""
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("dims", [(2**31, 2**31, 4), (2**16,) * 4])
def test_idx_dims_overflowing_int64_are_an_idx_format_error(tmp_path, dims):
    # the product of the dims is 2^64: in int64 it wrapped to 0 and NumPy's reshape failed
    data = struct.pack(f">BBBB{len(dims)}I", 0, 0, 0x08, len(dims), *dims)
    with pytest.raises(datasets.IDXFormatError, match="does not match dims"):
        datasets.parse_idx(data)
    (tmp_path / "f.gz").write_bytes(gzip.compress(data))
    with pytest.raises(datasets.IDXFormatError, match=f"claim {2**64 + len(data):,} bytes, "
                                                      "more than the 1,073,741,824 allowed"):
        datasets.read_idx(tmp_path / "f.gz")


def test_gzip_bomb_is_read_no_further_than_its_header_allows(tmp_path, gzip_bomb, counted):
    size = 16 + 60000 * 784
    bomb = gzip_bomb(tmp_path / "train-images-idx3-ubyte.gz", 256 << 20, MNIST_IMAGES_HEAD)
    assert bomb.stat().st_size < 1 << 20  # 256 MiB of content in < 1 MiB
    with pytest.raises(datasets.IDXFormatError, match=f"more than the {size:,} bytes") as info:
        datasets.read_idx(bomb)
    assert str(info.value).startswith(f"{bomb}: ") and "\n" not in str(info.value)
    assert size < counted[-1].n <= size + idx_mod._CHUNK
    # a smaller cap is refused from the header alone
    with pytest.raises(datasets.IDXFormatError, match=f"claim {size:,} bytes, more than"):
        datasets.read_idx(bomb, max_bytes=size - 1)
    assert counted[-1].n == 16
    # zeros from the first byte: refused at the magic number, after 4 bytes
    zeros = gzip_bomb(tmp_path / "zeros.gz", 256 << 20)
    with pytest.raises(datasets.IDXFormatError, match="bad IDX magic number 0x00000000"):
        datasets.read_idx(zeros)
    assert counted[-1].n == 4


@pytest.mark.parametrize("head,message,most", [
    (MNIST_IMAGES_HEAD, ("size does not match dims .60000, 28, 28.: more than the 47,040,016 "
                         "bytes they call for"), 47040016 + (1 << 20)),
    (HUGE_HEAD, ("header dims .2147483648, 2147483648, 4. make a 18,446,744,073,709,551,632-"
                 "byte file, but the published file it must match has 47,040,016 bytes"), 16)],
    ids=["mnist-header", "2^64-byte-header"])
def test_load_refuses_a_gzip_bomb_at_the_published_size(env, gzip_bomb, counted, head, message,
                                                        most):
    _, raw, _ = synthetic(11)  # the real SHA-256 table: the published sizes apply
    d = write_set(env.tmp / "bomb", raw, skip=("train_images",))
    bomb = gzip_bomb(d / "train-images-idx3-ubyte.gz", 256 << 20, head)

    def load():
        with pytest.raises(datasets.IDXFormatError, match=message) as info:
            datasets.load_idx_dataset("mnist", data_dir=d)
        assert str(info.value).startswith(f"{bomb}: ") and "\n" not in str(info.value)

    assert traced_peak(load) < 56 << 20  # the 47 MB array and a chunk, not 256 MiB
    assert counted[-1].n <= most


def _npy(arr=None, *, shape=None, descr="|u1", body=b""):
    """.npy bytes: ``arr`` saved by NumPy, or a hand-made header (``shape``) and ``body``."""
    buf = io.BytesIO()
    if arr is not None:
        np.lib.format.write_array(buf, np.asarray(arr))
        return buf.getvalue()
    np.lib.format.write_array_header_1_0(
        buf, {"descr": descr, "fortran_order": False, "shape": shape})
    return buf.getvalue() + body


def _npz(path: Path, arrays: dict, *, x_train=None, zeros: int = 0) -> Path:
    """An mnist.npz of ``arrays``; ``x_train`` replaces that member's .npy bytes, followed
    by ``zeros`` zero bytes (written in chunks, compressed fast)."""
    members = {"x_train": arrays["train_images"], "y_train": arrays["train_labels"],
               "x_test": arrays["test_images"], "y_test": arrays["test_labels"]}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for key, arr in members.items():
            with zf.open(key + ".npy", "w", force_zip64=True) as out:
                if key == "x_train" and x_train is not None:
                    out.write(x_train)
                    chunk = bytes(1 << 24)
                    for start in range(0, zeros, len(chunk)):
                        out.write(chunk[:zeros - start])
                else:
                    out.write(_npy(arr))
    return path


def test_npz_written_by_hand_loads_like_numpy_savez(env, monkeypatch):
    arrays, _, sha = synthetic(12)
    monkeypatch.setitem(idx_mod.SHA256, "mnist", sha)
    got = datasets.load_idx_dataset("mnist", data_dir=_npz(env.tmp / "mnist.npz", arrays))
    for part, arr in zip(FILES, got):
        np.testing.assert_array_equal(arr, arrays[part])
        assert arr.dtype == np.uint8 and not arr.flags.writeable


@pytest.mark.parametrize("published", [True, False])
def test_npz_header_claiming_2_40_elements_is_a_format_error(env, monkeypatch, published):
    arrays, _, sha = synthetic(13)
    if not published:  # then no published size applies: the cap and the member's size do
        monkeypatch.setitem(idx_mod.SHA256, "mnist", sha)
    path = _npz(env.tmp / "mnist.npz", arrays, x_train=_npy(shape=(2**40,), body=bytes(64)))
    with pytest.raises(datasets.IDXFormatError, match=r"header shape \(1099511627776,\) of uint8 "
                       r"\(1,099,511,627,776 bytes\)(, but the published| is more than)"
                       ) as info:
        datasets.load_idx_dataset("mnist", data_dir=path)
    assert str(info.value).startswith(f"{path}[x_train]: ")


@pytest.mark.parametrize("shape,message", [
    ((2**28,), r"\(268,435,456 bytes\), but the published array is \(60000, 28, 28\) of uint8"),
    ((60000, 28, 28), r"\(47,040,000 bytes\) does not fill the member \(268,435,456 bytes")],
    ids=["claims-256-MiB", "claims-47-MB"])
def test_npz_bomb_member_is_refused_before_reading(env, shape, message):
    arrays, _, _ = synthetic(14)  # the real SHA-256 table: the published sizes apply
    path = _npz(env.tmp / "mnist.npz", arrays, x_train=_npy(shape=shape), zeros=256 << 20)
    assert path.stat().st_size < 4 << 20

    def load():
        with pytest.raises(datasets.IDXFormatError, match=message):
            datasets.load_idx_dataset("mnist", data_dir=path)

    assert traced_peak(load) < 8 << 20  # nothing of the 256 MiB member was read


def test_npz_object_arrays_stay_refused_and_are_never_unpickled(env, monkeypatch):
    arrays, _, sha = synthetic(15)
    monkeypatch.setitem(idx_mod.SHA256, "mnist", sha)
    marker = env.tmp / "unpickled"

    class Evil:
        def __reduce__(self):
            return os.mkdir, (str(marker),)

    obj = np.empty(1, dtype=object)
    obj[0] = Evil()
    path = env.tmp / "mnist.npz"
    np.savez(path, x_train=obj, y_train=arrays["train_labels"], x_test=arrays["test_images"],
             y_test=arrays["test_labels"])
    with pytest.raises(datasets.IDXFormatError, match=r"mnist\.npz\[x_train\]: an object array "
                                                      r"\(a pickle\) is refused"):
        datasets.load_idx_dataset("mnist", data_dir=path)
    assert not marker.exists()


def test_cli_refuses_a_2_gib_gzip_bomb_with_exit_2_one_line_and_under_600_mb(env, gzip_bomb):
    _, raw, _ = synthetic(16)
    d = write_set(env.tmp / "bomb", raw, skip=("train_images",))
    bomb = gzip_bomb(d / "train-images-idx3-ubyte.gz", 2 << 30, MNIST_IMAGES_HEAD)
    assert bomb.stat().st_size < 4 << 20
    # a parent whose only child is the CLI: RUSAGE_CHILDREN is that child's peak memory
    probe = ("import resource, subprocess, sys\n"
             "r = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
             "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024\n"
             "print(r.returncode, peak)\n"
             "sys.stdout.write(r.stderr)\n")
    cli = [sys.executable, "-c", "from actlab.cli import main; main()",
           "train", "--dataset", "mnist", "--data-dir", str(d), "--epochs", "1"]
    environ = {k: v for k, v in os.environ.items() if k != "ACTLAB_DEBUG"}
    out = subprocess.run([sys.executable, "-c", probe, *cli], capture_output=True, text=True,
                         timeout=300, env=environ, check=False).stdout
    status, stderr = out.split("\n", 1)
    code, peak = map(int, status.split())
    assert code == 2, stderr
    assert peak < 600e6, f"peak memory {peak / 1e6:.0f} MB"  # before: 4.1 GB
    assert stderr.splitlines() == [(
        f"actlab: error: {bomb}: size does not match dims (60000, 28, 28): more than the "
        "47,040,016 bytes they call for (reading stopped there)")]


# --------------------------------------------------------------------------- search order
def test_search_order_each_place_in_turn(env, monkeypatch):
    arrays, raw, sha = synthetic(1)
    monkeypatch.setitem(idx_mod.SHA256, "mnist", sha)
    d_arg = write_set(env.tmp / "arg", raw)
    actlab_data = write_set(env.tmp / "root" / "mnist", raw).parent  # <dir>/mnist layout
    mnist_dir = write_set(env.tmp / "mnistdir", raw)
    cache = write_set(env.home / ".cache" / "actlab" / "mnist", raw)
    keras = env.home / ".keras" / "datasets"
    keras.mkdir(parents=True)
    np.savez(keras / "mnist.npz", x_train=arrays["train_images"], y_train=arrays["train_labels"],
             x_test=arrays["test_images"], y_test=arrays["test_labels"])
    tv_cwd = write_set(env.cwd / "data" / "MNIST" / "raw", raw, gz=False)
    tv_home = write_set(env.home / "data" / "MNIST" / "raw", raw, dotted=True)
    monkeypatch.setenv("ACTLAB_DATA", str(actlab_data))
    monkeypatch.setenv("MNIST_DIR", str(mnist_dir))

    found = datasets.find_files("mnist", data_dir=d_arg)
    assert found.directory == d_arg and found.kind == "idx"
    expected_order = [actlab_data / "mnist", mnist_dir, cache, keras, tv_cwd, tv_home]
    removers = [lambda: monkeypatch.delenv("ACTLAB_DATA"), lambda: monkeypatch.delenv("MNIST_DIR"),
                lambda: shutil.rmtree(cache), lambda: (keras / "mnist.npz").unlink(),
                lambda: shutil.rmtree(tv_cwd), None]
    for where, remove in zip(expected_order, removers):
        found = datasets.find_files("mnist")
        assert found.directory == where, found
        # whatever the place and format, the arrays are the ones written there
        got = datasets.load_idx_dataset("mnist")
        for part, arr in zip(FILES, got):
            np.testing.assert_array_equal(arr, arrays[part])
        if remove:
            remove()
    assert found.kind == "idx" and found.paths["train_images"].name == "train-images.idx3-ubyte.gz"


def test_xdg_cache_home_is_actlabs_cache(env, monkeypatch):
    _, raw, sha = synthetic(2)
    monkeypatch.setitem(idx_mod.SHA256, "mnist", sha)
    xdg = env.tmp / "xdg"
    write_set(xdg / "actlab" / "mnist", raw)
    monkeypatch.setenv("XDG_CACHE_HOME", str(xdg))
    assert datasets.find_files("mnist").directory == xdg / "actlab" / "mnist"


def test_torchvision_layout_under_data_dir(env, monkeypatch):
    arrays, raw, sha = synthetic(3)
    monkeypatch.setitem(idx_mod.SHA256, "fashion_mnist", sha)
    root = env.tmp / "torchroot"
    write_set(root / "FashionMNIST" / "raw", raw, gz=False)
    found = datasets.find_files("fashion_mnist", data_dir=root)
    assert found.directory == root / "FashionMNIST" / "raw"


def test_not_found_error_lists_every_place_in_order_and_how_to_get(env, monkeypatch):
    d_arg, root, mdir = env.tmp / "arg", env.tmp / "root", env.tmp / "mdir"
    monkeypatch.setenv("ACTLAB_DATA", str(root))
    monkeypatch.setenv("MNIST_DIR", str(mdir))
    with pytest.raises(FileNotFoundError) as info:
        datasets.load_idx_dataset("mnist", data_dir=d_arg)
    msg = str(info.value)
    places = [str(d_arg), str(root), str(root / "mnist"), str(root / "MNIST" / "raw"), str(mdir),
              str(env.home / ".cache" / "actlab" / "mnist"),
              str(env.home / ".keras" / "datasets" / "mnist.npz"),
              str(env.cwd / "data" / "MNIST" / "raw"), str(env.home / "data" / "MNIST" / "raw")]
    positions = [msg.find(p + ":") for p in places]
    assert all(p >= 0 for p in positions), (places, msg)
    assert positions == sorted(positions), msg
    for hint in ("download=True", "ACTLAB_DOWNLOAD=1", "ACTLAB_DATA", "MNIST_DIR",
                 "ossci-datasets.s3.amazonaws.com", "train-images-idx3-ubyte.gz"):
        assert hint in msg
    assert isinstance(info.value, datasets.DataNotFoundError)
    assert len(info.value.searched) >= len(places)


def test_not_found_mentions_unset_variables_and_debian_for_fashion(env, monkeypatch):
    debian = env.tmp / "usr-share-datasets-fashion-mnist"  # the real one may be installed
    monkeypatch.setitem(idx_mod._DEBIAN, "fashion_mnist", str(debian))
    with pytest.raises(datasets.DataNotFoundError) as info:
        idx_mod.find_files("fashion_mnist")
    msg = str(info.value)
    assert "$ACTLAB_DATA: not set" in msg and "$FASHION_MNIST_DIR: not set" in msg
    assert "apt-get install dataset-fashion-mnist" in msg
    assert str(env.home / ".keras" / "datasets" / "fashion-mnist") in msg
    assert f"Debian package dataset-fashion-mnist: {debian}: no such directory" in msg


def test_incomplete_folder_is_reported_and_passed_over(env, monkeypatch):
    _, raw, sha = synthetic(4)
    monkeypatch.setitem(idx_mod.SHA256, "mnist", sha)
    partial = write_set(env.tmp / "partial", raw, skip=("test_labels",))
    with pytest.raises(datasets.DataNotFoundError, match="incomplete, missing t10k-labels-idx1-ubyte"):
        datasets.find_files("mnist", data_dir=partial)
    full = write_set(env.home / ".cache" / "actlab" / "mnist", raw)
    assert datasets.find_files("mnist", data_dir=partial).directory == full


def test_folder_of_the_other_dataset_is_passed_over(env, monkeypatch):
    _, raw_m, sha_m = synthetic(5)
    _, raw_f, sha_f = synthetic(6)
    monkeypatch.setitem(idx_mod.SHA256, "mnist", sha_m)
    monkeypatch.setitem(idx_mod.SHA256, "fashion_mnist", sha_f)
    fashion = write_set(env.tmp / "fashion_here", raw_f)
    with pytest.raises(datasets.DataNotFoundError, match="holds Fashion-MNIST, not MNIST"):
        datasets.find_files("mnist", data_dir=fashion)
    assert datasets.find_files("fashion_mnist", data_dir=fashion).directory == fashion


def test_checksum_mismatch_names_file_expected_and_actual(env, monkeypatch):
    _, raw, sha = synthetic(7)
    monkeypatch.setitem(idx_mod.SHA256, "mnist", sha)
    bad = bytearray(raw["test_images"])
    bad[-1] ^= 0xFF
    raw = dict(raw, test_images=bytes(bad))
    d = write_set(env.tmp / "bad", raw)
    with pytest.raises(datasets.ChecksumError) as info:
        datasets.load_idx_dataset("mnist", data_dir=d)
    msg = str(info.value)
    assert str(d / "t10k-images-idx3-ubyte.gz") in msg
    assert sha["test_images"] in msg and hashlib.sha256(bytes(bad)).hexdigest() in msg


def test_keras_npz_verified_through_rebuilt_idx_bytes(env, monkeypatch):
    arrays, raw, sha = synthetic(8)
    monkeypatch.setitem(idx_mod.SHA256, "mnist", sha)
    keras = env.home / ".keras" / "datasets"
    keras.mkdir(parents=True)
    tampered = arrays["train_labels"].copy()
    tampered[0] = (tampered[0] + 1) % 10
    np.savez(keras / "mnist.npz", x_train=arrays["train_images"], y_train=tampered,
             x_test=arrays["test_images"], y_test=arrays["test_labels"])
    with pytest.raises(datasets.ChecksumError, match=r"mnist\.npz\[y_train\]"):
        datasets.load_idx_dataset("mnist")
    # data_dir may also name Keras' file itself
    other = env.tmp / "elsewhere" / "mnist.npz"
    other.parent.mkdir()
    np.savez(other, x_train=arrays["train_images"], y_train=arrays["train_labels"],
             x_test=arrays["test_images"], y_test=arrays["test_labels"])
    found = datasets.find_files("mnist", data_dir=other)
    assert found.kind == "npz" and found.paths["npz"] == other
    np.testing.assert_array_equal(datasets.load_idx_dataset("mnist", data_dir=other)[1],
                                  arrays["train_labels"])


def test_loaded_arrays_are_cached_and_read_only(env, monkeypatch):
    arrays, raw, sha = synthetic(9)
    monkeypatch.setitem(idx_mod.SHA256, "mnist", sha)
    d = write_set(env.tmp / "d", raw)
    first = datasets.load_idx_dataset("mnist", data_dir=d)
    second = datasets.load_idx_dataset("mnist", data_dir=d)
    assert all(a is b for a, b in zip(first, second))
    with pytest.raises(ValueError):
        first[0][0, 0, 0] = 1


# --------------------------------------------------------------------------- real MNIST
def test_real_mnist_shapes_facts_and_checksums(env):
    mnist = needs_mnist()
    for fname, expected in MNIST_SHA256.items():  # the oracle: hashlib over the files here
        assert hashlib.sha256(gzip.decompress((mnist / fname).read_bytes())).hexdigest() == expected
    x_tr, y_tr, x_te, y_te = datasets.load_idx_dataset("mnist", data_dir=mnist)
    assert x_tr.shape == (60000, 28, 28) and x_te.shape == (10000, 28, 28)
    assert x_tr.dtype == np.uint8 and y_tr.shape == (60000,) and y_te.shape == (10000,)
    assert y_tr[0] == 5 and y_te[0] == 7  # public facts: the first train digit is a 5
    assert np.bincount(y_tr, minlength=10).tolist() == MNIST_TRAIN_COUNTS
    assert np.bincount(y_te, minlength=10).tolist() == MNIST_TEST_COUNTS
    assert int(x_tr.max()) == 255 and int(x_tr.min()) == 0
    # pixels are the file's bytes after the 16-byte header
    raw = gzip.decompress((mnist / "t10k-images-idx3-ubyte.gz").read_bytes())
    assert raw[:4] == b"\x00\x00\x08\x03"
    np.testing.assert_array_equal(x_te[123].ravel(), np.frombuffer(raw, np.uint8, 784, 16 + 123 * 784))


def test_real_mnist_corrupted_copy_is_refused(env):
    mnist = needs_mnist()
    copy = env.tmp / "copy"
    copy.mkdir()
    for fname in MNIST_SHA256:
        if fname.startswith("train-labels"):
            labels = bytearray(gzip.decompress((mnist / fname).read_bytes()))
            labels[8] = (labels[8] + 1) % 10  # the first label, 5 -> 6
            (copy / fname[:-3]).write_bytes(bytes(labels))  # uncompressed, as torchvision keeps
        else:
            (copy / fname).symlink_to(mnist / fname)
    with pytest.raises(datasets.ChecksumError) as info:
        datasets.load_idx_dataset("mnist", data_dir=copy)
    assert MNIST_SHA256["train-labels-idx1-ubyte.gz"] in str(info.value)
    assert str(copy / "train-labels-idx1-ubyte") in str(info.value)


def test_real_mnist_official_split_via_load(env):
    mnist = needs_mnist()
    d = datasets.load("mnist", data_dir=mnist)
    x_tr, y_tr, x_te, y_te = datasets.load_idx_dataset("mnist", data_dir=mnist)
    assert d.x_train.shape == (60000, 784) and d.x_test.shape == (10000, 784)
    assert d.x_train.dtype == np.float32 and d.input_shape == (784,)
    np.testing.assert_array_equal(d.y_test, y_te)
    np.testing.assert_allclose(d.x_test[7], x_te[7].ravel() / 255.0, rtol=1e-6)


# --------------------------------------------------------------------------- notes' protocol
def _pool(mnist: Path):
    """The 70,000 images and labels read here straight from the files (header skipped)."""
    def read(fname, offset):
        return np.frombuffer(gzip.decompress((mnist / fname).read_bytes()), np.uint8, offset=offset)
    x = np.concatenate([read("train-images-idx3-ubyte.gz", 16), read("t10k-images-idx3-ubyte.gz", 16)])
    y = np.concatenate([read("train-labels-idx1-ubyte.gz", 8), read("t10k-labels-idx1-ubyte.gz", 8)])
    return x.reshape(70000, 784), y


def test_notes_protocol_split_scale_one_hot_and_provenance(env):
    mnist = needs_mnist()
    d = datasets.notes_protocol(10000, data_dir=mnist, seed=0)
    assert d.x_train.shape == (8000, 784) and d.x_test.shape == (2000, 784)
    assert d.x_train.dtype == np.float32 and d.num_classes == 10
    assert 0.0 <= d.x_train.min() and d.x_train.max() <= 1.0 and d.x_train.max() == 1.0
    Y_tr, Y_te = d.one_hot()
    assert Y_tr.dtype == np.float32 and Y_tr.shape == (8000, 10) and Y_te.shape == (2000, 10)
    np.testing.assert_array_equal(Y_tr.sum(axis=1), 1.0)
    np.testing.assert_array_equal(Y_tr.argmax(axis=1), d.y_train)
    np.testing.assert_array_equal(Y_te.argmax(axis=1), d.y_test)

    tr_idx, te_idx = d.info["train_indices"], d.info["test_indices"]
    assert len(set(tr_idx.tolist()) | set(te_idx.tolist())) == 10000  # no index drawn twice
    assert not set(tr_idx.tolist()) & set(te_idx.tolist())
    both = np.concatenate([tr_idx, te_idx])
    assert 1200 < int((both >= 60000).sum()) < 1650  # ~1/7 from the test part: pooled draw

    x_pool, y_pool = _pool(mnist)
    # each row is the pooled image at its index: hash the raw bytes of both sides
    raw_train = np.rint(d.x_train * 255).astype(np.uint8)
    raw_test = np.rint(d.x_test * 255).astype(np.uint8)
    for rows, ids in ((raw_train, tr_idx), (raw_test, te_idx)):
        got = [hashlib.sha1(r.tobytes()).hexdigest() for r in rows]
        want = [hashlib.sha1(x_pool[i].tobytes()).hexdigest() for i in ids]
        assert got == want
    np.testing.assert_array_equal(d.y_train, y_pool[tr_idx])
    np.testing.assert_array_equal(d.y_test, y_pool[te_idx])


def test_notes_protocol_raw_pixels_and_seeds(env):
    mnist = needs_mnist()
    raw = datasets.notes_protocol(1000, data_dir=mnist, scale="raw", seed=3)
    assert raw.x_train.shape == (800, 784) and raw.x_test.shape == (200, 784)
    assert raw.x_train.dtype == np.float32 and raw.x_train.max() == 255.0
    np.testing.assert_array_equal(raw.x_train, np.rint(raw.x_train))  # whole numbers 0..255
    same = datasets.notes_protocol(1000, data_dir=mnist, scale=False, seed=3)
    np.testing.assert_array_equal(same.x_train, raw.x_train)
    np.testing.assert_array_equal(same.y_test, raw.y_test)
    scaled = datasets.notes_protocol(1000, data_dir=mnist, seed=3)
    np.testing.assert_allclose(scaled.x_train * 255, raw.x_train, atol=1e-4)
    other = datasets.notes_protocol(1000, data_dir=mnist, seed=4)
    assert not np.array_equal(other.info["train_indices"], raw.info["train_indices"])
    # load() with n_samples goes through the same protocol
    via_load = datasets.load("mnist", n_samples=1000, seed=3, scale="raw", data_dir=mnist)
    np.testing.assert_array_equal(via_load.x_test, raw.x_test)


def test_notes_protocol_bad_input(env):
    mnist = needs_mnist()
    with pytest.raises(ValueError, match="70001"):
        datasets.notes_protocol(70001, data_dir=mnist)
    with pytest.raises(ValueError, match="1.2"):
        datasets.notes_protocol(1000, data_dir=mnist, test_fraction=1.2)
    with pytest.raises(ValueError, match="'bogus'"):
        datasets.notes_protocol(1000, data_dir=mnist, scale="bogus")


# --------------------------------------------------------------------------- Fashion-MNIST
def test_fashion_mnist_from_debian_package(env):
    if not (DEBIAN_FASHION / "train-images-idx3-ubyte.gz").exists():
        pytest.skip(f"Fashion-MNIST not installed in {DEBIAN_FASHION} "
                    "(apt-get install dataset-fashion-mnist)")
    found = datasets.find_files("fashion_mnist")
    assert found.directory == DEBIAN_FASHION
    x_tr, y_tr, x_te, y_te = datasets.load_idx_dataset("fashion_mnist")
    assert x_tr.shape == (60000, 28, 28) and x_te.shape == (10000, 28, 28)
    # public facts: 6,000 / 1,000 images per class; the first image of each split is an ankle boot
    assert np.bincount(y_tr, minlength=10).tolist() == [6000] * 10
    assert np.bincount(y_te, minlength=10).tolist() == [1000] * 10
    assert y_tr[0] == 9 and y_te[0] == 9
    # verification really ran against the hard-coded values: hash here, compare
    for part, stem in FILES.items():
        digest = hashlib.sha256(gzip.decompress((DEBIAN_FASHION / f"{stem}.gz").read_bytes()))
        assert digest.hexdigest() == idx_mod.SHA256["fashion_mnist"][part]
    # and MNIST's search passes this folder over: its labels are Fashion-MNIST's
    with pytest.raises(datasets.DataNotFoundError, match="holds Fashion-MNIST, not MNIST"):
        datasets.find_files("mnist", data_dir=DEBIAN_FASHION)
    d = datasets.load("fashion", n_samples=500, seed=1)
    assert d.name == "fashion_mnist" and d.x_train.shape == (400, 784)


# --------------------------------------------------------------------------- toy sets
def test_toy_seeded_reproducible_and_seed_matters():
    for name in datasets.TOY_NAMES:
        a = datasets.toy(name, n_samples=200, noise=0.2, seed=5)
        b = datasets.toy(name, n_samples=200, noise=0.2, seed=5)
        c = datasets.toy(name, n_samples=200, noise=0.2, seed=6)
        np.testing.assert_array_equal(a.x_train, b.x_train)
        np.testing.assert_array_equal(a.y_test, b.y_test)
        assert not np.array_equal(a.x_train, c.x_train)
        assert a.x_train.shape == (100, 2) and a.x_test.shape == (100, 2)
        assert a.x_train.dtype == np.float32 and a.input_shape == (2,) and a.num_classes == 2
        assert set(np.concatenate([a.y_train, a.y_test]).tolist()) == {0, 1}
        allx = np.concatenate([a.x_train, a.x_test])
        assert np.all(np.abs(allx) <= 6.0) or name in ("gauss", "moons")


def _all(d):
    return np.concatenate([d.x_train, d.x_test]).astype(np.float64), np.concatenate([d.y_train, d.y_test])


def test_circle_label_is_the_radius_rule_without_noise():
    x, y = _all(datasets.toy("circle", n_samples=1000, noise=0.0, seed=0))
    r = np.hypot(x[:, 0], x[:, 1])
    np.testing.assert_array_equal(y, (r < 5 * 0.5).astype(int))  # Playground: inside radius*0.5
    assert r[y == 1].max() < 2.5 and r[y == 0].min() >= 3.5 - 1e-5 and r.max() <= 5 + 1e-5
    assert (y == 1).sum() == 500


def test_circle_and_xor_noise_flips_labels_not_points():
    x0, _ = _all(datasets.toy("circle", n_samples=1000, noise=0.0, seed=0))
    x, y = _all(datasets.toy("circle", n_samples=1000, noise=0.5, seed=0))
    r = np.hypot(x[:, 0], x[:, 1])
    assert r.max() <= 5 + 1e-5  # same ring/disc as without noise
    agree = np.mean(y == (r < 2.5))
    assert 0.5 < agree < 0.95
    x, y = _all(datasets.toy("xor", n_samples=1000, noise=0.5, seed=0))
    assert 0.5 < np.mean(y == (x[:, 0] * x[:, 1] >= 0)) < 0.95


def test_xor_label_is_the_sign_of_the_product():
    x, y = _all(datasets.toy("xor", n_samples=1000, noise=0.0, seed=2))
    np.testing.assert_array_equal(y, (x[:, 0] * x[:, 1] >= 0).astype(int))
    assert np.abs(x).min() >= 0.3 - 1e-6 and np.abs(x).max() <= 5.3 + 1e-5


def test_gauss_variance_follows_playground_scale_and_grows_with_noise():
    for noise, variance in ((0.0, 0.5), (0.5, 4.0)):
        x, y = _all(datasets.toy("gauss", n_samples=8000, noise=noise, seed=1))
        for label, centre in ((1, (2, 2)), (0, (-2, -2))):
            pts = x[y == label]
            np.testing.assert_allclose(pts.mean(axis=0), centre, atol=0.12)
            np.testing.assert_allclose(pts.var(axis=0), variance, rtol=0.08)


def test_spiral_points_on_playground_arms_and_noise_spread():
    n = 400
    x, y = generate("spiral", n, 0.0, 0)
    half = n // 2
    i = np.arange(half)
    for label, delta in ((1, 0.0), (0, math.pi)):  # Playground: +1 arm delta 0, -1 arm delta pi
        r = i / half * 5
        t = 1.75 * i / half * 2 * math.pi + delta
        want = np.stack([r * np.sin(t), r * np.cos(t)], axis=1)
        np.testing.assert_allclose(x[y == label], want, atol=1e-9)
    noisy, _ = generate("spiral", n, 0.4, 0)
    dev = noisy - x
    assert np.abs(dev).max() <= 0.4 and np.abs(dev).max() > 0.35 and dev.std() > 0.15
    quiet = datasets.toy("spiral", n_samples=n, noise=0.0, seed=1)
    loud = datasets.toy("spiral", n_samples=n, noise=0.5, seed=1)
    assert np.concatenate([loud.x_train, loud.x_test]).std() > np.concatenate([quiet.x_train, quiet.x_test]).std()


def test_moons_match_scikit_learn_mapped_to_playground_range():
    from sklearn.datasets import make_moons

    x, y = generate("moons", 300, 0.0, 0)
    sx, sy = make_moons(n_samples=300, shuffle=False, noise=0.0)
    np.testing.assert_allclose(x, 4 * (sx - [0.5, 0.25]), atol=1e-12)
    np.testing.assert_array_equal(y, sy)
    assert np.abs(x[:, 0]).max() == pytest.approx(6.0)
    noisy, _ = generate("moons", 3000, 0.1, 0)
    clean, _ = generate("moons", 3000, 0.0, 0)
    assert (noisy - clean).std() == pytest.approx(0.4, rel=0.05)  # sd 0.1 in sklearn units, x4


def test_multiclass_gauss_and_spiral():
    d = datasets.toy("gauss", n_samples=3000, num_classes=3, seed=0)
    x, y = _all(d)
    assert d.num_classes == 3 and sorted(set(y.tolist())) == [0, 1, 2]
    for c in range(3):
        a = 5 * math.pi / 4 + 2 * math.pi * c / 3
        np.testing.assert_allclose(x[y == c].mean(axis=0),
                                   [2 * math.sqrt(2) * math.cos(a), 2 * math.sqrt(2) * math.sin(a)],
                                   atol=0.1)
    s = datasets.load("spiral", num_classes=4, n_samples=400)
    assert s.num_classes == 4 and np.bincount(np.concatenate([s.y_train, s.y_test])).tolist() == [100] * 4
    Y, _ = s.one_hot()
    assert Y.shape == (200, 4)
    with pytest.raises(ValueError, match="num_classes=3"):
        datasets.toy("circle", num_classes=3)


def test_regression_sets_follow_playground_formulas():
    d = datasets.toy_regression("plane", n_samples=400, noise=0.0, seed=0)
    x, t = _all(d)
    np.testing.assert_allclose(t, (x[:, 0] + x[:, 1]) / 10, atol=1e-5)
    assert d.num_classes == 0 and np.abs(x).max() <= 6
    with pytest.raises(ValueError, match="regression"):
        d.one_hot()

    def playground_multi_gauss(px, py):  # Playground's getLabel, transcribed
        label = 0.0
        for cx, cy, sign in [(-4, 2.5, 1), (0, 2.5, -1), (4, 2.5, 1),
                             (-4, -2.5, -1), (0, -2.5, 1), (4, -2.5, -1)]:
            dist = math.hypot(px - cx, py - cy)
            new = sign * min(max(1 - dist / 2, 0.0), 1.0)
            if abs(new) > abs(label):
                label = new
        return label

    x, t = _all(datasets.toy_regression("multi_gauss", n_samples=300, seed=2))
    want = [playground_multi_gauss(a, b) for a, b in x]
    np.testing.assert_allclose(t, want, atol=1e-5)


# --------------------------------------------------------------------------- digits and load
def test_digits_is_sklearn_data_split_and_scaled():
    from sklearn.datasets import load_digits

    sk = load_digits()
    d = datasets.load_digits(seed=0)
    assert d.x_train.shape == (1438, 64) and d.x_test.shape == (359, 64) and d.num_classes == 10
    assert d.x_train.min() >= 0 and d.x_train.max() == 1.0
    ids = np.concatenate([d.info["train_indices"], d.info["test_indices"]])
    assert sorted(ids.tolist()) == list(range(1797))
    np.testing.assert_allclose(d.x_train * 16, sk.data[d.info["train_indices"]], atol=1e-5)
    np.testing.assert_array_equal(d.y_test, sk.target[d.info["test_indices"]])
    raw = datasets.load("digits", scale="raw", seed=0)
    assert raw.x_train.max() == 16.0
    assert not np.array_equal(datasets.load_digits(seed=1).y_train, d.y_train)
    sub = datasets.load("digits", n_samples=500, test_fraction=0.3, seed=2)
    assert sub.n_train == 350 and sub.n_test == 150


def test_names_and_unknown_name():
    assert datasets.names() == ["digits", "mnist", "fashion_mnist", "circle", "xor", "gauss",
                                "spiral", "moons"]
    with pytest.raises(ValueError) as info:
        datasets.load("spirl")
    msg = str(info.value)
    assert "'spirl'" in msg and "did you mean 'spiral'" in msg
    assert all(n in msg for n in datasets.names())
    with pytest.raises(ValueError, match="'fashoin_mnist'.*fashion_mnist"):
        datasets.load("fashoin_mnist")


@pytest.mark.parametrize("kwargs, shown", [
    ({"noise": -0.1}, "-0.1"),
    ({"test_fraction": 0.0}, "0.0"),
    ({"test_fraction": 1}, "1"),
    ({"n_samples": 0}, "0"),
    ({"noise": float("nan")}, "nan"),
])
def test_toy_bad_input_names_the_value(kwargs, shown):
    with pytest.raises(ValueError, match=f"got {shown}"):
        datasets.toy("circle", **kwargs)


def test_bad_input_digits_and_noise_on_images():
    with pytest.raises(ValueError, match="n_samples=2000.*1797"):
        datasets.load("digits", n_samples=2000)
    with pytest.raises(ValueError, match="noise=0.3"):
        datasets.load("digits", noise=0.3)
    with pytest.raises(ValueError, match="test_fraction.*got -0.2"):
        datasets.load_digits(test_fraction=-0.2)
