"""The latency cache: round trip, provenance, corrupt/outdated entries re-measured, re-measuring
on request, the code fingerprint, the time breakdown. No timing assertions (timings on a shared
machine prove nothing)."""

from __future__ import annotations

import json
import math
import warnings

import pytest

from mnv2lab import latency, records
from mnv2lab.latency import (
    LatencyCacheWarning,
    LatencyConfig,
    code_fingerprint,
    conv_kind,
    describe_conditions,
    entry_path,
    measure_all,
    measure_or_load,
)
from mnv2lab.params import ParameterError

TINY = LatencyConfig("mobilenet_v2", {"width_mult": 0.35}, 32, 1, min_run_time=0.01, warmup=1)


def test_round_trip_with_provenance(tmp_path):
    first = measure_or_load(TINY, tmp_path)
    assert first["cached"] is False
    path = entry_path(TINY, tmp_path)
    assert path.exists() and not list(tmp_path.glob("*.tmp"))
    again = measure_or_load(TINY, tmp_path)
    assert again["cached"] is True and again["result"] == first["result"]
    r, prov = again["result"], again["provenance"]
    assert r["n_runs"] == len(r["times_ms"]) >= 1
    assert r["q25_ms"] <= r["median_ms"] <= r["q75_ms"]
    assert math.isclose(r["iqr_ms"], r["q75_ms"] - r["q25_ms"])
    for key in ("cpu_model", "cpu_count", "torch", "git_commit", "timestamp", "python"):
        assert prov[key], key
    assert prov["threads"] == TINY.threads
    assert len(prov["load_average_before"]) == 3 and len(prov["load_average_after"]) == 3
    assert again["config"] == TINY.to_dict() and again["fingerprint"]


def test_corrupt_or_edited_entries_are_measured_again(tmp_path):
    measure_or_load(TINY, tmp_path)
    path = entry_path(TINY, tmp_path)
    path.write_text(path.read_text()[:50])  # truncated
    with pytest.warns(LatencyCacheWarning, match="not readable JSON"):
        record = measure_or_load(TINY, tmp_path)
    assert record["cached"] is False
    assert measure_or_load(TINY, tmp_path)["cached"] is True  # repaired on disk
    data = json.loads(path.read_text())
    data["result"]["median_ms"] = 0.001  # edited by hand
    path.write_text(json.dumps(data))
    with pytest.warns(LatencyCacheWarning, match="SHA-256"):
        assert measure_or_load(TINY, tmp_path)["cached"] is False


def test_other_code_or_request_measures_again(tmp_path):
    measure_or_load(TINY, tmp_path)
    with pytest.warns(LatencyCacheWarning, match="other code"):
        assert measure_or_load(TINY, tmp_path, fingerprint="0" * 16)["cached"] is False
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert measure_or_load(TINY, tmp_path, fingerprint="0" * 16)["cached"] is True
        assert (
            measure_or_load(TINY, tmp_path, fingerprint="0" * 16, remeasure=True)["cached"] is False
        )


def test_missing_entries_are_reported_not_measured_when_asked(tmp_path):
    assert measure_or_load(TINY, tmp_path, allow_measure=False) is None
    table = measure_all([TINY], tmp_path, allow_measure=False, progress=False)
    assert table.median_ms.isna().all() and not entry_path(TINY, tmp_path).exists()


def test_table_and_conditions(tmp_path):
    configs = [
        TINY,
        LatencyConfig(
            "mobilenet_v2", {"width_mult": 0.35}, 32, 1, "sliced", 3, min_run_time=0.01, warmup=1
        ),
    ]
    table = measure_all(configs, tmp_path, progress=False)
    assert list(table.path) == ["practitioner", "sliced"] and table.median_ms.notna().all()
    text = describe_conditions(table)
    assert "torch" in text and "1 thread(s)" in text and "load average" in text
    table["usable"] = [False, True]  # as if others had used 1.5 cores during the first
    table.loc[0, "foreign_cpu_cores"] = 1.5
    assert len(latency.usable(table)) == 1
    assert "1 timing(s) left out" in latency.excluded_text(table)


