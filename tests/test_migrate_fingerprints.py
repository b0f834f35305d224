"""tools/migrate_fingerprints.py: an entry is restamped with the narrowed fingerprint only when
the old definition, computed on the current tree, equals its stored fingerprint; the restamped
entry passes the cache's own check; stale, current and broken entries are left untouched."""

from __future__ import annotations

import json
import sys

from conftest import ROOT
from mnv2lab.latency import (
    LatencyConfig,
    code_fingerprint,
    config_fingerprint,
    entry_path,
    read_entry,
    write_entry,
)
from mnv2lab.memory_probe import MemoryConfig
from mnv2lab.section5 import memory_fingerprint

sys.path.insert(0, str(ROOT / "tools"))
import migrate_fingerprints as mig  # noqa: E402  (tools/ is not a package)

MEASURED = {"result": {"median_ms": 1.0}, "provenance": {"cpu_model": "test"}}


def _config(resolution: int, path: str = "practitioner", n: int | None = None) -> LatencyConfig:
    return LatencyConfig("mobilenet_v2", {"width_mult": 0.35}, resolution, 1, path, n)


def test_restamps_only_unchanged_code_and_keeps_entries_valid(tmp_path):
    lat = tmp_path / "latency"
    fresh, sliced, stale, current = _config(64), _config(64, "sliced", 2), _config(96), _config(128)
    write_entry(
        entry_path(fresh, lat), fresh, code_fingerprint(mig.OLD_LATENCY_FILES["naive"]), MEASURED
    )
    write_entry(
        entry_path(sliced, lat), sliced, code_fingerprint(mig.OLD_LATENCY_FILES["sliced"]), MEASURED
    )
    write_entry(entry_path(stale, lat), stale, "0" * 16, MEASURED)
    write_entry(entry_path(current, lat), current, config_fingerprint(current), MEASURED)
    broken = lat / "ffffffffffffffff.json"
    write_entry(broken, fresh, code_fingerprint(mig.OLD_LATENCY_FILES["naive"]), MEASURED)
    data = json.loads(broken.read_text())
    data["result"]["median_ms"] = 0.5  # edited by hand: SHA-256 fails
    broken.write_text(json.dumps(data))
    memory = MemoryConfig(64, "sliced", 2, 0.35, 3)
    mem_path = tmp_path / "memory_efficient" / f"{memory.key()}.json"
    write_entry(mem_path, memory, code_fingerprint(mig.OLD_MEMORY_FILES), MEASURED)
    before = {p: p.read_text() for p in tmp_path.rglob("*.json")}

    assert {o.path.name: o.status for o in mig.migrate(tmp_path, dry_run=True)} == {
        entry_path(fresh, lat).name: "migrated",
        entry_path(sliced, lat).name: "migrated",
        entry_path(stale, lat).name: "stale",
        entry_path(current, lat).name: "current",
        broken.name: "broken",
        mem_path.name: "migrated",
    }
    assert {p: p.read_text() for p in tmp_path.rglob("*.json")} == before  # dry run wrote nothing

    outcomes = {o.path.name: o.status for o in mig.migrate(tmp_path)}
    assert sorted(outcomes.values()).count("migrated") == 3
    for config in (fresh, sliced):
        record = read_entry(entry_path(config, lat), config, config_fingerprint(config))
        assert record["result"] == MEASURED["result"]
        assert record["fingerprint_migrated_from"] != record["fingerprint"]
    assert (
        read_entry(mem_path, memory, memory_fingerprint())["provenance"] == MEASURED["provenance"]
    )
    for untouched in (entry_path(stale, lat), entry_path(current, lat), broken):
        assert untouched.read_text() == before[untouched]
    assert {o.status for o in mig.migrate(tmp_path)} == {"current", "stale", "broken"}
    assert mig.main(["--root", str(tmp_path), "--dry-run"]) == 1  # stale/broken reported


def test_new_fingerprint_covers_only_the_models_own_files():
    from mnv2lab.latency import fingerprint_files, model_files

    assert model_files("mobilenet_v2") == (
        "models/layers.py",
        "models/mobilenetv2.py",
        "models/table.py",
    )
    assert "models/__init__.py" not in fingerprint_files("mobilenet_v1", "practitioner")
    assert fingerprint_files("mobilenet_v2", "sliced")[-2:] == (
        "inference.py",
        "memory_efficient.py",
    )
    assert config_fingerprint(_config(64)) != config_fingerprint(
        LatencyConfig("mobilenet_v1", {}, 64, 1)
    )
