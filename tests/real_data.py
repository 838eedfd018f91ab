"""Where the tests find real public data kept beside the checkout, and how they skip without it.

The shared data folder (CIFAR-10 as JPEG, lossless CIFAR-10 test images, real VOC samples)
is not part of the repository: a fresh machine does not have it, so every test that reads
it skips with the reason. ``$RESNET_SHARED_DATA`` points elsewhere; by default it is the
``shared/data`` folder beside the checkout.
"""

import os
from pathlib import Path

import pytest

ENV = "RESNET_SHARED_DATA"


def shared_data_root() -> Path:
    if os.environ.get(ENV):
        return Path(os.environ[ENV])
    return Path(__file__).resolve().parents[2] / "shared" / "data"


def shared_data(name: str) -> Path:
    """``shared/data/<name>``, or skip the calling test saying what is missing."""
    path = shared_data_root() / name
    if not path.exists():
        pytest.skip(f"{path} not found: real-data tests need the shared data folder beside the "
                    f"checkout (or ${ENV})")
    return path
