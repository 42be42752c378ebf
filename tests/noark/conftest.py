import shutil
from pathlib import Path

import pytest

from noark_builders import build_small_package


@pytest.fixture(scope="session")
def _golden(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("golden") / "pakke"
    build_small_package(folder)
    return folder


@pytest.fixture
def package(_golden, tmp_path) -> Path:
    """A fresh copy of the small good package, free to break."""
    target = tmp_path / "pakke"
    shutil.copytree(_golden, target)
    return target
