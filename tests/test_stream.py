"""Streaming image folders (mnv2lab.data.stream) and the trainer on them: transforms, the
per-rank shards, workers not changing a batch, exact resume, bad input, the automatic choice,
precision/BatchNorm options, the paper's recipe, and 2 CPU ranks under torchrun (killed and
resumed)."""

from __future__ import annotations

import json
import math
import random
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch

from mnv2lab.data import DataError, epoch_order
from mnv2lab.data import stream
from mnv2lab.data.sample_folder import write_image_folder
from mnv2lab.params import ParameterError
from mnv2lab.train import (
    TrainConfig,
    TrainingInterrupted,
    load_result,
    run_dir,
    same_history,
    train,
)
from mnv2lab.train import recipes
from ranks import run_two_ranks

ROOT = Path(__file__).resolve().parent.parent


pytestmark = pytest.mark.usefixtures("private_cache")


@pytest.fixture
def folder(tmp_path) -> Path:
    """3 classes, 8 train + 4 val JPEGs each, sides 40-120 px."""
    return write_image_folder(tmp_path / "imgs", classes=3, train_per_class=8, val_per_class=4)


def streamed(folder: Path, **over) -> TrainConfig:
    base = dict(
        model="tiny_cnn",
        model_kwargs={"width": 8},
        dataset=f"folder:{folder}",
        dataset_kwargs={"image_size": 32},
        data_pipeline="stream",
        epochs=2,
        batch_size=6,
        lr=0.05,
        device="cpu",
        threads=1,
        loader_workers=0,
    )
    return TrainConfig(**{**base, **over})


def corrupt(path: Path) -> None:
    """Keep the JPEG header, cut the rest: Pillow opens it but cannot decode it."""
    path.write_bytes(path.read_bytes()[:200])


# --- transforms ---------------------------------------------------------------------------------


