"""The verified-record module: round trip, every way a file can be unusable, and the committed
files (training results, latency, peak memory, activation statistics) still verifying."""

from __future__ import annotations

import json

import pytest

from mnv2lab import records
from mnv2lab.latency import LatencyCacheWarning
from mnv2lab.train import ResultCacheWarning


def test_round_trip_and_the_checksum_covers_every_field(tmp_path):
    path = tmp_path / "a" / "r.json"
    written = records.write(path, {"format": 2, "key": "abc", "values": [1, 2.5, None]})
    assert records.read(path, format=2, key="abc") == written
    assert written["sha256"] == records.digest(written) and len(written["sha256"]) == 64
    edited = {**written, "values": [1, 2.5, 0]}
    path.write_text(json.dumps(edited))
    with pytest.raises(records.RecordError, match="SHA-256"):
        records.read(path, format=2)


@pytest.mark.parametrize(
    "content, message",
    [
        ('{"format": 2, "key"', "not readable JSON"),
        ("[1, 2]", "unknown format"),
        ('{"format": 1}', "unknown format"),
    ],
)
def test_unreadable_records_say_why(tmp_path, content, message):
    path = tmp_path / "r.json"
    path.write_text(content)
    with pytest.raises(records.RecordError, match=message):
        records.read(path, format=2)


def test_wrong_key_and_missing_file_and_nan(tmp_path):
    path = tmp_path / "r.json"
    records.write(path, {"format": 1, "key": "abc"})
    with pytest.raises(records.RecordError, match="another key"):
        records.read(path, format=1, key="xyz")
    with pytest.raises(records.RecordError, match="not readable"):
        records.read(tmp_path / "absent.json", format=1)
    with pytest.raises(ValueError):
        records.write(tmp_path / "nan.json", {"format": 1, "x": float("nan")})
    assert not (tmp_path / "nan.json").exists()
    path.write_text('{"format": 1, "x": NaN, "sha256": "0"}')  # NaN is never intact
    with pytest.raises(records.RecordError, match="SHA-256"):
        records.read(path, format=1)


def test_one_warning_class_and_stable_keys():
    assert ResultCacheWarning is LatencyCacheWarning is records.RecordWarning
    from mnv2lab.data import CacheWarning

    assert CacheWarning is records.RecordWarning
    # the key of a configuration: SHA-256 of sorted-key JSON, first hex digits (names unchanged;
    # the digest of {"a": 1} computed independently with hashlib)
    assert records.key_of({"b": 1, "a": [0.5]}) == records.key_of({"a": [0.5], "b": 1})
    assert (
        records.key_of({"a": 1}, 20)
        == "f9d86028c6e0d64e225186f96acb69338b2c59764df79162107f5c4bb34d1310"[:20]
    )


def test_committed_files_verify(repo_root):
    results = repo_root / "results"
    checked = 0
    for folder in (
        "cifar10_ablation",
        "cifar10_ablation/activations",
        "latency",
        "memory_efficient",
    ):
        for path in sorted((results / folder).glob("*.json")):
            record = records.read(path, format=1)
            assert path.stem.startswith(record["key"])
            checked += 1
    if checked == 0:
        pytest.skip("no committed results yet")
