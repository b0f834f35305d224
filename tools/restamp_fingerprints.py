"""Restamp the committed latency and peak-memory caches after a change that alters their code
fingerprints but not what they measured, proving first, entry by entry, that it did not.

A cached measurement carries the fingerprint of the code behind it (the measured model's files,
the inference path's files, the builder's name; :func:`mnv2lab.latency.config_fingerprint`,
:func:`mnv2lab.section5.memory_fingerprint`), so any edit to those files, even a pure refactor,
makes it stale. Re-timing everything would also replace measurements taken on another CPU. This
tool compares the tree as it was (``--before REV``, exported from git) with the working tree; for
each stored entry it

1. checks the entry's SHA-256 and that its key still names its configuration;
2. requires the BEFORE tree's fingerprint of that configuration to equal the stored one (the
   entry was current before the change);
3. builds the measured model in both trees, in fresh processes, exactly as the measurement does
   (``mnv2lab.latency.timing.build_forward``, seed 0, one thread), and requires equal behaviour
   signatures: the modules (names and types), the initialised weights (names, shapes, bytes),
   every ATen operator the timed forward dispatches with its arguments' shapes, strides and
   dtypes, and the output's bytes. Equal signatures mean the timed work is the same work;
4. only then writes the AFTER tree's fingerprint into the entry, the stored one into
   ``fingerprint_migrated_from`` and the evidence into ``fingerprint_restamp``, re-seals it and
   writes it atomically, and reads it back.

Outcomes: ``restamped``; ``current`` (already carries the new fingerprint); ``stale`` (did not
match the BEFORE tree either: it will be re-measured anyway); ``changed`` (the behaviour differs:
left untouched, re-measure it); ``broken`` (unreadable or edited). Peak-memory entries are built
as the latency path that runs the same model (``plain`` is ``practitioner``). Run it after the
change, before committing it:

    .venv/bin/python tools/restamp_fingerprints.py --before HEAD [--dry-run] [--root results]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

# Which peak-memory path runs the same model code as which latency path.
MEMORY_TO_LATENCY_PATH = {"sliced": "sliced", "plain": "practitioner"}
KINDS = {"latency": ("latency", "latency/breakdown"), "memory": ("memory_efficient",)}


@dataclass
class Outcome:
    path: Path
    status: str  # "restamped" | "current" | "stale" | "changed" | "broken"
    detail: str = ""


# ----------------------------------------------------------------- in each tree (child process)


def _meta(value):
    """What of an operator argument decides the work done: a tensor's shape, strides and dtype;
    anything else as its repr."""
    import torch

    if isinstance(value, torch.Tensor):
        return ["T", list(value.shape), list(value.stride()), str(value.dtype)]
    if isinstance(value, (list, tuple)):
        return [_meta(v) for v in value]
    if isinstance(value, dict):
        return {k: _meta(v) for k, v in sorted(value.items())}
    return repr(value)


def _tensor_bytes(value) -> bytes:
    """The bytes of a tensor, or of every tensor in a (nested) tuple, list or dict of them."""
    if isinstance(value, (list, tuple)):
        return b"".join(_tensor_bytes(v) for v in value)
    if isinstance(value, dict):
        return b"".join(_tensor_bytes(v) for _, v in sorted(value.items()))
    return value.detach().contiguous().cpu().numpy().tobytes()


def behaviour_signature(job: dict) -> dict:
    """The fingerprint this tree gives ``job``'s configuration and the behaviour signature of the
    model measured under it (see the module docstring)."""
    import torch
    from torch.utils._python_dispatch import TorchDispatchMode

    from mnv2lab.latency import LatencyConfig, config_fingerprint
    from mnv2lab.latency.timing import build_forward
    from mnv2lab.models import build_model

    if job["kind"] == "latency":
        config = LatencyConfig(**job["config"])
        fingerprint = config_fingerprint(config)
    else:
        from mnv2lab.section5 import memory_fingerprint

        c = job["config"]
        config = LatencyConfig(
            "mobilenet_v2",
            {"width_mult": c["width"]},
            c["resolution"],
            path=MEMORY_TO_LATENCY_PATH[c["path"]],
            n_slices=c["n_slices"],
        )
        fingerprint = memory_fingerprint()

    h = hashlib.sha256()
    torch.manual_seed(0)
    model = build_model(config.model, **config.kwargs)
    for name, module in model.named_modules():
        h.update(f"module {name} {type(module).__name__}\n".encode())
    for name, tensor in model.state_dict().items():
        h.update(f"state {name} {list(tensor.shape)} {tensor.dtype}\n".encode())
        h.update(_tensor_bytes(tensor))
    del model

    ops: list = []

    class OpLog(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            kwargs = kwargs or {}
            ops.append([str(func), _meta(args), _meta(kwargs)])
            return func(*args, **kwargs)

    forward, x = build_forward(config)
    with OpLog():
        out = forward(x)
    h.update(json.dumps(ops).encode())
    h.update(_tensor_bytes(out))
    return {"fingerprint": fingerprint, "signature": h.hexdigest(), "ops": len(ops)}


def child_main(jobs_file: Path, out_file: Path) -> None:
    import torch

    import mnv2lab

    torch.set_num_threads(1)
    jobs = json.loads(jobs_file.read_text(encoding="utf-8"))
    seen: dict[str, dict] = {}
    answers = {}
    for job_id, job in jobs.items():
        same = json.dumps(job, sort_keys=True)
        if same not in seen:
            seen[same] = behaviour_signature(job)
        answers[job_id] = seen[same]
    package = str(Path(mnv2lab.__file__).resolve().parent)
    out_file.write_text(json.dumps({"package": package, "answers": answers}), encoding="utf-8")


# ----------------------------------------------------------------------------- the comparison


def entries(root: Path) -> list[tuple[Path, str]]:
    """Every cache entry under ``root`` (a results folder) with its kind."""
    return [
        (p, kind)
        for kind, folders in KINDS.items()
        for folder in folders
        for p in sorted((root / folder).glob("*.json"))
    ]


def config_of(record: dict, kind: str):
    """The configuration a stored entry of ``kind`` ("latency" or "memory") names."""
    from mnv2lab.latency import LatencyConfig
    from mnv2lab.memory_probe import MemoryConfig

    if kind == "latency":
        return LatencyConfig(**record["config"])
    fields = {k: v for k, v in record["config"].items() if k != "probe_version"}
    return MemoryConfig(**fields)


def load_entry(path: Path, kind: str) -> tuple[dict | None, str]:
    """(record, "") for an intact entry whose key names its configuration, else (None, why)."""
    from mnv2lab import records
    from mnv2lab.latency.cache import FORMAT

    try:
        record = records.read(path, format=FORMAT)
        config = config_of(record, kind)
        if config.to_dict() != record["config"]:
            return None, "its configuration does not round-trip"
        if config.key() != record.get("key") or config.key() != path.stem:
            return None, f"key {record.get('key')} does not name its config"
    except (ValueError, TypeError, KeyError) as e:  # RecordError is a ValueError
        return None, f"{type(e).__name__}: {e}"
    return record, ""


def signatures_in(tree: Path, jobs: dict, workdir: Path) -> dict:
    """Run :func:`child_main` with ``tree``'s ``mnv2lab`` first on the path; its answers."""
    jobs_file, out_file = workdir / "jobs.json", workdir / f"answers-{os.getpid()}.json"
    jobs_file.write_text(json.dumps(jobs), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(tree), "OMP_NUM_THREADS": "1"}
    subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--child", str(jobs_file), str(out_file)],
        env=env,
        cwd=workdir,
        check=True,
    )
    answer = json.loads(out_file.read_text(encoding="utf-8"))
    out_file.unlink()
    if Path(answer["package"]) != (tree / "mnv2lab").resolve():
        raise RuntimeError(f"the child imported {answer['package']}, not the tree {tree}")
    return answer["answers"]