def test_fingerprint_ignores_prose_but_not_code(tmp_path, monkeypatch):
    a = tmp_path / "a.py"
    a.write_text('"""Doc."""\n\ndef f(x):\n    """Say what."""\n    return x + 1  # one\n')
    b = tmp_path / "b.py"
    b.write_text('"""Other doc."""\n\ndef f(x):\n    # a comment\n    return x + 1\n')
    c = tmp_path / "c.py"
    c.write_text('"""Doc."""\n\ndef f(x):\n    return x + 2\n')
    src = latency.source_without_docs
    assert src(a) == src(b) != src(c)
    before = code_fingerprint(("inference.py",))
    monkeypatch.setattr(latency.config, "MEASURE_VERSION", latency.MEASURE_VERSION + 1)
    assert code_fingerprint(("inference.py",)) != before
    practitioner, sliced = (
        LatencyConfig("mobilenet_v2", {}, 64, 1, path, n)
        for path, n in (("practitioner", None), ("sliced", 2))
    )
    assert latency.config_fingerprint(practitioner) != latency.config_fingerprint(sliced)
    assert code_fingerprint(("inference.py",), "a.f") != code_fingerprint(("inference.py",), "a.g")


@pytest.mark.parametrize(
    "kwargs,word",
    [
        ({"threads": 0}, "threads"),
        ({"path": "fast"}, "path"),
        ({"n_slices": 2}, "n_slices"),
        ({"model": "resnet"}, "model"),
        ({"min_run_time": 0}, "min_run_time"),
        ({"resolution": 4}, "resolution"),
    ],
)
def test_bad_configurations_are_named(kwargs, word):
    base = {"model": "mobilenet_v2", "kwargs": {}, "resolution": 64, "threads": 1}
    with pytest.raises(ParameterError, match=word):
        LatencyConfig(**{**base, **kwargs}).validate()


def test_breakdown_shares_add_up(tmp_path):
    record = latency.breakdown_or_load(TINY, tmp_path)
    shares = record["result"]["shares"]
    assert {"depthwise", "1x1", "full conv", "linear", "other"} <= set(shares)
    assert all(v >= 0 for v in shares.values()) and sum(shares.values()) == pytest.approx(1.0)
    assert latency.breakdown_or_load(TINY, tmp_path)["cached"] is True
    assert conv_kind((96, 1, 3, 3)) == "depthwise" and conv_kind((24, 96, 1, 1)) == "1x1"
    assert conv_kind((32, 3, 3, 3)) == "full conv"


def test_quiet_measurement_waits_and_retries(tmp_path, monkeypatch):
    """Entries timed while others used the CPU are measured again; a quiet pass leaves nothing
    to do. (The CPU meter is replaced: this machine is never quiet during the tests.)"""
    busy = iter([0.9, 0.0, 0.0, 0.0, 0.0, 0.0])  # meter readings while timing
    waits = []

    class FakeMeter:
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.cores, self.nice_cores = next(busy), 0.0

    monkeypatch.setattr(latency.timing, "ForeignCpu", FakeMeter)  # where measure() finds it
    # Timed in this process, so that measure() meets the fake meter (as the child would, under
    # the OpenMP default).
    monkeypatch.setattr(
        latency.cache, "time_in_child", lambda kind, cs, **o: [latency.measure(c) for c in cs]
    )
    monkeypatch.setattr(latency.timing, "OMP_WAIT_POLICY", latency.TIMING_WAIT_POLICY)
    idle = iter([(0.5, 0.0), (0.0, 0.9), (0.0, 0.0), (0.0, 0.0)])  # samples before each timing
    monkeypatch.setattr(latency.quiet, "foreign_cpu", lambda seconds=2.0: next(idle))
    monkeypatch.setattr("time.sleep", lambda s: waits.append(s))
    configs = [TINY, TINY]  # duplicates are measured once
    done = latency.measure_quietly(configs, tmp_path, max_foreign=0.15, log=lambda s: None)
    assert done == {"clean": 1, "left": 0, "retries": 1} and len(waits) == 2
    record = measure_or_load(TINY, tmp_path)
    assert record["cached"] and record["provenance"]["foreign_cpu_cores"] == 0.0
    assert latency.measure_quietly(configs, tmp_path, log=lambda s: None)["clean"] == 0
    assert latency.contaminated(None, 0.1)
    one, two = {"threads": 1}, {"threads": 2}
    busy = {"foreign_cpu_cores": 0.3, "foreign_nice_cores": 0.0}
    niced = {"foreign_cpu_cores": 0.05, "foreign_nice_cores": 0.9}
    assert latency.contaminated({"config": one, "provenance": busy}, 0.1)
    assert latency.contaminated({"config": one, "provenance": niced}, 0.1)
    assert not latency.contaminated({"config": one, "provenance": niced}, 0.1, strict=False)
    assert latency.contaminated({"config": two, "provenance": niced}, 0.1, strict=False)


