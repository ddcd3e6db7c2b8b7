"""MNIST and Fashion-MNIST from their IDX files: parse, search, verify, download.

Both sets come as four IDX files (``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte``), gzip-compressed or not; MNIST also
as Keras' ``mnist.npz``. Whatever the source, the data are verified by the SHA-256 of the
*decompressed* IDX bytes (gzip wrappers differ between mirrors; the content does not). For
``mnist.npz`` the IDX bytes are rebuilt from the arrays (header + pixels), so the same four
hashes serve.

Search order (the first place holding all four files wins; :func:`find_files`):

1. the ``data_dir`` argument;
2. ``$ACTLAB_DATA``;
3. ``$MNIST_DIR`` (mnist) or ``$FASHION_MNIST_DIR`` (fashion_mnist);
4. actlab's cache, ``$XDG_CACHE_HOME/actlab/<name>`` (default ``~/.cache/actlab/<name>``),
   where downloads go;
5. Keras' cache, ``$KERAS_HOME/datasets`` (default ``~/.keras/datasets``): ``mnist.npz``, or
   the ``fashion-mnist/`` folder;
6. the usual torchvision roots ``./data`` and ``~/data``;
7. Debian's ``/usr/share/datasets/fashion-mnist`` (package ``dataset-fashion-mnist``).

A directory in 1, 2, 3 and 6 is looked at itself and in its subfolders ``<name>``
(``mnist``; ``fashion_mnist`` or ``fashion-mnist``) and torchvision's ``MNIST/raw`` /
``FashionMNIST/raw``. Since both sets use the same file names, a folder whose labels are the
other set's is passed over.

Nothing is ever downloaded unless asked (``download=True`` or ``ACTLAB_DOWNLOAD=1``) and only
when nothing was found locally; the mirrors can be replaced with ``ACTLAB_MIRRORS`` (base URLs,
comma-separated).

Hostile files cost nothing: every IDX file is read as a stream (gzip decompressed chunk by
chunk) into an array of the size its header announces, hashed on the way, and never read past
that size. A file that is to match a published hash must have the published size (from
:data:`IDX_SHAPES`); any other may claim at most :data:`MAX_IDX_BYTES`. The ``.npy`` headers
of ``mnist.npz`` are checked the same way before anything is allocated, and object (pickled)
arrays are refused. A gzip or zip bomb is refused after at most one chunk past the announced
size, with a one-line :class:`IDXFormatError` naming the file.
"""
from __future__ import annotations

import functools
import gzip
import hashlib
import http.client
import math
import os
import shutil
import struct
import sys
import tempfile
import urllib.error
import urllib.request
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

__all__ = [
    "IDX_NAMES", "PARTS", "FILE_STEMS", "SHA256", "IDX_SHAPES", "MAX_IDX_BYTES", "MIRRORS",
    "DataNotFoundError", "ChecksumError", "DownloadError", "IDXFormatError",
    "DataFiles", "parse_idx", "idx_header", "read_idx_bytes", "read_idx",
    "cache_dir", "search_locations", "find_files", "load_idx_dataset", "download_idx",
]

IDX_NAMES = ("mnist", "fashion_mnist")
PARTS = ("train_images", "train_labels", "test_images", "test_labels")
FILE_STEMS = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
_NPZ_KEYS = {"train_images": "x_train", "train_labels": "y_train",
             "test_images": "x_test", "test_labels": "y_test"}

#: SHA-256 of the decompressed IDX files. MNIST: the values published for the original files.
#: Fashion-MNIST: computed from files whose gzip MD5s are Zalando's published ones
#: (8d4fb7e6..., 25c81989..., bef4ecab..., bb300cfd...); Debian's package holds the same bytes.
SHA256 = {
    "mnist": {
        "train_images": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
        "train_labels": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
        "test_images": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        "test_labels": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    },
    "fashion_mnist": {
        "train_images": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
        "train_labels": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
        "test_images": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
        "test_labels": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
    },
}

#: Shape of each published array (uint8), the same for both sets. A file that is to match one
#: of the :data:`SHA256` hashes is read no further than that array's IDX size.
IDX_SHAPES = {"train_images": (60000, 28, 28), "train_labels": (60000,),
              "test_images": (10000, 28, 28), "test_labels": (10000,)}
#: The published arrays' shapes by their SHA-256 (a hash pins the content, hence its shape).
_SHAPE_OF_SHA256 = {sha: IDX_SHAPES[part] for hashes in SHA256.values()
                    for part, sha in hashes.items()}
