import os
import tempfile
from pathlib import Path

import pytest

# matplotlib writes a font cache in $HOME: keep it in a temp dir for the whole session.
os.environ.setdefault("MPLCONFIGDIR", tempfile.mkdtemp(prefix="actlab-mpl-"))
os.environ.setdefault("MPLBACKEND", "Agg")

REPO = Path(__file__).resolve().parents[1]
SHARED_MNIST = REPO.parent / "shared" / "data" / "mnist"


@pytest.fixture(scope="session")
def mnist_dir():
    """The MNIST files of ../shared (development and CI only); skip where absent."""
    if not (SHARED_MNIST / "train-images-idx3-ubyte.gz").exists():
        pytest.skip(f"MNIST not found in {SHARED_MNIST}")
    return SHARED_MNIST
