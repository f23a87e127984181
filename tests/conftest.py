import os

import pytest
import torch


@pytest.fixture(scope="session", autouse=True)
def private_cache(tmp_path_factory):
    """Every test session builds into a fresh cache: tests run the real tools, not old results."""
    root = tmp_path_factory.mktemp("quantrtl-cache")
    old = os.environ.get("QUANTRTL_CACHE")
    os.environ["QUANTRTL_CACHE"] = str(root)
    yield root
    if old is None:
        os.environ.pop("QUANTRTL_CACHE", None)
    else:
        os.environ["QUANTRTL_CACHE"] = old


@pytest.fixture(scope="module")
def one_torch_thread():
    """Torch on one CPU thread for a whole module (``pytestmark =
    pytest.mark.usefixtures("one_torch_thread")``), restored afterwards."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