def test_random_resized_box_stays_inside_and_follows_the_ranges():
    rng = random.Random(0)
    areas, ratios = [], []
    for _ in range(2000):
        w, h = rng.randint(20, 400), rng.randint(20, 400)
        left, top, cw, ch = stream.random_resized_box(w, h, rng)
        assert 0 <= left and 0 <= top and left + cw <= w and top + ch <= h and cw > 0 and ch > 0
        if w == h:
            continue
        areas.append(cw * ch / (w * h))
        ratios.append(cw / ch)
    # rounding to whole pixels moves area and ratio a little at small sizes
    assert min(areas) > 0.06 and max(areas) <= 1.0
    assert min(ratios) > 0.7 and max(ratios) < 1.43
    # fixed draws: area 1/2 of 100x100 at ratio 1 is 71x71; at ratio 2 of 200x100, 141x71
    assert stream.random_resized_box(100, 100, rng, (0.5, 0.5), (1, 1))[2:] == (71, 71)
    assert stream.random_resized_box(200, 100, rng, (0.5, 0.5), (2, 2))[2:] == (141, 71)
    # no crop of 8%+ of a 1000x20 strip has a ratio <= 4/3 and fits: centred crop at ratio 4/3
    assert stream.random_resized_box(1000, 20, rng) == ((1000 - 27) // 2, 0, 27, 20)


def test_eval_transform_is_resize_then_centre_crop(tmp_path):
    """A 300x200 image with a white square at its centre: resize the short side to 32/0.875 and
    crop the centre 32x32 keeps the square centred and scaled by 36.57/200."""
    img = np.zeros((200, 300, 3), np.uint8)
    img[80:120, 130:170] = 255  # 40x40 at the centre
    from PIL import Image

    Image.fromarray(img).save(tmp_path / "a.png")
    out = stream.eval_image(str(tmp_path / "a.png"), 32)
    assert out.shape == (32, 32, 3)
    bright = np.argwhere(out[..., 0] > 127)
    side = 40 * (32 / 0.875) / 200  # 7.3 px
    assert abs((bright[:, 0].max() - bright[:, 0].min() + 1) - side) <= 1.5
    assert abs(bright[:, 0].mean() - 15.5) < 0.6 and abs(bright[:, 1].mean() - 15.5) < 0.6


def test_batches_are_a_pure_function_of_seed_epoch_step_rank(folder):
    index = stream.FolderIndex.scan(folder)
    a = stream.TrainBatches(index, seed=3, batch_size=6, rank=1, world_size=2, size=24)
    b = stream.TrainBatches(index, seed=3, batch_size=6, rank=1, world_size=2, size=24)
    other = stream.TrainBatches(index, seed=4, batch_size=6, rank=1, world_size=2, size=24)
    x, y, skipped = a[5]
    assert x.shape == (3, 24, 24, 3) and x.dtype == torch.uint8 and skipped == []
    assert torch.equal(b[5][0], x) and torch.equal(b[5][1], y)
    assert not torch.equal(other[5][0], x)
    # decoded by 2 worker processes, in any order of requests: the same batches
    loader = torch.utils.data.DataLoader(a, batch_size=None, sampler=range(2, 9), num_workers=2)
    for step, (xw, yw, _) in zip(range(2, 9), loader):
        xd, yd, _ = b[step]
        assert torch.equal(xw, xd) and torch.equal(yw, yd)


def test_each_rank_reads_a_disjoint_shard_of_every_epoch(folder):
    index = stream.FolderIndex.scan(folder)  # 24 training images
    ranks = [
        stream.TrainBatches(index, seed=1, batch_size=6, rank=r, world_size=3) for r in range(3)
    ]
    steps = ranks[0].steps_per_epoch
    assert steps == 4
    for epoch in range(3):
        shards = [
            np.concatenate([t.indices(epoch * steps + s) for s in range(steps)]) for t in ranks
        ]
        seen = np.concatenate(shards)
        assert len(set(seen.tolist())) == len(seen) == 24, "shards overlap or miss images"
        # exactly the epoch's order, rank r taking its slice of every global batch
        order = epoch_order(24, 1, epoch).numpy().reshape(steps, 3, 2)
        for r, shard in enumerate(shards):
            assert shard.tolist() == order[:, r].reshape(-1).tolist()
    assert not np.array_equal(ranks[0].indices(0), ranks[0].indices(steps)), "epochs reshuffle"


# --- the trainer on a streamed folder -------------------------------------------------------------


@pytest.mark.slow  # spawned decoding workers start several times (each imports torch)
def test_streamed_training_learns_and_resumes_exactly(folder):
    cfg = streamed(
        folder,
        epochs=3,
        model_kwargs={"width": 8, "dropout": 0.2},
        eval_every_steps=3,
        checkpoint_every_steps=2,
        loader_workers=1,
    )
    ref = train(cfg, progress=False, resume=False)
    assert ref.final["data_pipeline"] == "stream" and ref.final["image_shape"] == [3, 32, 32]
    assert ref.final["train_images"] == 24 and ref.final["test_images"] == 12
    losses = ref.series("train_loss")
    assert losses[-1] < losses[0], losses
    for stop in (5, 7):  # mid-epoch (4 steps per epoch)
        with pytest.raises(TrainingInterrupted):
            train(cfg, progress=False, stop_after_steps=stop)
    state = torch.load(run_dir(cfg.key()) / "checkpoint.pt", weights_only=True)
    assert state["step"] == 6 and state["position"] == 2
    resumed = train(cfg, progress=False)
    assert same_history(ref.history, resumed.history)
    assert all(
        torch.equal(v, resumed.model.state_dict()[k]) for k, v in ref.model.state_dict().items()
    )


def test_corrupt_jpeg_mid_epoch_is_skipped_and_counted(folder, monkeypatch):
    bad = sorted((folder / "train" / "class1").glob("*.jpg"))[3]
    corrupt(bad)
    cfg = streamed(folder, epochs=3, eval_every_epochs=1.0)
    index = stream.FolderIndex.scan(folder)
    bad_i = index.train_paths.index(str(bad))
    batches = stream.TrainBatches(index, seed=0, batch_size=6)
    per_epoch = [sum(bad_i in batches.indices(e * 4 + s) for s in range(4)) for e in range(3)]
    assert per_epoch == [1, 1, 1]  # 24 images, 4 steps of 6: always in
    res = train(cfg, progress=False)
    assert [h["skipped_images"] for h in res.history] == [1, 2, 3]
    assert res.final["skipped_images"] == 3
    # the step of each epoch holding the bad file, and its position: not at an epoch boundary
    positions = [int(np.where(epoch_order(24, 0, e).numpy() == bad_i)[0][0]) for e in range(3)]
    assert any(0 < p < 18 for p in positions), positions

    # unreadable val images are left out of the evaluation and counted
    corrupt(sorted((folder / "val" / "class0").glob("*.jpg"))[0])
    res = train(streamed(folder, epochs=1, seed=1), progress=False)
    assert res.history[-1]["skipped_test_images"] == 1
    # a broken copy (too many unreadable files) stops with an error naming them
    monkeypatch.setattr(stream, "MAX_SKIPPED_ALWAYS", 0)
    with pytest.raises(DataError, match=r"could not be decoded.*class1/img003\.jpg"):
        train(streamed(folder, epochs=3, seed=2), progress=False)


def test_bad_folders_are_clear_errors_before_training(folder, tmp_path):
    empty = folder / "train" / "class9"
    empty.mkdir()
    (folder / "val" / "class9").mkdir()
    with pytest.raises(DataError, match=r"class folder train/class9 holds no images"):
        train(streamed(folder), progress=False)
    empty.rmdir()
    # class sets differ between train and val
    one = (folder / "val" / "class0" / "img000.jpg").read_bytes()
    (folder / "val" / "class9" / "a.jpg").write_bytes(one)
    with pytest.raises(DataError, match=r"only in train: none; only in val: \['class9'\]"):
        train(streamed(folder), progress=False)
    # an archive cannot be streamed (no random access); a non-folder data set neither
    tarball = tmp_path / "imgs.tar"
    tarball.write_bytes(b"")
    with pytest.raises(DataError, match="extract the archive"):
        train(streamed(tarball), progress=False)
    with pytest.raises(ParameterError, match="'stream' reads an ImageNet-style folder"):
        streamed(folder, dataset="digits").validate()


def test_automatic_choice_by_decoded_size(folder, monkeypatch):
    name = f"folder:{folder}"
    assert stream.choose_pipeline("auto", name, 32) == ("memory", None)
    assert stream.choose_pipeline("auto", "digits", 32) == ("memory", None)
    monkeypatch.setattr(stream, "IN_MEMORY_MAX_BYTES", 36 * 32 * 32 * 3 - 1)
    kind, index = stream.choose_pipeline("auto", name, 32)
    assert kind == "stream" and len(index.train_paths) == 24
    assert stream.choose_pipeline("memory", name, 32) == ("memory", None)
    res = train(streamed(folder, data_pipeline="auto", epochs=1), progress=False)
    assert res.final["data_pipeline"] == "stream"


def test_new_options_keep_the_keys_of_stored_results():
    """Fields added for scale are left out of the key at their defaults (ADDED_LATER), and the
    number of decoding workers (which cannot change a batch) is never in it."""
    base = TrainConfig()
    assert TrainConfig(loader_workers=7).key() == base.key()
    for field, value in (
        ("data_pipeline", "memory"),
        ("precision", "bf16"),
        ("bn_momentum", 0.003),
        ("bn_eps", 1e-3),
        ("sync_batchnorm", True),
    ):
        assert TrainConfig(**{field: value}).key() != base.key(), field
    stored = sorted((ROOT / "results" / "cifar10_ablation").glob("*.json"))
    stored = [p for p in stored if len(p.stem) == 16]
    assert stored, "no committed study results to check"
    record = json.loads(stored[0].read_text())
    assert TrainConfig.from_dict(record["config"]).key() == stored[0].stem


# --- precision, BatchNorm, recipe ---------------------------------------------------------------


def test_bf16_autocast_and_batchnorm_settings_on_cpu(folder):
    cfg = streamed(folder, epochs=1, precision="bf16", bn_momentum=0.003, bn_eps=1e-3)
    res = train(cfg, progress=False)
    assert math.isfinite(res.final["train_loss"])
    bns = [m for m in res.model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert bns and all(m.momentum == 0.003 and m.eps == 1e-3 for m in bns)
    fp32 = train(streamed(folder, epochs=1), progress=False)
    assert res.final["train_loss"] != fp32.final["train_loss"]


@pytest.mark.parametrize(
    "over,fragment",
    [
        ({"precision": "fp16"}, "needs a CUDA device"),
        ({"sync_batchnorm": True}, "needs a CUDA device"),
        ({"data_pipeline": "disk"}, "'data_pipeline'"),
        ({"bn_momentum": 1.5}, "'bn_momentum'"),
    ],
)
def test_scale_options_are_checked(folder, over, fragment):
    with pytest.raises(ParameterError, match=fragment):
        streamed(folder, **over).validate()


def test_paper_recipe():
    """Section 6.1's numbers at 16 GPUs x 96, and the stated scaling for other sizes."""
    r = recipes.recipe("paper")
    assert (r["optimizer"], r["rmsprop_alpha"], r["momentum"]) == ("rmsprop", 0.9, 0.9)
    assert r["batch_size"] == 16 * 96 and r["ranks"] == 16 and r["weight_decay"] == 4e-5
    assert (r["schedule"], r["decay_rate"], r["decay_epochs"]) == ("step", 0.98, 1.0)
    assert r["lr"] == pytest.approx(0.045 * 16) and recipes.paper_lr(96) == pytest.approx(0.045)
    one = recipes.recipe("paper", gpus=1)
    assert one["batch_size"] == 96 and one["lr"] == pytest.approx(0.045)
    assert recipes.recipe("paper", gpus=4, batch_per_gpu=128)["lr"] == pytest.approx(0.24)
    # filled from the reference setup
    assert (r["label_smoothing"], r["bn_momentum"], r["bn_eps"], r["rmsprop_eps"]) == (
        0.1,
        0.003,
        1e-3,
        1.0,
    )
    assert r["epochs"] == 420 == round(700_000 * 8 * 96 / 1_281_167)
    cfg = TrainConfig(
        model="mobilenet_v2",
        model_kwargs={"width_mult": 1.0},
        dataset="folder:/data/imagenet",
        dataset_kwargs={"image_size": 224},
        **r,
    ).validate()
    assert cfg.lr == pytest.approx(0.72)
    with pytest.raises(ParameterError, match="allowed: paper"):
        recipes.recipe("imagenet")
    with pytest.raises(ParameterError, match="'gpus'"):
        recipes.recipe("paper", gpus=0)


# --- 2 CPU ranks under torchrun: disjoint shards, a rank killed mid-epoch, exact resume ----------


def _torchrun(
    cfg_path: Path, results: Path, logs: Path, cache: Path, *kill: int
) -> subprocess.CompletedProcess:
    logs.mkdir(parents=True, exist_ok=True)
    args = [ROOT / "tests" / "stream_ranks.py", cfg_path, results, logs, *kill]
    return run_two_ranks(args, cwd=cfg_path.parent, env={"MNV2LAB_CACHE": str(cache)})


def _read_log(path: Path) -> dict[int, list[int]]:
    out = {}
    for line in path.read_text().splitlines():
        entry = json.loads(line)
        out[entry["step"]] = entry["indices"]  # a resumed run logs its steps again
    return out


@pytest.mark.slow
def test_torchrun_two_ranks_stream_disjoint_shards_and_resume_after_a_kill(folder, tmp_path):
    corrupt(sorted((folder / "train" / "class2").glob("*.jpg"))[5])  # met mid-epoch, skipped
    cfg = streamed(
        folder,
        epochs=3,
        batch_size=6,
        eval_every_epochs=1.0,
        checkpoint_every_steps=2,
        model_kwargs={"width": 8, "dropout": 0.1},
        loader_workers=1,
        study="stream",
        ranks=2,
    )
    (tmp_path / "cfg.json").write_text(json.dumps(cfg.to_dict()))
    ref = _torchrun(
        tmp_path / "cfg.json", tmp_path / "ref", tmp_path / "ref_logs", tmp_path / "ref_cache"
    )
    assert ref.returncode == 0, ref.stderr[-3000:]
    reference = load_result(tmp_path / "ref" / f"{cfg.key()}.json")
    assert reference.final["world_size"] == 2 and len(reference.history) == 3

    # every epoch: the two ranks' shards are disjoint and together the epoch's whole order
    logs = [_read_log(tmp_path / "ref_logs" / f"rank{r}.jsonl") for r in range(2)]
    assert sorted(logs[0]) == sorted(logs[1]) == list(range(12))
    for epoch in range(3):
        order = epoch_order(24, cfg.seed, epoch).numpy().reshape(4, 2, 3)
        for r in range(2):
            shard = [i for s in range(4) for i in logs[r][epoch * 4 + s]]
            assert shard == order[:, r].reshape(-1).tolist()
        both = [i for r in range(2) for s in range(4) for i in logs[r][epoch * 4 + s]]
        assert sorted(both) == list(range(24))
    assert [h["skipped_images"] for h in reference.history] == [1, 2, 3]

    # rank 1 is SIGKILLed on reaching step 7 (epoch 1, third batch); torchrun takes rank 0 down
    cache = tmp_path / "cache"
    killed = _torchrun(tmp_path / "cfg.json", tmp_path / "run", tmp_path / "run_logs", cache, 1, 7)
    assert killed.returncode != 0
    assert not (tmp_path / "run" / f"{cfg.key()}.json").exists()
    state = torch.load(cache / "runs" / cfg.key() / "checkpoint.pt", weights_only=True)
    assert state["step"] == 6 and (state["epoch"], state["position"]) == (1, 2)
    resumed = _torchrun(tmp_path / "cfg.json", tmp_path / "run", tmp_path / "run_logs", cache)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    result = load_result(tmp_path / "run" / f"{cfg.key()}.json")
    assert same_history(reference.history, result.history)
    assert [h["skipped_images"] for h in result.history] == [1, 2, 3]
    # the resumed run read exactly the reference's batches from step 6 on
    for r in range(2):
        again = _read_log(tmp_path / "run_logs" / f"rank{r}.jsonl")
        assert all(again[s] == logs[r][s] for s in range(12))


def test_study_runs_on_another_data_set_and_recipe():
    """`python -m mnv2lab.study run --dataset folder:... --recipe paper`: the same runs (names,
    seeds, variants) with the paper's recipe scaled to the job's GPUs and 224x224 models; the
    default stays the committed CIFAR study, key for key."""
    from mnv2lab.study import define_study
    from mnv2lab.study.scale import define_scaled_study

    cifar = define_study()
    assert [r.key for r in define_scaled_study()] == [r.key for r in cifar]
    runs = define_scaled_study("folder:/data/imagenet", "paper", world_size=8)
    assert [r.name for r in runs] == [r.name for r in cifar]
    for r in runs:
        c = r.config.validate()
        assert c.study == "imagenet_paper" and c.dataset_kwargs == {"image_size": 224}
        assert c.model_kwargs["small_input"] is False and c.ranks == 8
        assert (c.optimizer, c.batch_size, c.lr) == ("rmsprop", 768, pytest.approx(0.36))
    assert len({r.key for r in runs} & {r.key for r in cifar}) == 0
    amp = define_scaled_study(
        "folder:/data/imagenet", "paper", world_size=8, precision="bf16", sync_batchnorm=True
    )
    assert all(r.config.precision == "bf16" and r.config.sync_batchnorm for r in amp)
    assert [r.key for r in define_scaled_study(precision="fp32")] == [r.key for r in cifar]
    with pytest.raises(ParameterError, match="allowed: cifar, paper"):
        define_scaled_study("digits", "imagenet")
