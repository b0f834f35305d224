"""Trainer: validation before work, schedules, determinism, exact resume after a crash, result
cache, trained-model access, and DistributedDataParallel under torchrun (2 CPU processes)."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path
from unittest import mock

import pytest
import torch

from mnv2lab.params import ParameterError
from mnv2lab.train import (
    CheckpointWarning,
    ResultCacheWarning,
    TrainConfig,
    TrainingInterrupted,
    evaluate,
    load_result,
    lr_at,
    result_path,
    run_dir,
    run_or_load,
    same_history,
    train,
)
from mnv2lab.data import load_dataset
from mnv2lab import records
from mnv2lab.train import checkpoint, engine
from mnv2lab.train.models import build
from mnv2lab.train.results import weights_available
from mnv2lab.train import results as results_mod
from conftest import tiny_config as tiny  # a run of a few seconds: TinyCNN on 8x8 digits
from ranks import run_two_ranks

ROOT = Path(__file__).resolve().parent.parent


pytestmark = pytest.mark.usefixtures("private_cache")


def _weights_equal(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


# --- configuration ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "override,fragment",
    [
        ({"lr": 0.0}, "'lr': got 0.0"),
        ({"optimizer": "adam"}, "one of ['sgd', 'rmsprop']"),
        ({"schedule": "linear"}, "'schedule'"),
        ({"device": "tpu"}, "'device'"),
        ({"epochs": 0}, "'epochs': got 0"),
        ({"model": "resnet50"}, "allowed: mobilenet_v2"),
        ({"model": "mobilenet_v2", "model_kwargs": {"bottleneck": "gelu"}}, "bottleneck"),
        ({"model_kwargs": {"num_classes": 3}}, "num_classes"),
        ({"dataset": "imagenet"}, "allowed: cifar10-jpeg"),
        ({"dataset_kwargs": {"size": 8}}, "unknown key 'size'"),
        ({"eval_every_steps": 5, "eval_every_epochs": 1.0}, "not both"),
        ({"nesterov": True, "momentum": 0.0}, "nesterov"),
        ({"study": "a/b"}, "'study'"),
        ({"seed": -1}, "'seed'"),
    ],
)
def test_bad_config_fails_before_any_work(override, fragment, monkeypatch):
    monkeypatch.setattr(engine, "load_dataset", lambda *a, **k: pytest.fail("loaded data"))
    with pytest.raises(ParameterError) as err:
        train(tiny(**override))
    assert fragment in str(err.value)


def test_unknown_option_in_a_config_file():
    with pytest.raises(ParameterError, match="unknown training option 'learning_rate'"):
        TrainConfig.from_dict({"learning_rate": 0.1})


def test_key_ignores_execution_details_only():
    a = tiny(threads=None)
    assert a.key() == tiny(threads=None, study="other", checkpoint_every_steps=5).key()
    assert a.key() == tiny(threads=None, lr=0.05).key() and tiny(lr=1).key() == tiny(lr=1.0).key()
    assert a.key() != tiny(seed=1).key() and a.key() != tiny(model_kwargs={"width": 9}).key()


def test_learning_rate_schedules():
    c = TrainConfig(lr=0.1, schedule="cosine", epochs=10)
    assert lr_at(c, 0, 100, 1000) == pytest.approx(0.1)
    assert lr_at(c, 500, 100, 1000) == pytest.approx(0.05)
    assert lr_at(c, 999, 100, 1000) < 1e-5
    paper = TrainConfig(lr=0.045, schedule="step", decay_rate=0.98, decay_epochs=1.0)
    assert lr_at(paper, 99, 100, 10**4) == pytest.approx(0.045)  # still epoch 0
    assert lr_at(paper, 100, 100, 10**4) == pytest.approx(0.045 * 0.98)  # epoch 1
    assert lr_at(paper, 1050, 100, 10**4) == pytest.approx(0.045 * 0.98**10)
    smooth = TrainConfig(lr=1.0, schedule="exponential", decay_rate=0.5, decay_epochs=2.0)
    assert lr_at(smooth, 100, 100, 10**4) == pytest.approx(0.5**0.5)
    warm = TrainConfig(lr=0.2, schedule="constant", warmup_epochs=1.0)
    assert [lr_at(warm, s, 4, 100) for s in range(5)] == pytest.approx([0.05, 0.1, 0.15, 0.2, 0.2])


def test_rmsprop_follows_tensorflow():
    """ms starts at 1, eps inside the sqrt, lr inside the momentum (TF's RMSPropOptimizer)."""
    from mnv2lab.train import RMSpropTF

    w = torch.nn.Parameter(torch.tensor([1.0, -2.0]))
    opt = RMSpropTF([w], lr=0.1, alpha=0.9, eps=1e-3, momentum=0.9, weight_decay=0.01)
    ref_w, ms, mom = torch.tensor([1.0, -2.0]), torch.ones(2), torch.zeros(2)
    for g in (torch.tensor([0.5, 0.1]), torch.tensor([-0.3, 2.0]), torch.tensor([0.0, 1.0])):
        w.grad = g.clone()
        opt.step()
        g = g + 0.01 * ref_w
        ms = 0.9 * ms + 0.1 * g * g
        mom = 0.9 * mom + 0.1 * g / torch.sqrt(ms + 1e-3)
        ref_w = ref_w - mom
        assert torch.allclose(w.detach(), ref_w, atol=1e-7)
    # first step is small (ms starts at 1), unlike torch.optim.RMSprop's ~lr/sqrt(0.1) jump
    v = torch.nn.Parameter(torch.zeros(1))
    v.grad = torch.ones(1)
    RMSpropTF([v], lr=0.1).step()
    assert abs(float(v.detach())) < 0.11


def test_eval_points():
    assert engine.eval_steps(tiny(), 10, 30) == {10, 20, 30}
    assert engine.eval_steps(tiny(eval_every_epochs=0.5), 10, 30) == {5, 10, 15, 20, 25, 30}
    assert engine.eval_steps(tiny(eval_every_steps=7, eval_at_start=True), 10, 30) == {
        0,
        7,
        14,
        21,
        28,
        30,
    }


# --- training -----------------------------------------------------------------------------------


def test_training_learns_is_deterministic_and_restores_settings():
    threads_before = torch.get_num_threads()
    det_before = torch.are_deterministic_algorithms_enabled()
    a = train(tiny(), progress=False)
    assert torch.get_num_threads() == threads_before
    assert torch.are_deterministic_algorithms_enabled() == det_before
    losses, accs = a.series("train_loss"), a.series("test_acc")
    assert len(a.history) == 3 and [h["step"] for h in a.history] == [44, 88, 132]
    assert losses[-1] < losses[0] - 0.3 and accs[-1] > 0.5  # chance is 0.1
    for h in a.history:
        assert h["images_per_s"] > 0 and h["elapsed_s"] > 0 and h["lr"] > 0
    b = train(tiny(), progress=False, resume=False)
    assert same_history(a.history, b.history) and _weights_equal(a.model, b.model)
    c = train(tiny(seed=1), progress=False)
    assert not same_history(a.history, c.history)
    # the returned model is the trained one: evaluating it reproduces the final accuracy
    from mnv2lab.data import load_dataset

    ds = load_dataset("digits", image_size=8)
    _, correct, n = evaluate(a.model, ds.test_images, ds.test_labels, ds, True)
    assert correct / n == a.final["test_acc"]


def test_killed_run_resumes_to_the_identical_history():
    """Crash at several points (mid-interval, right after a checkpoint, in the last epoch) with
    dropout, augmentation, RMSProp, warm-up and label smoothing all in play."""
    cfg = tiny(
        model_kwargs={"width": 8, "dropout": 0.3},
        augment=True,
        crop_padding=1,
        optimizer="rmsprop",
        lr=0.01,
        warmup_epochs=0.5,
        schedule="step",
        decay_rate=0.7,
        label_smoothing=0.1,
        eval_every_steps=20,
        checkpoint_every_steps=9,
        epochs=2,
    )
    ref = train(cfg, progress=False, resume=False)
    ckpt = run_dir(cfg.key()) / "checkpoint.pt"
    for stop in (5, 27, 60, 87):
        with pytest.raises(TrainingInterrupted):
            train(cfg, progress=False, stop_after_steps=stop)
        assert ckpt.exists() or stop < 9
    resumed = train(cfg, progress=False)
    assert same_history(ref.history, resumed.history)
    assert _weights_equal(ref.model, resumed.model)
    assert not ckpt.exists(), "the checkpoint is removed once the run has finished"
    assert (run_dir(cfg.key()) / "final.pt").exists()


def test_corrupt_checkpoint_is_reported_and_the_run_starts_over():
    cfg = tiny(epochs=1, checkpoint_every_steps=10)
    ref = train(cfg, progress=False, resume=False)
    with pytest.raises(TrainingInterrupted):
        train(cfg, progress=False, stop_after_steps=25)
    ckpt = run_dir(cfg.key()) / "checkpoint.pt"
    ckpt.write_bytes(ckpt.read_bytes()[:1000])
    with pytest.warns(CheckpointWarning, match="unusable"):
        again = train(cfg, progress=False)
    assert same_history(ref.history, again.history)


def test_time_based_checkpoints_resume_exactly():
    """Checkpoints taken on a timer land on arbitrary steps; resuming from any of them is exact."""
    cfg = tiny(epochs=1, checkpoint_seconds=1e-6, model_kwargs={"width": 8, "dropout": 0.2})
    ref = train(cfg, progress=False, resume=False)
    with pytest.raises(TrainingInterrupted):
        train(cfg, progress=False, stop_after_steps=13)
    state = torch.load(run_dir(cfg.key()) / "checkpoint.pt", weights_only=True)
    assert state["step"] == 13 and state["position"] == 13 and state["epoch"] == 0
    assert same_history(ref.history, train(cfg, progress=False).history)


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA device is present")
def test_cuda_without_a_gpu_is_a_clear_error():
    with pytest.raises(ParameterError, match="no CUDA device"):
        train(tiny(device="cuda"))


def test_mobilenet_v2_trains_channels_last_on_cpu():
    cfg = TrainConfig(
        model="mobilenet_v2",
        model_kwargs={"width_mult": 0.35, "small_input": True},
        dataset="digits",
        train_subset=96,
        test_subset=64,
        batch_size=32,
        epochs=1,
        device="cpu",
        eval_at_start=True,
        threads=1,
    )
    res = train(cfg, progress=False)
    assert [h["step"] for h in res.history] == [0, 3]
    assert res.history[0]["train_loss"] is None and math.isfinite(res.history[1]["train_loss"])
    first_conv = next(m for m in res.model.modules() if isinstance(m, torch.nn.Conv2d))
    assert first_conv.weight.is_contiguous(memory_format=torch.channels_last)
    assert res.final["train_images"] == 96 and res.final["test_images"] == 64


def test_real_cifar10_jpeg_subset(cifar_tarball):
    cfg = tiny(
        dataset="cifar10-jpeg",
        dataset_kwargs={"root": str(cifar_tarball), "limit_per_class": 20},
        epochs=1,
        augment=True,
    )
    res = train(cfg, progress=False)
    assert res.final["image_shape"] == [3, 32, 32] and res.final["train_images"] == 200
    assert 0.0 <= res.final["test_acc"] <= 1.0 and math.isfinite(res.final["train_loss"])


# --- result cache -------------------------------------------------------------------------------


def test_result_cache_stores_loads_and_recomputes_corrupt_entries(tmp_path, monkeypatch):
    cfg = tiny(epochs=1, study="unit")
    res = run_or_load(cfg, tmp_path / "results", progress=False)
    path = result_path(cfg, tmp_path / "results")
    record = json.loads(path.read_text())
    assert path.name == f"{cfg.key()}.json" and record["config"] == cfg.to_dict()
    for field in ("git_commit", "torch", "cpu_model", "threads", "wall_time_s", "mnv2lab_version"):
        assert field in record["provenance"]
    assert record["final"]["test_acc"] == res.final["test_acc"] and record["seed"] == cfg.seed

    calls = []
    real_train = results_mod.train
    monkeypatch.setattr(
        results_mod, "train", lambda *a, **k: calls.append(1) or real_train(*a, **k)
    )
    cached = run_or_load(cfg, tmp_path / "results", progress=False)
    assert cached.cached and not calls and same_history(cached.history, res.history)

    good = path.read_text()
    edited = json.loads(good)
    edited["final"]["test_acc"] = 0.99
    for damaged in (good[: len(good) // 2], json.dumps(edited), "{}"):
        path.write_text(damaged)
        with pytest.warns(ResultCacheWarning, match="unusable"):
            again = run_or_load(cfg, tmp_path / "results", progress=False)
        assert not again.cached and same_history(again.history, res.history)
        assert load_result(path).final["test_acc"] == res.final["test_acc"]
    assert len(calls) == 3


def test_trained_model_from_cache_and_retrain_for_weights(tmp_path):
    cfg = tiny(epochs=1)
    res = run_or_load(cfg, tmp_path / "r", progress=False, weights_in_results=True)
    small = result_path(cfg, tmp_path / "r").with_suffix(".weights.pth")
    assert small.exists() and small.stat().st_size < 2_000_000
    loaded = load_result(result_path(cfg, tmp_path / "r")).load_model()
    assert _weights_equal(loaded, res.model)
    small.unlink()
    (run_dir(cfg.key()) / "final.pt").unlink()
    with pytest.raises(FileNotFoundError, match="need_model=True"):
        load_result(result_path(cfg, tmp_path / "r")).load_model()
    again = run_or_load(cfg, tmp_path / "r", progress=False, need_model=True)
    assert again.cached and _weights_equal(again.load_model(), res.model)


# --- scale-out ----------------------------------------------------------------------------------


@pytest.mark.slow
def test_torchrun_two_cpu_ranks_agree_and_learn(tmp_path):
    cfg = tiny(
        epochs=4,
        eval_every_epochs=1.0,
        model_kwargs={"width": 8, "dropout": 0.1},
        augment=True,
        crop_padding=1,
        study="ddp",
        threads=None,
        ranks=2,
        fit_check_images=101,  # split 51 + 50 over the ranks, summed back to 101
    )
    (tmp_path / "cfg.json").write_text(json.dumps(cfg.to_dict()))
    proc = run_two_ranks(
        ["-m", "mnv2lab.train", "--config", tmp_path / "cfg.json"]
        + ["--results-dir", tmp_path / "results", "--rank-weights-dir", tmp_path / "w"]
        + ["--no-progress"],
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    w0 = torch.load(tmp_path / "w" / "rank0.pt", weights_only=True)
    w1 = torch.load(tmp_path / "w" / "rank1.pt", weights_only=True)
    assert w0.keys() == w1.keys() and all(torch.equal(w0[k], w1[k]) for k in w0)
    res = load_result(tmp_path / "results" / f"{cfg.key()}.json")
    assert res.final["world_size"] == 2 and res.provenance["world_size"] == 2
    losses = res.series("train_loss")
    assert losses[-1] < losses[0] - 0.2, losses
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    assert summary["key"] == cfg.key()
    assert all(round(h["train_eval_acc"] * 101, 6).is_integer() for h in res.history)


# --- run identity (issue 14, item 1) and the validation split (issue 13) -------------------------


def test_thread_count_and_ranks_are_part_of_a_runs_identity():
    """An explicit thread count or rank count changes the numbers, so it changes the key; the
    defaults (threads=None, ranks=1: how the committed study ran) leave old keys unchanged."""
    base = tiny(threads=None)
    assert (
        len(
            {
                base.key(),
                tiny(threads=1).key(),
                tiny(threads=2).key(),
                tiny(threads=None, ranks=2).key(),
            }
        )
        == 4
    )
    assert base.key() == TrainConfig.from_dict({**base.to_dict()}).key()
    legacy = {
        k: v for k, v in base.to_dict().items() if k not in ("ranks", "validation_images")
    }  # a config stored before them
    assert TrainConfig.from_dict(legacy).key() == base.key()


def test_resume_with_another_thread_count_is_refused_not_mixed(tmp_path):
    cfg = tiny(threads=None, epochs=2, checkpoint_every_steps=5)
    with pytest.raises(TrainingInterrupted):
        with mock.patch.object(os, "cpu_count", return_value=1):
            train(cfg, progress=False, stop_after_steps=7, run_directory=tmp_path)
    with mock.patch.object(os, "cpu_count", return_value=2):
        with pytest.raises(ParameterError, match="1 thread.*would use 2"):
            train(cfg, progress=False, run_directory=tmp_path)
    with mock.patch.object(os, "cpu_count", return_value=1):
        done = train(cfg, progress=False, run_directory=tmp_path)  # same count: resumes
    assert done.final["threads"] == 1


def test_a_run_needing_two_ranks_refuses_to_train_in_one_process(monkeypatch):
    monkeypatch.setattr(engine, "load_dataset", lambda *a, **k: pytest.fail("loaded data"))
    with pytest.raises(ParameterError, match="ranks=2.*1 process"):
        train(tiny(ranks=2, batch_size=32))
    with pytest.raises(ParameterError, match="split evenly over ranks=3"):
        tiny(ranks=3, batch_size=32).validate()


def test_weights_of_another_run_with_the_same_key_are_refused(tmp_path):
    cfg = tiny(epochs=1)
    res = run_or_load(cfg, tmp_path / "r", progress=False)
    stored = load_result(result_path(cfg, tmp_path / "r"))
    assert stored.final["weights_sha256"] and weights_available(stored)
    weights = Path(stored.weights_path)
    state = torch.load(weights, weights_only=True)
    next(iter(state.values())).add_(1.0)  # another run's weights, same file name
    torch.save(state, weights)
    assert not weights_available(stored)
    with pytest.raises(ValueError, match="not the ones this result was trained with"):
        stored.load_model()
    del res


def test_equal_weights_are_equal_bytes_wherever_they_are_written(tmp_path):
    # torch.save to a file names the archive inside after the file: the atomic write's random
    # temporary name made two saves of the same weights hash differently
    model = build("tiny_cnn", 10, {"width": 8})
    a = checkpoint.save_weights(tmp_path / "a" / "final.pt", model)
    b = checkpoint.save_weights(tmp_path / "b.pt", model)
    assert a == b == checkpoint.file_sha256(tmp_path / "b.pt")
    assert (tmp_path / "a" / "final.pt").read_bytes() == (tmp_path / "b.pt").read_bytes()
    with torch.no_grad():
        next(model.parameters()).add_(1.0)
    assert checkpoint.save_weights(tmp_path / "c.pt", model) != a


def test_a_retrain_that_reproduced_an_older_result_is_used_without_retraining(tmp_path):
    # results stored before the weights were serialized deterministically record a SHA-256 that
    # no retrain matches byte for byte: a reproducing retrain is recorded, not repeated
    cfg = tiny(epochs=1)
    run_or_load(cfg, tmp_path / "r", progress=False)
    path = result_path(cfg, tmp_path / "r")
    record = json.loads(path.read_text())
    record["final"]["weights_sha256"] = "0" * 64  # as written under a random archive name
    records.write(path, record)
    stored = load_result(path)
    assert not weights_available(stored)

    trained = []
    real_train = results_mod.train
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(results_mod, "train", lambda *a, **k: trained.append(1) or real_train(*a, **k))
        first = run_or_load(cfg, tmp_path / "r", progress=False, need_model=True)
        again = run_or_load(cfg, tmp_path / "r", progress=False, need_model=True)
    assert trained == [1], "retrained once for its weights, then reused"
    assert again.cached and weights_available(again)
    assert _weights_equal(first.model, again.load_model())

    weights = Path(again.weights_path)  # the record vouches for that file only
    state = torch.load(weights, weights_only=True)
    next(iter(state.values())).add_(1.0)
    torch.save(state, weights)
    assert not weights_available(load_result(path))


def test_validation_split_is_stratified_and_never_touches_the_test_set():
    ds = load_dataset("digits", progress=False)
    val = ds.holdout(200, seed=3)
    assert len(val.test_labels) == 200 and len(val.train_labels) == len(ds.train_labels) - 200
    counts = torch.bincount(val.test_labels, minlength=10)
    share = torch.bincount(ds.train_labels, minlength=10) * 200 / len(ds.train_labels)
    assert ((counts - share).abs() < 1).all()  # stratified
    # held-out images come from the training split, and no test image appears anywhere
    train_rows = {bytes(x.numpy()) for x in ds.train_images}
    test_rows = {bytes(x.numpy()) for x in ds.test_images}
    held = [bytes(x.numpy()) for x in val.test_images]
    assert all(h in train_rows for h in held)
    assert not test_rows & set(held) - train_rows  # (digits may repeat an image)
    assert ds.holdout(200, seed=3).test_labels.equal(val.test_labels)  # deterministic
    with pytest.raises(ValueError, match="validation_images: got 0"):
        ds.holdout(0)


def test_a_validation_run_evaluates_on_held_out_training_images(tmp_path, monkeypatch):
    seen = []
    real = engine.evaluate

    def spy(model, images, labels, ds, channels_last):
        seen.append(images.clone())
        return real(model, images, labels, ds, channels_last)

    monkeypatch.setattr(engine, "evaluate", spy)
    cfg = tiny(validation_images=100, epochs=1)
    res = train(cfg, progress=False, run_directory=tmp_path)
    assert res.final["evaluated_on"] == "validation" and res.final["test_images"] == 100
    full = load_dataset("digits", progress=False)
    test_rows = {bytes(x.numpy()) for x in full.test_images}
    assert seen and all(bytes(x.numpy()) not in test_rows for x in seen[0])
    assert tiny(validation_images=100).key() != tiny().key()
    with pytest.raises(ParameterError, match="validation_images and test_subset"):
        tiny(validation_images=100, test_subset=50).validate()


@pytest.mark.slow
def test_launch_starts_the_ranks_a_config_asks_for_and_reuses_the_result(tmp_path, monkeypatch):
    from mnv2lab.train import launch

    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    cfg = tiny(ranks=2, threads=1, epochs=1, batch_size=32)
    res = launch.run(cfg, tmp_path / "r", progress=False)
    assert res.final["world_size"] == 2 and res.final["threads"] == 1 and res.cached
    calls = []
    monkeypatch.setattr(launch.subprocess, "run", lambda *a, **k: calls.append(a))
    again = launch.run(cfg, tmp_path / "r", progress=False)
    assert not calls and again.history == res.history


LAUNCHER = """
import os, sys, time
from mnv2lab.train import TrainConfig, launch
sleeper = "import os, time; open(%r, 'w').write(str(os.getpid())); time.sleep(300)" % sys.argv[1]
launch.torchrun_command = lambda *a, **k: [sys.executable, "-c", sleeper]
cfg = TrainConfig(model="mobilenet_v2", dataset="digits", epochs=1, ranks=2, threads=1)
launch.run(cfg, sys.argv[2], progress=False)
"""


def test_stopping_a_launcher_stops_the_ranks_it_started(tmp_path):
    """SIGTERM to the process that started torchrun (say the study runner) must not leave the
    ranks training on, orphaned and holding the run's lock."""
    import signal
    import time

    pid_file = tmp_path / "child.pid"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    parent = subprocess.Popen(
        [sys.executable, "-c", LAUNCHER, str(pid_file), str(tmp_path / "r")], env=env
    )
    deadline = time.monotonic() + 60
    while not (pid_file.exists() and pid_file.read_text()) and time.monotonic() < deadline:
        time.sleep(0.1)
    child = int(pid_file.read_text())
    parent.send_signal(signal.SIGTERM)
    assert parent.wait(timeout=60) == 128 + signal.SIGTERM
    # the child was terminated and reaped by the parent: its pid is gone
    with pytest.raises(ProcessLookupError):
        os.kill(child, 0)


def test_snapshots_keep_weights_along_training_without_changing_the_run(tmp_path):
    plain = train(tiny(epochs=3), progress=False, run_directory=tmp_path / "a")
    snap = train(
        tiny(epochs=3, snapshot_epochs=[1, 3]), progress=False, run_directory=tmp_path / "b"
    )
    assert same_history(plain.history, snap.history)
    assert tiny(epochs=3, snapshot_epochs=[1]).key() == tiny(epochs=3).key()
    first = torch.load(engine.snapshot_path(tmp_path / "b", 1), weights_only=True)
    last = torch.load(engine.snapshot_path(tmp_path / "b", 3), weights_only=True)
    assert not all(torch.equal(first[k], last[k]) for k in first)
    assert all(torch.equal(last[k], v) for k, v in snap.model.state_dict().items())
    with pytest.raises(ParameterError, match="snapshot_epochs.*got 4"):
        tiny(epochs=3, snapshot_epochs=[4]).validate()


def test_the_fit_check_evaluates_training_images_without_changing_the_run(tmp_path):
    """fit_check_images adds clean-train loss and accuracy to every evaluation; it reads the
    weights only, so the run (key, history, weights) is the same as without it."""
    plain = train(tiny(label_smoothing=0.1), progress=False, run_directory=tmp_path / "a")
    fit = train(
        tiny(label_smoothing=0.1, fit_check_images=200),
        progress=False,
        run_directory=tmp_path / "b",
    )
    assert tiny(fit_check_images=200).key() == tiny().key()
    assert same_history(plain.history, fit.history)
    state = plain.model.state_dict()
    assert all(torch.equal(state[k], v) for k, v in fit.model.state_dict().items())
    h = fit.history[-1]
    assert 0.0 <= h["train_eval_acc"] <= 1.0 and h["train_eval_loss"] > 0
    assert round(h["train_eval_acc"] * 200) == h["train_eval_acc"] * 200  # 200 images counted
    assert fit.final["train_eval_loss"] == h["train_eval_loss"]
    # label smoothing inflates the training loss; the clean evaluation does not have it
    assert h["train_eval_loss"] < h["train_loss"]
    assert "train_eval_loss" not in plain.history[-1]
    with pytest.raises(ParameterError, match="fit_check_images.*got 0"):
        tiny(fit_check_images=0).validate()


# --- one trainer per run, and Ctrl-C (issue 14, findings 4 and 6) -------------------------------


def test_a_second_trainer_on_the_same_key_is_refused_and_leaves_the_first_ones_files():
    """While one trainer holds a run, a second exits with a message naming the holder's pid, and
    its start-up cleanup does not delete the first one's half-written checkpoint."""
    from mnv2lab.train.guard import RunLockedError, run_lock

    cfg = tiny(epochs=1)
    rdir = run_dir(cfg.key())
    with run_lock(rdir):  # "the first trainer"
        writing = rdir / ".checkpoint.pt.abc123.tmp"  # its checkpoint, mid-write
        writing.write_bytes(b"partial")
        with pytest.raises(RunLockedError, match=rf"process {os.getpid()}\b.*lock"):
            train(cfg, progress=False)
        assert writing.exists(), "the second trainer deleted the first one's temporary file"
    assert not (rdir / "lock").exists()


def test_a_stale_lock_of_a_dead_process_is_taken_over():
    cfg = tiny(epochs=1)
    rdir = run_dir(cfg.key())
    rdir.mkdir(parents=True)
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    (rdir / "lock").write_text(f"{dead}\n")
    (rdir / ".checkpoint.pt.dead.tmp").write_bytes(b"left by a killed run")
    result = train(cfg, progress=False)
    assert result.final["steps"] > 0
    assert not list(rdir.glob(".*.tmp")), "temporary files of a dead writer are cleaned up"
    assert not (rdir / "lock").exists()


def _interrupt_at(monkeypatch, at_step: int) -> None:
    """Deliver a real SIGINT while training step ``at_step`` (1-based) runs."""
    import signal

    calls = {"n": 0}
    real = engine.train_step

    def step_then_interrupt(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == at_step:
            os.kill(os.getpid(), signal.SIGINT)
        return real(*args, **kwargs)

    monkeypatch.setattr(engine, "train_step", step_then_interrupt)


def test_ctrl_c_saves_a_checkpoint_and_says_how_to_resume(monkeypatch, capsys):
    cfg = tiny(epochs=2, model_kwargs={"width": 8, "dropout": 0.3}, eval_every_steps=10)
    ref = train(cfg, progress=False, resume=False)
    _interrupt_at(monkeypatch, 17)
    with pytest.raises(KeyboardInterrupt, match=r"step 17 .*checkpoint.*resume"):
        train(cfg, progress=False)
    state = torch.load(run_dir(cfg.key()) / "checkpoint.pt", weights_only=True)
    assert state["step"] == 17
    assert "resume" in capsys.readouterr().err
    monkeypatch.undo()
    resumed = train(cfg, progress=False)
    assert same_history(ref.history, resumed.history)
    assert _weights_equal(ref.model, resumed.model)


def test_ctrl_c_on_the_command_line_prints_the_hint_not_a_traceback(monkeypatch, tmp_path, capsys):
    from mnv2lab.train.__main__ import main

    cfg_file = tmp_path / "cfg.json"
    cfg_file.write_text(json.dumps(tiny(epochs=1).to_dict()))
    _interrupt_at(monkeypatch, 3)
    assert (
        main(["--config", str(cfg_file), "--no-progress", "--results-dir", str(tmp_path / "res")])
        == 130
    )
    err = capsys.readouterr().err
    assert "Traceback" not in err and "--config" in err and "resume" in err
