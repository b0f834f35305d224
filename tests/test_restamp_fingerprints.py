"""tools/restamp_fingerprints.py: an entry is restamped with the new code fingerprint only when it
was current before the change and the measured model behaves identically (same modules, weights,
operators and output) in both trees; entries whose model changed, stale and broken ones are left
untouched."""

from __future__ import annotations

import json
import shutil
import sys

from conftest import ROOT
from mnv2lab.latency import (
    LatencyConfig,
    config_fingerprint,
    entry_path,
    fingerprint_files,
    model_files,
    write_entry,
)
from mnv2lab.memory_probe import MemoryConfig
from mnv2lab.section5 import memory_fingerprint

sys.path.insert(0, str(ROOT / "tools"))
import restamp_fingerprints as restamp  # noqa: E402  (tools/ is not a package)

MEASURED = {"result": {"median_ms": 1.0}, "provenance": {"cpu_model": "test"}}


def _tree(tmp_path, name: str, file: str = "", old: str = "", new: str = ""):
    """A copy of the package under ``tmp_path/name``, with ``old`` replaced by ``new`` in ``file``."""
    tree = tmp_path / name
    shutil.copytree(
        ROOT / "mnv2lab", tree / "mnv2lab", ignore=shutil.ignore_patterns("__pycache__")
    )
    if file:
        target = tree / "mnv2lab" / file
        text = target.read_text()
        assert text.count(old) >= 1, f"{old!r} not in {file}"
        target.write_text(text.replace(old, new))
    return tree


def _v2(resolution: int, path: str = "practitioner", n: int | None = None) -> LatencyConfig:
    return LatencyConfig(
        "mobilenet_v2", {"width_mult": 0.35, "small_input": True}, resolution, 1, path, n
    )


def test_restamps_only_entries_whose_model_behaves_identically(tmp_path):
    results = tmp_path / "results"
    lat = results / "latency"
    plain, sliced, stale = _v2(32), _v2(32, "sliced", 2), _v2(40)
    v1 = LatencyConfig("mobilenet_v1", {"width_mult": 0.25, "small_input": True}, 32, 1)
    for config in (plain, sliced, v1):
        write_entry(entry_path(config, lat), config, config_fingerprint(config), MEASURED)
    write_entry(entry_path(stale, lat), stale, "0" * 16, MEASURED)
    broken = lat / "ffffffffffffffff.json"
    write_entry(broken, plain, config_fingerprint(plain), MEASURED)
    data = json.loads(broken.read_text())
    data["result"]["median_ms"] = 0.5  # edited by hand: SHA-256 fails
    broken.write_text(json.dumps(data))
    memory = MemoryConfig(32, "plain", None, 0.35, 3)
    mem_path = results / "memory_efficient" / f"{memory.key()}.json"
    write_entry(mem_path, memory, memory_fingerprint(), MEASURED)
    before = _tree(tmp_path, "before")
    stored = {p: p.read_text() for p in results.rglob("*.json")}

    # Same behaviour, other code: a local variable renamed in MobileNetV2's file.
    renamed = _tree(
        tmp_path, "renamed", "models/mobilenetv2.py", "first_stride2_seen", "stride2_done"
    )
    # Other behaviour: one initialisation constant changed (only the weights differ).
    reinit = _tree(tmp_path, "reinit", "models/layers.py", "0.0, 0.01)", "0.0, 0.02)")

    outcomes = restamp.restamp(results, before, reinit, label="test")
    assert {o.path.name: o.status for o in outcomes} == {
        entry_path(plain, lat).name: "changed",
        entry_path(sliced, lat).name: "changed",
        entry_path(v1, lat).name: "changed",
        entry_path(stale, lat).name: "stale",
        broken.name: "broken",
        mem_path.name: "changed",
    }
    assert {p: p.read_text() for p in results.rglob("*.json")} == stored  # nothing written

    outcomes = {o.path.name: o for o in restamp.restamp(results, before, renamed, label="test")}
    assert {name: o.status for name, o in outcomes.items()} == {
        entry_path(plain, lat).name: "restamped",
        entry_path(sliced, lat).name: "restamped",
        entry_path(v1, lat).name: "current",  # V1 is not built from mobilenetv2.py
        entry_path(stale, lat).name: "stale",
        broken.name: "broken",
        mem_path.name: "restamped",
    }
    record = json.loads(entry_path(plain, lat).read_text())
    assert record["fingerprint"] != config_fingerprint(plain)  # the renamed tree's fingerprint
    assert record["fingerprint_migrated_from"] == config_fingerprint(plain)
    assert record["fingerprint_restamp"]["operators"] > 50
    assert record["result"] == MEASURED["result"]
    for untouched in (entry_path(stale, lat), entry_path(v1, lat), broken):
        assert untouched.read_text() == stored[untouched]


def test_fingerprint_covers_only_the_models_own_files():
    assert model_files("mobilenet_v2") == (
        "models/classifier.py",
        "models/layers.py",
        "models/mobilenetv2.py",
        "models/table.py",
    )
    assert "models/__init__.py" not in fingerprint_files("mobilenet_v1", "practitioner")
    assert fingerprint_files("mobilenet_v2", "sliced")[-2:] == (
        "inference.py",
        "memory_efficient.py",
    )
    assert config_fingerprint(_v2(64)) != config_fingerprint(
        LatencyConfig("mobilenet_v1", {}, 64, 1)
    )


def test_every_committed_measurement_carries_the_current_code_fingerprint():
    """A change to a measured model's code (or to the inference path) makes its committed
    latency and peak-memory entries stale, and `make figures` would then re-time them on whatever
    machine runs it. This fails first, naming what to do."""
    stale = [
        f"{path.relative_to(ROOT)}: {outcome}"
        for path, kind in restamp.entries(ROOT / "results")
        if (outcome := _current(path, kind))
    ]
    assert len(restamp.entries(ROOT / "results")) > 100
    assert not stale, (
        "committed measurements no longer match the code: if the change keeps what runs, carry "
        "them over with `tools/restamp_fingerprints.py --before <last commit>`; otherwise "
        f"re-measure. {stale[:5]} (+{max(0, len(stale) - 5)} more)"
    )


def _current(path, kind: str) -> str:
    """'' if the entry at ``path`` is intact and current (fingerprint; for latency, the policy)."""
    from mnv2lab.latency import read_entry, read_latency_entry

    record, why = restamp.load_entry(path, kind)
    if record is None:
        return why
    config = restamp.config_of(record, kind)
    try:
        if kind == "latency":  # also timed under the wait policy every latency is timed under
            read_latency_entry(path, config, config_fingerprint(config))
        else:
            read_entry(path, config, memory_fingerprint())
    except ValueError as e:
        return str(e)
    return ""
