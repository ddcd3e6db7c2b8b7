import atexit
import os
import shutil
import tempfile
from pathlib import Path

import pytest

# matplotlib writes a font cache in $HOME: keep it in a temp dir for the whole session, removed
# at the end (a test run leaves nothing behind in /tmp).
if "MPLCONFIGDIR" not in os.environ:
    os.environ["MPLCONFIGDIR"] = _mpl_dir = tempfile.mkdtemp(prefix="actlab-mpl-")
    atexit.register(shutil.rmtree, _mpl_dir, ignore_errors=True)
os.environ.setdefault("MPLBACKEND", "Agg")

REPO = Path(__file__).resolve().parents[1]
SHARED_MNIST = REPO.parent / "shared" / "data" / "mnist"


@pytest.fixture(autouse=True)
def _restore_registry(monkeypatch):
    """Every test starts from (and leaves) the activation registry and the loaded plugins as they were."""
    from actlab.activations import base, plugins

    monkeypatch.setattr(base, "_REGISTRY", dict(base._REGISTRY))
    monkeypatch.setattr(base, "_ALIASES", dict(base._ALIASES))
    for name in ("_BY_PATH", "_PLUGINS", "_OWNER"):
        monkeypatch.setattr(plugins, name, {})


@pytest.fixture(scope="session")
def mnist_dir():
    """The MNIST files of ../shared (development and CI only); skip where absent."""
    if not (SHARED_MNIST / "train-images-idx3-ubyte.gz").exists():
        pytest.skip(f"MNIST not found in {SHARED_MNIST}")
    return SHARED_MNIST


def _write_gzip_bomb(path, total: int, head: bytes = b"", member: int = 1 << 24):
    """Write ``total`` bytes (``head`` then zeros) as a gzip file of ~1/1000 the size, fast:
    members of ``member`` zeros are compressed once and repeated (gzip allows concatenated
    members; every reader decompresses them as one stream). Returns ``path``."""
    import gzip

    assert len(head) <= member <= total
    zeros = gzip.compress(bytes(member), 9)
    full, rest = divmod(total - member, member)
    with open(path, "wb") as f:
        f.write(gzip.compress(head + bytes(member - len(head)), 9))
        f.writelines(zeros for _ in range(full))
        if rest:
            f.write(gzip.compress(bytes(rest), 9))
    return path


@pytest.fixture
def gzip_bomb():
    """``gzip_bomb(path, total_bytes, head=b"")``: a gzip bomb of zeros after ``head``."""
    return _write_gzip_bomb
