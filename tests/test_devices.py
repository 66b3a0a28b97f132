"""Choosing the trial device and laying trial processes out over GPUs (pure functions)."""

from __future__ import annotations

import pytest

from qsearch.devices import gpu_worker_layout, resolve_device
from qsearch.errors import InputError


@pytest.mark.parametrize(("choice", "cuda", "expected"), [
    ("auto", True, "cuda"), ("auto", False, "cpu"), ("cpu", True, "cpu"), ("cpu", False, "cpu"),
    ("cuda", True, "cuda"),
])
def test_resolve_device(choice: str, cuda: bool, expected: str) -> None:
    assert resolve_device(choice, cuda) == expected


def test_cuda_without_a_device_is_one_line_naming_the_field() -> None:
    with pytest.raises(InputError) as error:
        resolve_device("cuda", False)
    assert str(error.value) == ("model.device: cuda was asked for but torch finds no CUDA device; "
                                "use auto or cpu")
    with pytest.raises(InputError, match=r"^model\.device: 'tpu' is unknown; allowed: auto, cpu, cuda$"):
        resolve_device("tpu", True)  # type: ignore[arg-type]


def _gpus(layout: list[dict[str, str]]) -> list[str]:
    return [env["CUDA_VISIBLE_DEVICES"] for env in layout]


def test_several_trial_processes_share_each_gpu_round_robin() -> None:
    assert _gpus(gpu_worker_layout(2, 16, trials_per_gpu=3)) == ["0", "1", "0", "1", "0", "1"]
    assert _gpus(gpu_worker_layout(1, 16)) == ["0"] * 4
    assert all(set(env) == {"CUDA_VISIBLE_DEVICES"} for env in gpu_worker_layout(2, 16))


def test_cores_cap_the_processes_but_every_gpu_gets_one() -> None:
    assert _gpus(gpu_worker_layout(2, 3, trials_per_gpu=4)) == ["0", "1", "0"]  # one process per core
    assert _gpus(gpu_worker_layout(4, 2)) == ["0", "1", "2", "3"]  # fewer cores than GPUs: still one each


def test_no_gpu_gives_no_gpu_layout_and_bad_counts_raise() -> None:
    assert gpu_worker_layout(0, 8) == []
    with pytest.raises(ValueError, match="cores >= 1"):
        gpu_worker_layout(1, 0)
    with pytest.raises(ValueError, match="trials_per_gpu >= 1"):
        gpu_worker_layout(1, 4, trials_per_gpu=0)


def test_auto_workers_on_a_gpu_study_follow_the_gpu_layout_and_each_sees_one_gpu():
    from qsearch.devices import gpu_environments
    from qsearch.execution._launch import resolve_workers

    assert resolve_workers("auto", "rdb", cores=16, gpus=2) == len(gpu_worker_layout(2, 16)) == 8
    assert resolve_workers("auto", "sqlite", cores=16, gpus=2) == 1  # SQLite stays single-writer
    assert resolve_workers("auto", "rdb", cores=16, gpus=0) == 16
    assert resolve_workers(3, "rdb", cores=16, gpus=2) == 3
    assert gpu_environments(3, 2) == [{"CUDA_VISIBLE_DEVICES": "0"}, {"CUDA_VISIBLE_DEVICES": "1"},
                                      {"CUDA_VISIBLE_DEVICES": "0"}]
    assert gpu_environments(2, 0) == [{}, {}]
