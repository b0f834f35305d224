"""benchmarks/study_mode.py's arithmetic: each side evaluates, per training image, what its full
run would, and seconds per epoch come from the warm second half of a run. benchmarks/
table4_latency.py's bookkeeping: V2/V1 per run, loaded runs left out, the committed ratios."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import study_mode  # noqa: E402  (benchmarks/ is not a package)
import table4_latency  # noqa: E402
from conftest import tiny_config  # noqa: E402

from mnv2lab.study import budgets, define_study  # noqa: E402


def test_evaluation_is_scaled_to_what_each_full_run_evaluates_per_epoch():
    today = study_mode.paper_model(define_study(seeds=[0]))
    study = study_mode.paper_model(budgets.long_runs(budgets.CANDIDATES["A_wd5e-4"], seeds=[0]))
    assert (today.ranks, today.eval_every_epochs) == (1, 0.5)
    assert (study.ranks, study.threads, study.eval_every_epochs) == (2, 1, budgets.LONG_EVAL_EVERY)
    t, s = (study_mode.scaled(c, 12_800, n) for c, n in ((today, "today"), (study, "study")))
    # today: 2 x 10,000 test images per 50,000 training images; study: 10,000 per 100,000
    assert t.test_subset == 2_560 and s.test_subset == 640
    # the long budget's fit check (5,000 training images per evaluation, every 2 epochs), likewise
    assert study.fit_check_images == 5_000 and today.fit_check_images is None
    assert s.fit_check_images == 320 and t.fit_check_images is None
    for scaled, full in ((t, today), (s, study)):
        assert scaled.train_subset == 12_800 and scaled.epochs == 1
        assert scaled.eval_every_epochs == 0.5 and not scaled.eval_at_start
        same = {"model_kwargs", "batch_size", "threads", "ranks", "channels_last", "device"}
        assert all(getattr(scaled, k) == getattr(full, k) for k in same)
        assert scaled.key() != full.key()  # never mistaken for a study run


def test_seconds_per_epoch_come_from_the_second_half():
    result = SimpleNamespace(history=[{"elapsed_s": 40.0}, {"elapsed_s": 65.0}])
    assert study_mode.epoch_seconds(result, 12_800) == (65.0 - 40.0) * 2 * 50_000 / 12_800


def test_today_trains_in_a_child_process_with_the_wait_policy_asked_for(
    tmp_path, monkeypatch, private_cache
):
    config = tiny_config(epochs=1, eval_every_epochs=0.5)
    seen = {}
    real_run = study_mode.subprocess.run

    def run(cmd, **kwargs):
        seen["policy"] = kwargs["env"]["OMP_WAIT_POLICY"]
        return real_run(cmd, **kwargs)

    monkeypatch.setattr(study_mode.subprocess, "run", run)
    result = study_mode.train_in_child(config, tmp_path / "run", "ACTIVE")
    assert seen["policy"] == "ACTIVE"
    assert [round(h["epoch"], 2) for h in result.history] == [0.5, 1.0]
    assert study_mode.epoch_seconds(result, 1_000) > 0


def test_table4_benchmark_summarizes_interleaved_runs_and_leaves_loaded_ones_out(
    tmp_path, monkeypatch
):
    calls = []

    def fake_interleaved(configs, rounds):  # V2 at 0.7x V1; run 2 under load, run 3 at 0.8x
        calls.append([c.model for c in configs])
        run = len(calls)
        foreign = 0.5 if run == 2 else 0.01
        v2_factor = 0.8 if run == 3 else 0.7
        out = []
        for c in configs:
            base = {"mobilenet_v1": 100.0, "mobilenet_v2": 100.0 * v2_factor}.get(c.model, 50.0)
            ms = base * (1.4 if c.kwargs.get("width_mult") == 1.4 else 1.0)
            out.append({"result": {"median_ms": ms}, "provenance": {"foreign_cpu_cores": foreign}})
        return out

    monkeypatch.setattr(table4_latency, "measure_interleaved", fake_interleaved)
    json_path = tmp_path / "t4.json"
    args = ["--threads", "1", "--repeats", "3", "--run-time", "0.1", "--json", str(json_path)]
    assert table4_latency.main(args) == 0
    assert calls[1] == calls[0][::-1]  # the order alternates between runs
    record = json.loads(json_path.read_text())
    here = record["here"]["1"]
    assert [r["usable"] for r in here["runs"]] == [True, False, True]
    assert here["summary"]["v2_over_v1_per_run"] == [0.7, 0.8]
    assert here["summary"]["v2_over_v1"] == 0.75
    assert here["summary"]["median_ms"]["MobileNetV2 (1.4)"] == 105.0  # median of 98 and 112
    assert record["provenance"]["cpu_model"]
    committed = record["committed"]["1"]  # notebook 06's ratio from results/latency/
    assert 0.3 < committed["v2_over_v1"] < 1.5 and committed["measured_on"]
    with pytest.raises(SystemExit):
        table4_latency.parse_args(["--repeats", "0"])