#: The most bytes an IDX file (or ``mnist.npz`` member) whose size is not known may claim.
MAX_IDX_BYTES = 1 << 30
_CHUNK = 1 << 20  # bytes decompressed and hashed per step
_UINT8 = np.dtype(np.uint8)

#: Public mirrors serving the four ``.gz`` files (tried in order).
MIRRORS = {
    "mnist": [
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
    ],
    "fashion_mnist": [
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
    ],
}

_TITLES = {"mnist": "MNIST", "fashion_mnist": "Fashion-MNIST"}
_SUBDIRS = {"mnist": ("mnist", "MNIST/raw"),
            "fashion_mnist": ("fashion_mnist", "fashion-mnist", "FashionMNIST/raw")}
_ENV_DIR = {"mnist": "MNIST_DIR", "fashion_mnist": "FASHION_MNIST_DIR"}
_DEBIAN = {"fashion_mnist": "/usr/share/datasets/fashion-mnist"}
_TRUE = {"1", "true", "yes", "on"}


class DataNotFoundError(FileNotFoundError):
    """No complete copy of a dataset was found; ``searched`` lists (place, outcome) pairs."""

    def __init__(self, message: str, searched: list[tuple[str, str]]):
        super().__init__(message)
        self.searched = searched


class ChecksumError(ValueError):
    """A file's decompressed bytes do not have the expected SHA-256."""

    def __init__(self, path: str, expected: str, actual: str, extra: str = ""):
        msg = (f"SHA-256 mismatch for {path}: expected {expected}, got {actual} "
               "(of the decompressed bytes); the file is corrupt or not the dataset it is "
               "named after")
        super().__init__(msg + (f". {extra}" if extra else ""))
        self.path, self.expected, self.actual = path, expected, actual


class DownloadError(OSError):
    """Every mirror failed for a file (network errors, HTTP errors, bad checksums)."""


class IDXFormatError(ValueError):
    """Bytes that are not a well-formed IDX file."""


# ---------------------------------------------------------------------------------- IDX format
_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_IDX_CODES = {np.dtype(v).newbyteorder("=").str: k for k, v in _IDX_TYPES.items()}


def _idx_magic(head: bytes, source: str) -> tuple[np.dtype, int]:
    """The value type and number of dimensions from an IDX file's first four bytes."""
    if len(head) < 4:
        raise IDXFormatError(f"{source}: {len(head)} bytes is too short for an IDX header")
    z0, z1, code, ndim = head[0], head[1], head[2], head[3]
    if z0 or z1 or code not in _IDX_TYPES:
        magic = int.from_bytes(bytes(head[:4]), "big")
        raise IDXFormatError(f"{source}: bad IDX magic number 0x{magic:08x} (expected "
                             "0x000008NN for uint8 data, or another IDX type code 0x09, 0x0B, "
                             "0x0C, 0x0D, 0x0E)")
    return np.dtype(_IDX_TYPES[code]), ndim


def _idx_dims(head: bytes, ndim: int, source: str) -> tuple[int, ...]:
    header = 4 + 4 * ndim
    if len(head) < header:
        raise IDXFormatError(f"{source}: truncated header ({len(head)} bytes, {ndim} dims)")
    return struct.unpack(f">{ndim}I", bytes(head[4:header]))


def _idx_size(dims: tuple[int, ...], dtype: np.dtype = _UINT8) -> int:
    """Bytes of the IDX file with these dims: header + values (Python ints: no overflow)."""
    return 4 + 4 * len(dims) + math.prod(dims) * dtype.itemsize


def _published_size(expected: str) -> int | None:
    """The IDX size of the published file with SHA-256 ``expected``; None if not published."""
    shape = _SHAPE_OF_SHA256.get(expected)
    return None if shape is None else _idx_size(shape)


def parse_idx(data: bytes, *, source: str = "IDX data") -> np.ndarray:
    """Decode the bytes of one (uncompressed) IDX file into an array.

    The format: two zero bytes, a type code (0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32,
    0x0D float32, 0x0E float64), the number of dimensions, each dimension as a big-endian
    uint32, then the values, big-endian, in C order.

    >>> import struct
    >>> parse_idx(struct.pack(">BBBBI", 0, 0, 8, 1, 3) + bytes([7, 8, 9])).tolist()
    [7, 8, 9]
    """
    dtype, ndim = _idx_magic(data, source)
    dims = _idx_dims(data, ndim, source)
    expected = _idx_size(dims, dtype)
    if len(data) != expected:
        raise IDXFormatError(f"{source}: size {len(data)} bytes does not match dims {dims} "
                             f"(expected {expected} bytes)")
    arr = np.frombuffer(data, dtype=dtype, count=math.prod(dims),
                        offset=4 + 4 * ndim).reshape(dims)
    if dtype.itemsize > 1:
        arr = arr.astype(dtype.newbyteorder("="))
    return arr


