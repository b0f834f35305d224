"""What produced a number: package version, git commit, library versions, machine."""

from __future__ import annotations

import functools
import os
import platform
import subprocess

from . import __version__
from .paths import repo_root


@functools.lru_cache(maxsize=1)
def git_commit() -> str:
    """Short commit hash of the checkout, with ``-dirty`` when tracked files differ from it."""
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"],
            cwd=repo_root(),
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=repo_root(),
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout
        return sha + ("-dirty" if dirty.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


@functools.lru_cache(maxsize=1)
def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cpu_fingerprint() -> str:
    """A short hash of what decides float rounding on this CPU: the cpuinfo identity (model name,
    family, model, stepping, cache, flags) and torch's CPU kernel level. Two hosts can share a
    model name ("AMD EPYC") and still round differently; this tells them apart."""
    import hashlib

    fields: dict[str, str] = {}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                key = key.strip()
                if key in ("model name", "cpu family", "model", "stepping", "cache size", "flags"):
                    fields.setdefault(key, value.strip())
    except OSError:
        fields["processor"] = platform.processor() or platform.machine()
    try:
        import torch

        fields["torch_cpu_capability"] = torch.backends.cpu.get_cpu_capability()
    except (ImportError, AttributeError):
        pass
    text = "\n".join(f"{k}={v}" for k, v in sorted(fields.items()))
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def provenance() -> dict:
    """A dict to store beside every result: enough to tell what code and machine produced it."""
    info = {
        "mnv2lab_version": __version__,
        "git_commit": git_commit(),
        "python": platform.python_version(),
        "cpu_model": cpu_model(),
        "cpu_fingerprint": cpu_fingerprint(),
        "cpu_count": os.cpu_count(),
    }
    try:
        import torch

        info["torch"] = torch.__version__
        info["torch_threads"] = torch.get_num_threads()
        info["cuda_device"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    except ImportError:
        pass
    return info


def banner() -> str:
    """One line for the top of every executed notebook."""
    p = provenance()
    return (
        f"mnv2lab {p['mnv2lab_version']} (commit {p['git_commit']}), torch {p.get('torch', '-')}, "
        f"python {p['python']}, {p['cpu_model']} x{p['cpu_count']}"
    )
