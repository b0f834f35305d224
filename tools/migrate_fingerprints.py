"""Restamp the committed latency and peak-memory caches with the narrowed code fingerprints,
verifying first that the code has not changed since each entry was measured.

Until this migration a cached entry's fingerprint hashed every file of ``mnv2lab/models/``
(``models/*.py``), so adding any model invalidated every measurement. Now it hashes only the
files the measured model is built from (:func:`mnv2lab.latency.config_fingerprint`,
:func:`mnv2lab.section5.memory_fingerprint`). For each stored entry this tool

1. checks its SHA-256 self-check and that its key still names its configuration;
2. computes the OLD definition's fingerprint on the current tree and requires it to equal the
   stored one: the code behind the measurement is unchanged, so the entry is still valid;
3. only then replaces the fingerprint by the NEW definition's, records the old one in
   ``fingerprint_migrated_from``, recomputes the SHA-256 and writes the entry atomically;
4. reads it back through the cache's own check (:func:`mnv2lab.latency.read_entry`).

Entries already carrying the new fingerprint are left as they are; entries whose stored
fingerprint matches neither are reported as stale and left untouched (they will be re-measured).
Run it before the old definition stops matching, i.e. before any file under ``models/`` changes:

    .venv/bin/python tools/migrate_fingerprints.py [--dry-run] [--root results]
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

from mnv2lab.atomic import write_json
from mnv2lab.records import digest
from mnv2lab.latency import LatencyConfig, code_fingerprint, config_fingerprint, read_entry
from mnv2lab.memory_probe import MemoryConfig
from mnv2lab.paths import results_dir
from mnv2lab.section5 import memory_fingerprint

# The definitions this migration replaces, exactly as they were (mnv2lab.latency.FINGERPRINT_FILES
# and mnv2lab.section5.MEMORY_FINGERPRINT_FILES before the change).
OLD_LATENCY_FILES: dict[str, tuple[str, ...]] = {
    "practitioner": ("models/*.py", "inference.py"),
    "naive": ("models/*.py", "inference.py"),
    "sliced": ("models/*.py", "inference.py", "memory_efficient.py"),
}
OLD_MEMORY_FILES = ("models/*.py", "inference.py", "memory_efficient.py", "memory_probe.py")


@dataclass
class Outcome:
    path: Path
    status: str  # "migrated" | "current" | "stale" | "broken"
    detail: str = ""


def _latency_config(record: dict) -> LatencyConfig:
    return LatencyConfig(**record["config"])


def _memory_config(record: dict) -> MemoryConfig:
    fields = {k: v for k, v in record["config"].items() if k != "probe_version"}
    config = MemoryConfig(**fields)
    if config.to_dict() != record["config"]:
        raise ValueError("its configuration does not round-trip (probe version changed?)")
    return config


def migrate_entry(path: Path, kind: str, *, dry_run: bool = False) -> Outcome:
    """Check and (unless ``dry_run``) restamp one entry; ``kind`` is "latency" or "memory"."""
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        if record.get("sha256") != digest(record):
            return Outcome(path, "broken", "content does not match its SHA-256")
        if kind == "latency":
            config = _latency_config(record)
            old = code_fingerprint(OLD_LATENCY_FILES[config.path])
            new = config_fingerprint(config)
        else:
            config = _memory_config(record)
            old = code_fingerprint(OLD_MEMORY_FILES)
            new = memory_fingerprint()
        if config.key() != record.get("key") or config.key() != path.stem:
            return Outcome(path, "broken", f"key {record.get('key')} does not name its config")
    except (OSError, ValueError, TypeError, KeyError) as e:
        return Outcome(path, "broken", f"{type(e).__name__}: {e}")
    stored = record.get("fingerprint")
    if stored == new:
        return Outcome(path, "current", new)
    if stored != old:
        return Outcome(path, "stale", f"stored {stored}, old definition now gives {old}")
    if not dry_run:
        record["fingerprint"] = new
        record["fingerprint_migrated_from"] = old
        record["sha256"] = digest(record)
        write_json(path, record)
        read_entry(path, config, new)  # raises if the restamped entry is unusable
    return Outcome(path, "migrated", f"{old} -> {new}")


def entries(root: Path) -> list[tuple[Path, str]]:
    """Every cache entry under ``root`` (a results folder) with its kind."""
    out = [(p, "latency") for p in sorted((root / "latency").glob("*.json"))]
    out += [(p, "latency") for p in sorted((root / "latency" / "breakdown").glob("*.json"))]
    out += [(p, "memory") for p in sorted((root / "memory_efficient").glob("*.json"))]
    return out


def migrate(root: Path, *, dry_run: bool = False) -> list[Outcome]:
    return [migrate_entry(p, kind, dry_run=dry_run) for p, kind in entries(root)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--root", type=Path, default=None, help="results folder (default: results/)"
    )
    parser.add_argument("--dry-run", action="store_true", help="check only, write nothing")
    args = parser.parse_args(argv)
    outcomes = migrate(args.root or results_dir(), dry_run=args.dry_run)
    counts: dict[str, int] = {}
    for o in outcomes:
        counts[o.status] = counts.get(o.status, 0) + 1
        if o.status in ("stale", "broken"):
            print(f"{o.status}: {o.path}: {o.detail}")
    print(", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "no entries")
    return 1 if counts.get("broken") or counts.get("stale") else 0


if __name__ == "__main__":
    sys.exit(main())