def idx_header(arr: np.ndarray) -> bytes:
    """The IDX header (magic number and dimensions) describing ``arr``."""
    code = _IDX_CODES.get(np.dtype(arr.dtype).newbyteorder("=").str)
    if code is None:
        raise ValueError(f"no IDX type code for dtype {arr.dtype}")
    return struct.pack(f">BBBB{arr.ndim}I", 0, 0, code, arr.ndim, *arr.shape)


def _idx_bytes_sha256(arr: np.ndarray) -> str:
    """SHA-256 of the IDX file that would hold ``arr`` (header + big-endian values)."""
    h = hashlib.sha256(idx_header(arr))
    big = np.ascontiguousarray(arr, dtype=np.dtype(arr.dtype).newbyteorder(">"))
    h.update(memoryview(big).cast("B"))
    return h.hexdigest()


def _open_idx(path: Path):
    """``path`` opened for reading its decompressed bytes (gzip told by its magic bytes)."""
    with open(path, "rb") as f:
        gz = f.read(2) == b"\x1f\x8b"
    return gzip.open(path, "rb") if gz else open(path, "rb")


def _read_upto(fp, n: int) -> bytes:
    """Up to ``n`` bytes from ``fp`` (fewer only at its end)."""
    parts, got = [], 0
    while got < n:
        chunk = fp.read(n - got)
        if not chunk:
            break
        parts.append(chunk)
        got += len(chunk)
    return b"".join(parts)


def _read_idx_stream(fp, source: str, size: int | None, max_bytes: int
                     ) -> tuple[np.ndarray, str]:
    head = _read_upto(fp, 4)
    dtype, ndim = _idx_magic(head, source)
    head += _read_upto(fp, 4 * ndim)
    dims = _idx_dims(head, ndim, source)
    total = _idx_size(dims, dtype)
    if size is not None and total != size:
        raise IDXFormatError(f"{source}: header dims {dims} make a {total:,}-byte file, but "
                             f"the published file it must match has {size:,} bytes")
    if total > max_bytes:
        raise IDXFormatError(f"{source}: header dims {dims} claim {total:,} bytes, more than "
                             f"the {max_bytes:,} allowed")
    digest = hashlib.sha256(head)
    buf = np.empty(total - len(head), dtype=np.uint8)
    view = memoryview(buf)
    got = 0
    while got < len(buf):
        n = fp.readinto(view[got:got + _CHUNK])
        if not n:
            raise IDXFormatError(f"{source}: size {len(head) + got:,} bytes does not match "
                                 f"dims {dims} (expected {total:,} bytes)")
        digest.update(view[got:got + n])
        got += n
    if fp.read(1):
        raise IDXFormatError(f"{source}: size does not match dims {dims}: more than the "
                             f"{total:,} bytes they call for (reading stopped there)")
    arr = buf.view(dtype).reshape(dims)
    if dtype.itemsize > 1:
        arr = arr.astype(dtype.newbyteorder("="))
    return arr, digest.hexdigest()


def _stream_idx(path: str | os.PathLike, *, size: int | None = None,
                max_bytes: int = MAX_IDX_BYTES, source: str | None = None
                ) -> tuple[np.ndarray, str]:
    """Read an IDX file (``.gz`` or not) as a stream: its array and the SHA-256 of its
    decompressed bytes.

    The header is read first; the file must have exactly ``size`` bytes when that is given
    and at most ``max_bytes`` in any case. The array is allocated at the header's size and
    filled chunk by chunk while hashing; a byte more than the header announces is an error,
    so a gzip bomb costs one chunk past that size, never more. Memory: the array and a chunk.
    Errors name ``source`` (default: the path).
    """
    source = str(path) if source is None else source
    try:
        with _open_idx(Path(path)) as fp:
            return _read_idx_stream(fp, source, size, max_bytes)
    except (gzip.BadGzipFile, EOFError, zlib.error) as err:
        raise IDXFormatError(f"{source}: broken gzip data ({err})") from err