def restamp(
    root: Path, before: Path, after: Path, *, label: str, dry_run: bool = False
) -> list[Outcome]:
    """Compare every entry under ``root`` between the package trees ``before`` and ``after``
    (folders holding an ``mnv2lab`` package) and restamp those proven unchanged."""
    from mnv2lab import records
    from mnv2lab.latency.cache import FORMAT

    outcomes, jobs, loaded = [], {}, {}
    for path, kind in entries(root):
        record, why = load_entry(path, kind)
        if record is None:
            outcomes.append(Outcome(path, "broken", why))
            continue
        job_id = str(path.relative_to(root))
        jobs[job_id] = {"kind": kind, "config": record["config"]}
        loaded[job_id] = (path, record)
    with tempfile.TemporaryDirectory() as work:
        old = signatures_in(before, jobs, Path(work))
        new = signatures_in(after, jobs, Path(work))
    for job_id, (path, record) in loaded.items():
        stored, was, now = record["fingerprint"], old[job_id], new[job_id]
        if stored == now["fingerprint"]:
            outcomes.append(Outcome(path, "current", stored))
        elif stored != was["fingerprint"]:
            outcomes.append(Outcome(path, "stale", f"stored {stored}, before {was['fingerprint']}"))
        elif was["signature"] != now["signature"]:
            outcomes.append(Outcome(path, "changed", f"{was['ops']} -> {now['ops']} operators"))
        else:
            if not dry_run:
                record["fingerprint"] = now["fingerprint"]
                record["fingerprint_migrated_from"] = stored
                record["fingerprint_restamp"] = {
                    "since": label,
                    "behaviour_signature": now["signature"],
                    "operators": now["ops"],
                }
                records.write(path, record)
                records.read(path, format=FORMAT, fingerprint=now["fingerprint"])
            outcomes.append(Outcome(path, "restamped", f"{stored} -> {now['fingerprint']}"))
    return outcomes


def export_tree(rev: str, into: Path) -> Path:
    """``mnv2lab/`` as it was at git revision ``rev``, written under ``into``."""
    repo = Path(__file__).resolve().parents[1]
    archive = subprocess.run(
        ["git", "-C", str(repo), "archive", "--format=tar", rev, "mnv2lab"],
        check=True,
        capture_output=True,
    ).stdout
    into.mkdir(parents=True, exist_ok=True)
    archive_path = into / "tree.tar"
    archive_path.write_bytes(archive)
    with tarfile.open(archive_path) as tar:
        tar.extractall(into, filter="data")
    return into


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        child_main(Path(argv[1]), Path(argv[2]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", required=True, help="git revision of the code before")
    parser.add_argument(
        "--root", type=Path, default=None, help="results folder (default: results/)"
    )
    parser.add_argument("--dry-run", action="store_true", help="check only, write nothing")
    args = parser.parse_args(argv)
    from mnv2lab.paths import results_dir

    repo = Path(__file__).resolve().parents[1]
    rev = subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "--short=12", args.before],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    with tempfile.TemporaryDirectory() as tmp:
        before = export_tree(rev, Path(tmp) / "before")
        outcomes = restamp(
            args.root or results_dir(), before, repo, label=rev, dry_run=args.dry_run
        )
    counts: dict[str, int] = {}
    for o in outcomes:
        counts[o.status] = counts.get(o.status, 0) + 1
        if o.status in ("stale", "changed", "broken"):
            print(f"{o.status}: {o.path}: {o.detail}")
    print(", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "no entries")
    return 1 if set(counts) & {"stale", "changed", "broken"} else 0


if __name__ == "__main__":
    sys.exit(main())
