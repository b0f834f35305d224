"""benchmarks/lockstep.py (the harness behind benchmarks/train_throughput.py): DDP ranks stepping
on command compute what the trainer's torchrun mode computes, answer with their timings, and shut
down (also when a rank fails)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from mnv2lab.params import ParameterError
from mnv2lab.train import TrainConfig
from ranks import run_two_ranks

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
from lockstep import LockstepRanks  # noqa: E402  (benchmarks/ is not a package)


pytestmark = pytest.mark.usefixtures("private_cache")


def tiny(**over) -> TrainConfig:
    """TinyCNN on 8x8 digits, 8 steps of 32 images (16 per rank), dropout and augmentation on so
    that the per-rank random streams matter."""
    base = dict(
        model="tiny_cnn",
        model_kwargs={"width": 8, "dropout": 0.1},
        dataset="digits",
        dataset_kwargs={"image_size": 8},
        train_subset=256,
        test_subset=64,
        epochs=1,
        batch_size=32,
        lr=0.05,
        device="cpu",
        augment=True,
        crop_padding=1,
        threads=1,
        study="lockstep",
    )
    return TrainConfig(**{**base, **over})


@pytest.mark.slow
def test_ranks_match_the_torchrun_trainer_and_report_timings(tmp_path):
    cfg = tiny(ranks=2)  # the trainer refuses a 2-process run whose config says otherwise
    (tmp_path / "cfg.json").write_text(json.dumps(cfg.to_dict()))
    # One process group at a time: the torchrun ranks finish before the lockstep ranks start (two
    # groups at once: a torchrun rank aborted once in a full run, cause not established).
    torchrun = run_two_ranks(
        ["-m", "mnv2lab.train", "--config", tmp_path / "cfg.json", "--no-cache"]
        + ["--results-dir", tmp_path / "results", "--rank-weights-dir", tmp_path / "w"]
        + ["--no-progress"],
        cwd=tmp_path,
    )
    assert torchrun.returncode == 0, torchrun.stderr[-3000:]
    with LockstepRanks(cfg, world_size=2) as ranks:
        procs = list(ranks._procs)
        assert ranks.threads_per_rank == 1
        first = ranks.run(1)
        rest = ranks.run(7)  # 8 steps = the run's one epoch
        params = ranks.parameters()
    assert not any(p.is_alive() for p in procs)

    for t, n in ((first, 1), (rest, 7)):
        assert len(t.rank_wall_s) == 2 and all(len(losses) == n for losses in t.losses)
        assert t.wall_s >= max(t.rank_wall_s) > 0 and t.cpu_s > 0
    # Each rank has its own half of the batch (different losses), the replicas stay identical.
    assert first.losses[0] != first.losses[1]
    assert params[0].keys() == params[1].keys()
    assert all(np.array_equal(params[0][k], params[1][k]) for k in params[0])
    # ... and equal to what train() under torchrun ends with after the same 8 steps.
    ref = torch.load(tmp_path / "w" / "rank0.pt", weights_only=True)
    for k, v in params[0].items():
        assert np.array_equal(v, ref[k].numpy()), k


@pytest.mark.slow
def test_a_failing_rank_is_reported_and_all_ranks_end(tmp_path):
    cfg = tiny(dataset="cifar10-jpeg", dataset_kwargs={"root": str(tmp_path / "missing")})
    ranks = LockstepRanks(cfg, world_size=2)
    with pytest.raises(RuntimeError, match="DDP rank 0 failed"):
        ranks.start()
    assert ranks._procs == []


def test_bad_arguments_fail_before_spawning():
    with pytest.raises(ParameterError, match="'world_size': got 1"):
        LockstepRanks(tiny(), world_size=1)
    with pytest.raises(ParameterError, match="'batch_size': got 30"):
        LockstepRanks(tiny(batch_size=30), world_size=4)