def read_idx_bytes(path: str | os.PathLike, *, max_bytes: int = MAX_IDX_BYTES) -> bytes:
    """The decompressed bytes of an IDX file (gzip detected by its magic bytes, not the name),
    read no further than its header announces (at most ``max_bytes``)."""
    arr, _ = _stream_idx(path, max_bytes=max_bytes)
    return idx_header(arr) + np.ascontiguousarray(
        arr, dtype=arr.dtype.newbyteorder(">")).tobytes()


def read_idx(path: str | os.PathLike, *, max_bytes: int = MAX_IDX_BYTES) -> np.ndarray:
    """Read one IDX file (``.gz`` or not) into an array, without checksum verification.

    The file is streamed and refused (:class:`IDXFormatError`) when its header claims more
    than ``max_bytes`` (default :data:`MAX_IDX_BYTES`, 1 GiB) or its data run past what the
    header announces.
    """
    return _stream_idx(path, max_bytes=max_bytes)[0]


# ------------------------------------------------------------------------------------ search
@dataclass(frozen=True)
class DataFiles:
    """What :func:`find_files` found: ``kind`` is ``'idx'`` (``paths`` maps each of
    :data:`PARTS` to its file) or ``'npz'`` (``paths == {'npz': mnist.npz}``)."""

    name: str
    kind: str
    directory: Path
    paths: dict = field(default_factory=dict)
    source: str = ""


def _check_idx_name(name: str) -> str:
    key = str(name).lower().replace("-", "_")
    if key not in IDX_NAMES:
        import difflib
        close = difflib.get_close_matches(key, IDX_NAMES, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"unknown IDX dataset {name!r}: valid names are "
                         f"{', '.join(IDX_NAMES)}{hint}")
    return key


def _want_download(download: bool | None) -> bool:
    if download is None:
        return os.environ.get("ACTLAB_DOWNLOAD", "").strip().lower() in _TRUE
    return bool(download)