def test_series_are_timed_interleaved_and_cached_together(tmp_path):
    series = [
        LatencyConfig(
            "mobilenet_v2", {"width_mult": 0.35}, 32, 1, "sliced", n, min_run_time=0.01, warmup=1
        )
        for n in (1, 4)
    ]
    first = latency.series_or_load(series, tmp_path, rounds=3)
    assert [r["cached"] for r in first] == [False, False]
    assert all(r["result"]["interleaved_with"] == 2 and r["result"]["n_runs"] == 3 for r in first)
    again = latency.series_or_load(series, tmp_path, rounds=3)
    assert [r["cached"] for r in again] == [True, True]
    measure_or_load(series[0], tmp_path, remeasure=True)  # timed alone: not a series entry
    with pytest.warns(LatencyCacheWarning, match="interleaved"):
        redone = latency.series_or_load(series, tmp_path, rounds=3)
    assert [r["cached"] for r in redone] == [False, False]
    with pytest.raises(ParameterError, match="thread"):
        latency.measure_interleaved(
            [
                series[0],
                LatencyConfig("mobilenet_v2", {"width_mult": 0.35}, 32, 2, min_run_time=0.01),
            ]
        )


def test_cpu_label_names_the_machines_behind_timings():
    import pandas as pd

    from mnv2lab.latency import cpu_label

    rows = pd.DataFrame(
        {"cpu_model": ["AMD EPYC", "AMD EPYC", "Intel Xeon"], "cpu_count": [2, 2, 4]}
    )
    assert cpu_label(rows.iloc[:2]) == "AMD EPYC (2 cores)"
    assert cpu_label(rows) == "AMD EPYC (2 cores) and Intel Xeon (4 cores)"
    assert cpu_label(rows.assign(cpu_model=None)) == "an unrecorded CPU"
    assert cpu_label(pd.DataFrame()) == "an unrecorded CPU"


def test_latencies_are_timed_under_the_openmp_default_whatever_this_process_runs(tmp_path):
    """Whatever this process runs with (importing mnv2lab sets passive waiting, as in a
    notebook's kernel), every latency is timed in a child under the OpenMP default, and an entry
    timed under another policy is not used."""
    import json

    record = measure_or_load(TINY, tmp_path)
    assert record["provenance"]["omp_wait_policy"] == latency.TIMING_WAIT_POLICY == "unset"
    path = entry_path(TINY, tmp_path)
    data = json.loads(path.read_text())
    data["provenance"]["omp_wait_policy"] = "PASSIVE"  # as Tables 6-7 were timed until 2026-12-05
    records.write(path, data)  # sealed: intact, only the policy differs
    with pytest.raises(ValueError, match="OMP_WAIT_POLICY 'PASSIVE'"):
        latency.read_latency_entry(path, TINY, latency.config_fingerprint(TINY))
    with pytest.warns(latency.LatencyCacheWarning, match="OpenMP default"):
        again = measure_or_load(TINY, tmp_path)
    assert not again["cached"] and again["provenance"]["omp_wait_policy"] == "unset"
    with pytest.raises(ValueError, match="kind"):
        latency.time_in_child("profile", [TINY])
