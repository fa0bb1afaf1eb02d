from __future__ import annotations

import numpy as np
import pytest
import torch

from nlpcourse import device, profiles, seeding


def test_pick_auto_matches_cuda_availability() -> None:
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert device.pick("auto").type == expected
    assert device.pick("CPU").type == "cpu"


def test_pick_rejects_unknown_names() -> None:
    with pytest.raises(ValueError, match="unknown DEVICE"):
        device.pick("tpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without a GPU")
def test_pick_cuda_without_gpu_is_a_clear_error() -> None:
    with pytest.raises(RuntimeError, match="no CUDA GPU"):
        device.pick("cuda")


def test_select_profile() -> None:
    assert profiles.select("smoke", smoke={"n": 1}, full={"n": 2}) == {"n": 1}
    with pytest.raises(ValueError, match="unknown PROFILE 'fast'"):
        profiles.select("fast", smoke={}, full={})


def test_seed_everything_is_reproducible() -> None:
    first = (seeding.seed_everything(3).random(3), torch.rand(2), np.random.rand())
    second = (seeding.seed_everything(3).random(3), torch.rand(2), np.random.rand())
    np.testing.assert_array_equal(first[0], second[0])
    assert torch.equal(first[1], second[1]) and first[2] == second[2]