def cache_dir(name: str | None = None) -> Path:
    """actlab's cache: ``$XDG_CACHE_HOME/actlab`` (default ``~/.cache/actlab``), ``/<name>``."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    root = Path(base).expanduser() / "actlab"
    return root / name if name else root


def _keras_datasets() -> Path:
    base = os.environ.get("KERAS_HOME") or str(Path.home() / ".keras")
    return Path(base).expanduser() / "datasets"


def search_locations(name: str, data_dir: str | os.PathLike | None = None
                     ) -> list[tuple[str, Path | None, str]]:
    """The places :func:`find_files` looks, in order: ``(label, path, kind)`` with ``kind``
    ``'idx'`` (a folder to hold the four files), ``'npz'`` (Keras' file) or ``'unset'``
    (an argument or environment variable that was not given; ``path`` is None)."""
    name = _check_idx_name(name)
    out: list[tuple[str, Path | None, str]] = []

    def root(label: str, value: str | os.PathLike | None) -> None:
        if value is None or str(value) == "":
            out.append((label, None, "unset"))
            return
        base = Path(value).expanduser()
        if name == "mnist" and base.suffix == ".npz":  # a path to Keras' file itself
            out.append((label, base, "npz"))
            return
        out.append((label, base, "idx"))
        for sub in _SUBDIRS[name]:
            out.append((label, base / sub, "idx"))
        if name == "mnist":
            out.append((label, base / "mnist.npz", "npz"))

    root("data_dir argument", data_dir)
    root("$ACTLAB_DATA", os.environ.get("ACTLAB_DATA"))
    env = _ENV_DIR[name]
    root(f"${env}", os.environ.get(env))
    out.append(("actlab cache", cache_dir(name), "idx"))
    keras = _keras_datasets()
    if name == "mnist":
        out.append(("Keras cache", keras / "mnist.npz", "npz"))
    else:
        out.append(("Keras cache", keras / "fashion-mnist", "idx"))
    for base in (Path("data"), Path.home() / "data"):
        tv = "MNIST" if name == "mnist" else "FashionMNIST"
        out.append(("torchvision root", base.absolute() / tv / "raw", "idx"))
        out.append(("torchvision root", base.absolute() / name, "idx"))
    if name in _DEBIAN:
        out.append(("Debian package dataset-fashion-mnist", Path(_DEBIAN[name]), "idx"))
    return out


def _file_for(directory: Path, part: str) -> Path | None:
    stem = FILE_STEMS[part]
    dotted = stem.replace("-idx", ".idx")  # LeCun's uncompressed names: train-images.idx3-ubyte
    for candidate in (stem + ".gz", stem, dotted + ".gz", dotted):
        p = directory / candidate
        if p.is_file():
            return p
    return None


def _probe_idx_dir(name: str, directory: Path) -> tuple[dict | None, str]:
    if not directory.is_dir():
        return None, "no such directory"
    paths = {part: _file_for(directory, part) for part in PARTS}
    missing = [FILE_STEMS[p] for p, f in paths.items() if f is None]
    if len(missing) == len(PARTS):
        return None, "no IDX files"
    if missing:
        return None, f"incomplete, missing {', '.join(missing)}[.gz]"
    # MNIST and Fashion-MNIST share file names: a cheap look at the labels tells them apart.
    other = "fashion_mnist" if name == "mnist" else "mnist"
    other_hash = SHA256[other]["train_labels"]
    try:  # read no more than the other set's labels file has: a bomb is refused here
        _, labels_hash = _stream_idx(paths["train_labels"], size=_published_size(other_hash))
    except (OSError, IDXFormatError):
        return paths, "found"  # not the other set's labels: the load verifies the files
    if labels_hash == other_hash != SHA256[name]["train_labels"]:
        return None, f"holds {_TITLES[other]}, not {_TITLES[name]}"
    return paths, "found"


def _how_to_get(name: str) -> str:
    env = _ENV_DIR[name]
    files = ", ".join(FILE_STEMS[p] + ".gz" for p in PARTS)
    lines = [
        f"How to get {_TITLES[name]}:",
        f"  - download it (verified by SHA-256): datasets.load({name!r}, download=True), or set "
        f"ACTLAB_DOWNLOAD=1; mirrors: {', '.join(_mirrors(name))} "
        "(replace them with ACTLAB_MIRRORS=URL[,URL...])",
        f"  - or put the four files ({files}; .gz or not) in a folder and pass "
        f"data_dir=FOLDER, or set ACTLAB_DATA=FOLDER or {env}=FOLDER",
    ]
    if name == "mnist":
        lines.append("  - Keras' mnist.npz (left by keras.datasets.mnist.load_data()) is read "
                     "from ~/.keras/datasets/ or any folder above")
    else:
        lines.append("  - on Debian/Ubuntu: apt-get install dataset-fashion-mnist "
                     "(files in /usr/share/datasets/fashion-mnist/)")
    return "\n".join(lines)


def find_files(name: str, data_dir: str | os.PathLike | None = None) -> DataFiles:
    """Find a complete copy of ``'mnist'`` or ``'fashion_mnist'`` on this machine.

    Looks, in order: the ``data_dir`` argument; ``$ACTLAB_DATA``; ``$MNIST_DIR`` /
    ``$FASHION_MNIST_DIR``; actlab's cache (``$XDG_CACHE_HOME/actlab/<name>``, default
    ``~/.cache/actlab/<name>``); Keras' ``~/.keras/datasets/mnist.npz`` or
    ``~/.keras/datasets/fashion-mnist/``; torchvision's ``./data`` and ``~/data``
    (``MNIST/raw``, ``FashionMNIST/raw``); Debian's ``/usr/share/datasets/fashion-mnist``.
    Each folder given by the argument or a variable is looked at itself and in its
    ``<name>`` and torchvision subfolders. Files are not verified here (see
    :func:`load_idx_dataset`).

    Returns:
        :class:`DataFiles` of the first place holding the four IDX files (``.gz`` or not) or
        Keras' ``mnist.npz``.

    Raises:
        DataNotFoundError (a ``FileNotFoundError``): its message lists every place searched,
        what was there, and how to get the data.
    """
    name = _check_idx_name(name)
    searched: list[tuple[str, str]] = []
    for label, path, kind in search_locations(name, data_dir):
        if kind == "unset":
            searched.append((label, "not set"))
            continue
        if kind == "npz":
            if path.is_file():
                return DataFiles(name, "npz", path.parent, {"npz": path}, f"{label}: {path}")
            searched.append((f"{label}: {path}", "no such file"))
            continue
        paths, outcome = _probe_idx_dir(name, path)
        if paths is not None:
            return DataFiles(name, "idx", path, paths, f"{label}: {path}")
        searched.append((f"{label}: {path}", outcome))
    lines = [f"{_TITLES[name]} ({name}) was not found. Searched, in this order:"]
    lines += [f"  {i}. {place}: {outcome}" for i, (place, outcome) in enumerate(searched, 1)]
    raise DataNotFoundError("\n".join(lines) + "\n" + _how_to_get(name), searched)


# ------------------------------------------------------------------------------------ loading
def _verified_array(path: Path, expected: str) -> np.ndarray:
    """The array of an IDX file that must have the SHA-256 ``expected`` (streamed, hashed on
    the way, no further than the published file's size when that hash is a published one)."""
    arr, actual = _stream_idx(path, size=_published_size(expected))
    if actual != expected:
        raise ChecksumError(str(path), expected, actual)
    return arr


_NPY_HEADER_READERS = {(1, 0): "read_array_header_1_0", (2, 0): "read_array_header_2_0"}


def _npy_member(zf: zipfile.ZipFile, key: str, path: str, expected: str) -> np.ndarray:
    """The array ``key`` of an ``.npz`` file, its ``.npy`` header checked before allocating.

    The header's shape x itemsize must fill the member exactly and be the published file's
    size (when ``expected`` is a published hash) or at most :data:`MAX_IDX_BYTES`; object
    dtypes (pickles) and dtypes with no IDX type code are refused. Memory: the array alone.
    """
    from numpy.lib import format as npy

    source = f"{path}[{key}]"
    try:
        info = zf.getinfo(key + ".npy")
    except KeyError:
        names = ", ".join(n.removesuffix(".npy") for n in zf.namelist()[:8]) or "none"
        raise IDXFormatError(f"{path}: no array {key!r} (arrays: {names})") from None
    try:
        with zf.open(info) as fp:
            version = npy.read_magic(fp)
            if version not in _NPY_HEADER_READERS:
                raise IDXFormatError(f"{source}: .npy format version {version} is not read "
                                     "here (1.0 and 2.0 are)")
            shape, fortran, dtype = getattr(npy, _NPY_HEADER_READERS[version])(fp)
            offset = fp.tell()
            if dtype.hasobject:
                raise IDXFormatError(f"{source}: an object array (a pickle) is refused")
            if dtype.newbyteorder("=").str not in _IDX_CODES:
                raise IDXFormatError(f"{source}: dtype {dtype} has no IDX type code (valid: "
                                     f"{', '.join(sorted(_IDX_CODES))})")
            if any(d < 0 for d in shape):
                raise IDXFormatError(f"{source}: negative dimension in shape {shape}")
            nbytes = math.prod(shape) * dtype.itemsize
            claim = f"{source}: header shape {shape} of {dtype} ({nbytes:,} bytes)"
            published = _SHAPE_OF_SHA256.get(expected)
            if published is not None and (shape, dtype) != (published, _UINT8):
                raise IDXFormatError(f"{claim}, but the published array is {published} of "
                                     f"uint8 ({math.prod(published):,} bytes)")
            if _idx_size(shape, dtype) > MAX_IDX_BYTES:
                raise IDXFormatError(f"{claim} is more than the {MAX_IDX_BYTES:,} allowed")
            if offset + nbytes != info.file_size:
                raise IDXFormatError(f"{claim} does not fill the member "
                                     f"({info.file_size - offset:,} bytes of data)")
            buf = np.empty(nbytes, dtype=np.uint8)
            view, got = memoryview(buf), 0
            while got < nbytes:
                n = fp.readinto(view[got:got + _CHUNK])
                if not n:
                    raise IDXFormatError(f"{source}: data end after {got:,} of {nbytes:,} bytes")
                got += n
    except (ValueError, zipfile.BadZipFile, EOFError, zlib.error, NotImplementedError) as err:
        if isinstance(err, IDXFormatError):
            raise
        raise IDXFormatError(f"{source}: not a readable .npy member ({err})") from err
    return buf.view(dtype).reshape(shape, order="F" if fortran else "C")


def _npz_arrays(path: str, expected: dict) -> dict:
    """The four arrays of Keras' ``mnist.npz``, each verified by its rebuilt IDX bytes."""
    arrays = {}
    try:
        zf = zipfile.ZipFile(path)
    except zipfile.BadZipFile as err:
        raise IDXFormatError(f"{path}: not an .npz (zip) file ({err})") from err
    with zf:
        for part in PARTS:
            key = _NPZ_KEYS[part]
            arr = _npy_member(zf, key, path, expected[part])
            actual = _idx_bytes_sha256(arr)
            if actual != expected[part]:
                raise ChecksumError(f"{path}[{key}]", expected[part], actual,
                                    "(hash of the IDX bytes rebuilt from the array)")
            arrays[part] = arr
    return arrays


def _check_shapes(name: str, arrays: dict, where: str) -> None:
    for split in ("train", "test"):
        x, y = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        if x.ndim != 3 or y.ndim != 1 or x.shape[0] != y.shape[0]:
            raise IDXFormatError(f"{where}: {split} images {x.shape} and labels {y.shape} do "
                                 f"not form a {_TITLES[name]} split")


@functools.lru_cache(maxsize=4)
def _load_cached(name: str, kind: str, files: tuple, hashes: tuple) -> tuple:
    expected = dict(zip(PARTS, hashes))
    arrays: dict[str, np.ndarray] = {}
    if kind == "npz":
        (path, _, _), = files
        arrays = _npz_arrays(path, expected)
        where = path
    else:
        for part, (path, _, _) in zip(PARTS, files):
            arrays[part] = _verified_array(Path(path), expected[part])
        where = str(Path(files[0][0]).parent)
    _check_shapes(name, arrays, where)
    out = []
    for part in PARTS:
        arr = arrays[part]
        arr.setflags(write=False)
        out.append(arr)
    return tuple(out)


def _load_files(found: DataFiles) -> tuple:
    parts = ("npz",) if found.kind == "npz" else PARTS
    files = []
    for part in parts:
        p = Path(found.paths[part]).resolve()
        st = p.stat()
        files.append((str(p), st.st_size, st.st_mtime_ns))
    hashes = tuple(SHA256[found.name][p] for p in PARTS)
    return _load_cached(found.name, found.kind, tuple(files), hashes)


def load_idx_dataset(name: str, data_dir: str | os.PathLike | None = None,
                     download: bool | None = None, *,
                     progress: Callable[[str, int, int | None], None] | None = None
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The official split of MNIST or Fashion-MNIST, verified by SHA-256.

    Args:
        name: ``'mnist'`` or ``'fashion_mnist'``.
        data_dir: a folder to look in first (see :func:`find_files` for the whole order).
        download: True to download from the public mirrors when nothing is found locally;
            None (default) reads ``ACTLAB_DOWNLOAD`` (``1``/``true`` to allow); False never.
        progress: download progress callback ``(file_name, bytes_done, total_or_None)``;
            by default a line on stderr when it is a terminal.

    Returns:
        ``(x_train, y_train, x_test, y_test)``: uint8 arrays of shapes (60000, 28, 28),
        (60000,), (10000, 28, 28), (10000,), as ``keras.datasets.mnist.load_data()`` gives.
        They are cached for the process and read-only: copy before writing into them.

    Raises:
        DataNotFoundError: nothing found (and no download asked), listing every place searched.
        ChecksumError: a file's decompressed bytes are not the published ones.
    """
    return load_with_source(name, data_dir, download, progress=progress)[0]


def load_with_source(name: str, data_dir: str | os.PathLike | None = None,
                     download: bool | None = None, *,
                     progress: Callable[[str, int, int | None], None] | None = None
                     ) -> tuple[tuple, DataFiles]:
    """:func:`load_idx_dataset`'s arrays and the :class:`DataFiles` they came from."""
    name = _check_idx_name(name)
    try:
        found = find_files(name, data_dir)
    except DataNotFoundError as err:
        if not _want_download(download):
            raise
        try:
            found = download_idx(name, progress=progress)
        except DownloadError as derr:
            raise DownloadError(f"{derr}\n\n{err}") from derr
    return _load_files(found), found


# ----------------------------------------------------------------------------------- download
def _mirrors(name: str) -> list[str]:
    env = os.environ.get("ACTLAB_MIRRORS", "").strip()
    if env:
        return [m.strip() for m in env.split(",") if m.strip()]
    return list(MIRRORS[name])


def _terminal_progress(fname: str, done: int, total: int | None) -> None:
    if total:
        pct = 100.0 * done / total
        sys.stderr.write(f"\r  {fname}: {done / 1e6:6.1f} / {total / 1e6:.1f} MB ({pct:5.1f}%)")
    else:
        sys.stderr.write(f"\r  {fname}: {done / 1e6:6.1f} MB")
    if total is not None and done >= total:
        sys.stderr.write("\n")
    sys.stderr.flush()


def _fetch(url: str, dest: Path, timeout: float,
           progress: Callable[[str, int, int | None], None] | None,
           max_bytes: int = MAX_IDX_BYTES) -> None:
    """Download ``url`` into ``dest``, refusing more than ``max_bytes`` (announced or sent)."""
    if not url.lower().startswith(("http://", "https://")):
        raise ValueError(f"mirror URL must be http:// or https://, got {url!r}")
    request = urllib.request.Request(url, headers={"User-Agent": "actlab"})
    with urllib.request.urlopen(request, timeout=timeout) as resp, open(dest, "wb") as out:
        length = resp.headers.get("Content-Length")
        total = int(length) if length and length.isdigit() else None
        if total is not None and total > max_bytes:
            raise DownloadError(f"{url}: {total:,} bytes announced, more than the "
                                f"{max_bytes:,} this file can have")
        done = 0
        while True:
            chunk = resp.read(1 << 16)
            if not chunk:
                break
            done += len(chunk)
            if done > max_bytes:
                raise DownloadError(f"{url}: more than the {max_bytes:,} bytes this file can "
                                    "have (download stopped there)")
            out.write(chunk)
            if progress is not None:
                progress(dest.name, done, total)
    if total is not None and done != total:
        raise DownloadError(f"{url}: got {done} of {total} bytes")


def download_idx(name: str, *, mirrors: Iterable[str] | None = None,
             dest: str | os.PathLike | None = None,
             progress: Callable[[str, int, int | None], None] | None = None,
             timeout: float = 30.0) -> DataFiles:
    """Download the four ``.gz`` files of ``name`` and verify them; return where they are.

    Each file is tried on every mirror in turn (``mirrors``, else ``$ACTLAB_MIRRORS``, else
    :data:`MIRRORS`) and kept only if its decompressed bytes have the published SHA-256. All
    four land in a temporary folder first and move into ``dest`` (default actlab's cache,
    :func:`cache_dir`) only once all are verified: a failed download leaves nothing behind.

    Raises:
        ChecksumError: a mirror served a file with the wrong content and no mirror a good one.
        DownloadError: no mirror could be reached for a file.
    """
    name = _check_idx_name(name)
    bases = list(mirrors) if mirrors is not None else _mirrors(name)
    if not bases:
        raise ValueError(f"no mirrors to download {name!r} from (ACTLAB_MIRRORS is empty?)")
    target = Path(dest).expanduser() if dest is not None else cache_dir(name)
    if progress is None and sys.stderr.isatty():
        progress = _terminal_progress
    parent = target.parent
    made_parent = not parent.exists()
    parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}-download-", dir=parent))
    try:
        fetched: dict[str, Path] = {}
        for part in PARTS:
            fname = FILE_STEMS[part] + ".gz"
            expected = SHA256[name][part]
            size = _published_size(expected)
            # a .gz is at most a little larger than its content (stored blocks), never more
            cap = MAX_IDX_BYTES if size is None else size + size // 64 + 4096
            attempts: list[str] = []
            bad: ChecksumError | None = None
            for base in bases:
                url = base.rstrip("/") + "/" + fname
                path = tmp / fname
                try:
                    _fetch(url, path, timeout, progress, cap)
                    # the same caps as a local file; errors name the URL
                    _, actual = _stream_idx(path, size=size, source=url)
                except (urllib.error.URLError, http.client.HTTPException, OSError,
                        IDXFormatError, ValueError) as err:
                    named = isinstance(err, (IDXFormatError, DownloadError))  # name the URL
                    attempts.append(str(err) if named else f"{url}: {err}")
                    path.unlink(missing_ok=True)
                    continue
                if actual != expected:
                    bad = ChecksumError(url, expected, actual)
                    attempts.append(str(bad))
                    path.unlink(missing_ok=True)
                    continue
                fetched[part] = path
                break
            else:
                detail = "\n  ".join(attempts)
                if bad is not None:
                    raise ChecksumError(bad.path, bad.expected, bad.actual,
                                        f"Nothing was kept. Attempts:\n  {detail}")
                raise DownloadError(f"could not download {fname} of {_TITLES[name]}; "
                                    f"attempts:\n  {detail}")
        target.mkdir(parents=True, exist_ok=True)
        final = {}
        for part, path in fetched.items():
            final[part] = target / path.name
            os.replace(path, final[part])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if made_parent:
            try:
                parent.rmdir()  # only succeeds when the download left it empty
            except OSError:
                pass
    return DataFiles(name, "idx", target, final, f"downloaded to {target}")
