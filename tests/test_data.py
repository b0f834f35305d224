"""Data layer: folder/tarball reader, verified cache, CIFAR pickles, digits, batched augmentation."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import pickle
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from mnv2lab.data import (
    CacheWarning,
    ChecksumError,
    DataError,
    UnsafeArchiveError,
    cifar,
    epoch_order,
    load_dataset,
    load_digits_dataset,
    load_image_folder,
    random_crop_flip,
    step_generator,
    to_model_input,
)
from mnv2lab.data import folders as folders_mod
from mnv2lab.data.tarsafe import iter_files, safe_extract


pytestmark = pytest.mark.usefixtures("private_cache")


def _make_folder(
    root: Path, classes=("cat", "dog", "emu"), n=3, size=(8, 6), seed=0, splits=("train", "test")
) -> dict:
    """Random PNG images (lossless, so pixels can be compared exactly); returns the pixels."""
    rng = np.random.default_rng(seed)
    pixels = {}
    for split in splits:
        for cls in classes:
            d = root / split / cls
            d.mkdir(parents=True, exist_ok=True)
            for i in range(n):
                a = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
                Image.fromarray(a).save(d / f"{i:03d}.png")
                pixels[(split, cls, i)] = a
    return pixels


def _tar(folder: Path, out: Path, prefix: str = "") -> Path:
    with tarfile.open(out, "w:gz") as tf:
        for p in sorted(folder.rglob("*")):
            tf.add(p, arcname=prefix + str(p.relative_to(folder)), recursive=False)
    return out


# --- folder and tarball reader ------------------------------------------------------------------


def test_folder_reader_returns_exact_pixels_and_sorted_class_labels(tmp_path):
    pixels = _make_folder(tmp_path / "ds", classes=("zebra", "ant", "moth"))
    ds = load_image_folder(tmp_path / "ds", progress=False)
    assert ds.classes == ["ant", "moth", "zebra"]
    assert ds.train_images.shape == (9, 6, 8, 3) and ds.train_images.dtype == torch.uint8
    assert ds.train_labels.tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    assert np.array_equal(ds.train_images[3].numpy(), pixels[("train", "moth", 0)])
    assert np.array_equal(ds.test_images[8].numpy(), pixels[("test", "zebra", 2)])
    assert ds.image_shape == (3, 6, 8)


def test_tarball_with_wrapping_folder_equals_folder(tmp_path):
    _make_folder(tmp_path / "ds")
    a = load_image_folder(tmp_path / "ds", progress=False, use_cache=False)
    b = load_image_folder(
        _tar(tmp_path / "ds", tmp_path / "ds.tar.gz", prefix="wrap/"),
        progress=False,
        use_cache=False,
    )
    assert a.classes == b.classes
    for split in ("train", "test"):
        assert torch.equal(getattr(a, f"{split}_images"), getattr(b, f"{split}_images"))
        assert torch.equal(getattr(a, f"{split}_labels"), getattr(b, f"{split}_labels"))


def test_parallel_decoding_matches_serial(tmp_path):
    _make_folder(tmp_path / "ds", n=9)
    serial = load_image_folder(tmp_path / "ds", workers=1, use_cache=False, progress=False)
    from mnv2lab.data.decode import decode_all

    items = [(str(p), None, str(p)) for p in sorted((tmp_path / "ds" / "train").rglob("*.png"))]
    par = decode_all(items, None, workers=2, chunk=4)  # 7 chunks -> a 2-process pool
    assert np.array_equal(par, serial.train_images.numpy())


def test_resize_short_side_and_center_crop(tmp_path):
    _make_folder(tmp_path / "ds", size=(12, 6))
    ds = load_image_folder(tmp_path / "ds", image_size=4, progress=False)
    assert ds.train_images.shape == (9, 4, 4, 3)


def test_cache_hit_skips_decoding_and_detects_corruption(tmp_path, monkeypatch):
    _make_folder(tmp_path / "ds")
    first = load_image_folder(tmp_path / "ds", progress=False)
    cache_file = Path(first.info["cache"])
    assert cache_file.exists()

    def no_decoding(*a, **k):
        raise AssertionError("decoded although the cache is valid")

    monkeypatch.setattr(folders_mod, "decode_all", no_decoding)
    again = load_image_folder(tmp_path / "ds", progress=False)
    assert torch.equal(first.train_images, again.train_images)
    assert again.mean == pytest.approx(first.mean)
    monkeypatch.undo()
    monkeypatch.setenv("MNV2LAB_CACHE", str(tmp_path / "cache"))

    for damage in ("truncate", "flip"):
        raw = bytearray(cache_file.read_bytes())
        if damage == "truncate":
            raw = raw[: len(raw) // 2]
        else:  # change one pixel byte deep inside the train array, keeping the zip intact
            pos = raw.index(first.train_images[4].numpy().tobytes()[:16])
            raw[pos] ^= 0xFF
        cache_file.write_bytes(bytes(raw))
        with pytest.warns(CacheWarning, match="corrupt"):
            rebuilt = load_image_folder(tmp_path / "ds", progress=False)
        assert torch.equal(rebuilt.train_images, first.train_images)
        assert cache_file.exists()


def test_cache_is_invalidated_when_an_image_changes(tmp_path):
    _make_folder(tmp_path / "ds")
    first = load_image_folder(tmp_path / "ds", progress=False)
    target = tmp_path / "ds" / "train" / "cat" / "000.png"
    Image.fromarray(np.zeros((6, 8, 3), np.uint8)).save(target)
    second = load_image_folder(tmp_path / "ds", progress=False)
    assert second.train_images[0].sum() == 0 and first.train_images[0].sum() > 0


def test_missing_folder_and_non_archive_file(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        load_image_folder(tmp_path / "nowhere")
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(DataError, match="not a .tar"):
        load_image_folder(tmp_path / "notes.txt")
    (tmp_path / "flat").mkdir()
    with pytest.raises(DataError, match="no train/"):
        load_image_folder(tmp_path / "flat")


def test_empty_class_is_named(tmp_path):
    _make_folder(tmp_path / "ds")
    (tmp_path / "ds" / "train" / "yak").mkdir()
    (tmp_path / "ds" / "test" / "yak").mkdir()
    (tmp_path / "ds" / "train" / "yak" / "readme.txt").write_text("not an image")
    with pytest.raises(DataError, match=r"train/yak holds no images"):
        load_image_folder(tmp_path / "ds", progress=False)


def test_mismatched_class_lists_are_listed(tmp_path):
    _make_folder(tmp_path / "ds", splits=("train",))
    _make_folder(tmp_path / "ds", classes=("cat", "dog", "gnu"), splits=("val",))
    with pytest.raises(DataError, match=r"only in train: \['emu'\]; only in val: \['gnu'\]"):
        load_image_folder(tmp_path / "ds", progress=False)


@pytest.mark.parametrize("as_tar", [False, True])
def test_unreadable_image_is_named(tmp_path, as_tar):
    _make_folder(tmp_path / "ds")
    (tmp_path / "ds" / "train" / "dog" / "001.png").write_bytes(b"\x89PNG garbage")
    src = _tar(tmp_path / "ds", tmp_path / "ds.tar.gz") if as_tar else tmp_path / "ds"
    with pytest.raises(DataError, match=r"cannot read image .*train/dog/001\.png"):
        load_image_folder(src, progress=False, use_cache=False)


def test_mixed_sizes_need_image_size(tmp_path):
    _make_folder(tmp_path / "ds")
    Image.fromarray(np.zeros((5, 5, 3), np.uint8)).save(
        tmp_path / "ds" / "train" / "dog" / "001.png"
    )
    with pytest.raises(DataError, match=r"001\.png is 5x5 .*image_size"):
        load_image_folder(tmp_path / "ds", progress=False)
    assert load_image_folder(tmp_path / "ds", image_size=5, progress=False).image_shape == (3, 5, 5)


# --- safe tar handling --------------------------------------------------------------------------


def _evil_tar(path: Path, kind: str) -> Path:
    with tarfile.open(path, "w:gz") as tf:
        good = tarfile.TarInfo("train/cat/000.png")
        buf = io.BytesIO()
        Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(buf, format="PNG")
        good.size = len(buf.getvalue())
        tf.addfile(good, io.BytesIO(buf.getvalue()))
        if kind == "symlink":
            m = tarfile.TarInfo("train/cat/link.png")
            m.type, m.linkname = tarfile.SYMTYPE, "/etc/passwd"
            tf.addfile(m)
        else:
            m = tarfile.TarInfo(
                {"traversal": "../../escaped.png", "absolute": "/tmp/abs.png"}[kind]
            )
            m.size = 3
            tf.addfile(m, io.BytesIO(b"abc"))
    return path


@pytest.mark.parametrize(
    "kind,fragment",
    [("traversal", r"'\.\.'"), ("absolute", "absolute"), ("symlink", "symbolic link")],
)
def test_unsafe_tar_members_are_rejected(tmp_path, kind, fragment):
    archive = _evil_tar(tmp_path / f"{kind}.tar.gz", kind)
    with pytest.raises(UnsafeArchiveError, match=fragment):
        list(iter_files(archive))
    dest = tmp_path / "out" / "deep"
    with pytest.raises(UnsafeArchiveError, match=fragment):
        safe_extract(archive, dest)
    assert not dest.exists(), "nothing may be written when any member is unsafe"
    assert (
        not (tmp_path / "escaped.png").exists() and not (tmp_path / "out" / "escaped.png").exists()
    )


def test_extraction_through_a_link_already_in_the_target_is_rejected(tmp_path):
    """A member with a harmless-looking name ("link/escaped.txt") that would land outside the
    target through a symbolic link already inside it: the 'data' extraction filter refuses it."""
    outside, dest = tmp_path / "outside", tmp_path / "dest"
    outside.mkdir()
    dest.mkdir()
    (dest / "link").symlink_to(outside, target_is_directory=True)
    archive = tmp_path / "a.tar"
    with tarfile.open(archive, "w") as tf:
        m = tarfile.TarInfo("link/escaped.txt")
        m.size = 3
        tf.addfile(m, io.BytesIO(b"abc"))
    assert [name for name, _ in iter_files(archive)] == ["link/escaped.txt"]  # reading is safe
    with pytest.raises(UnsafeArchiveError, match="'data' extraction filter"):
        safe_extract(archive, dest)
    assert list(outside.iterdir()) == []


# --- CIFAR pickles ------------------------------------------------------------------------------


def _fake_cifar(root: Path) -> tuple[cifar.CifarSpec, np.ndarray, np.ndarray]:
    """A small archive in the official CIFAR-10 layout, and a spec holding its MD5s."""
    rng = np.random.default_rng(1)
    src = root / "src" / "cifar-10-batches-py"
    src.mkdir(parents=True)
    data = rng.integers(0, 256, (12, 3072), dtype=np.uint8)
    labels = [i % 3 for i in range(12)]
    files = {}
    for fname, sl in [
        ("data_batch_1", slice(0, 5)),
        ("data_batch_2", slice(5, 8)),
        ("test_batch", slice(8, 12)),
    ]:
        (src / fname).write_bytes(pickle.dumps({b"data": data[sl], b"labels": labels[sl]}))
    (src / "batches.meta").write_bytes(pickle.dumps({b"label_names": [b"a", b"b", b"c"]}))
    for f in src.iterdir():
        files[f.name] = hashlib.md5(f.read_bytes()).hexdigest()
    archive = root / "dl" / "cifar-10-python.tar.gz"
    archive.parent.mkdir()
    with tarfile.open(archive, "w:gz") as tf:
        tf.add(src, arcname="cifar-10-batches-py")
    spec = cifar.CifarSpec(
        name="cifar10",
        url=archive.as_uri(),
        archive="cifar-10-python.tar.gz",
        archive_md5=hashlib.md5(archive.read_bytes()).hexdigest(),
        folder="cifar-10-batches-py",
        train=(("data_batch_1", files["data_batch_1"]), ("data_batch_2", files["data_batch_2"])),
        test=(("test_batch", files["test_batch"]),),
        meta=("batches.meta", files["batches.meta"]),
        label_key=b"labels",
        names_key=b"label_names",
    )
    return spec, data, np.array(labels)


def test_official_cifar_sources_are_pinned():
    assert cifar.SPECS["cifar10"].url == "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
    assert cifar.SPECS["cifar10"].archive_md5 == "c58f30108f718f92721af3b95e74349a"
    assert cifar.SPECS["cifar100"].archive_md5 == "eb9058c3a382ffc7106e4002c42a8d85"
    assert len(cifar.SPECS["cifar10"].train) == 5


def test_cifar_download_verify_extract_and_layout(tmp_path):
    spec, data, labels = _fake_cifar(tmp_path)
    root = tmp_path / "root"
    with pytest.raises(DataError, match="download=True"):
        cifar.load_cifar("cifar10", root, specs={"cifar10": spec})
    ds = cifar.load_cifar("cifar10", root, download=True, progress=False, specs={"cifar10": spec})
    assert ds.classes == ["a", "b", "c"]
    assert ds.train_images.shape == (8, 32, 32, 3) and ds.test_images.shape == (4, 32, 32, 3)
    # official rows are channel planes (R 1024, G 1024, B 1024), row-major
    img = data[6].reshape(3, 32, 32).transpose(1, 2, 0)
    assert np.array_equal(ds.train_images[6].numpy(), img)
    assert ds.test_labels.tolist() == labels[8:].tolist()


def test_cifar_pickles_are_not_read_when_a_checksum_fails(tmp_path, monkeypatch):
    spec, _, _ = _fake_cifar(tmp_path)
    root = tmp_path / "root"
    cifar.load_cifar("cifar10", root, download=True, progress=False, specs={"cifar10": spec})
    batch = root / "cifar-10-batches-py" / "data_batch_2"
    batch.write_bytes(batch.read_bytes()[:-1] + b"\x00")
    monkeypatch.setattr(pickle, "load", lambda *a, **k: pytest.fail("unpickled before verifying"))
    with pytest.raises(ChecksumError, match="data_batch_2: MD5"):
        cifar.load_cifar("cifar10", root, specs={"cifar10": spec})


def test_cifar_bad_download_is_not_kept(tmp_path):
    spec, _, _ = _fake_cifar(tmp_path)
    bad = cifar.CifarSpec(**{**spec.__dict__, "archive_md5": "0" * 32})
    root = tmp_path / "root"
    with pytest.raises(ChecksumError, match="nothing was kept"):
        cifar.load_cifar("cifar10", root, download=True, progress=False, specs={"cifar10": bad})
    assert not (root / spec.archive).exists() and not list(root.glob("*.tmp"))


# --- digits and load_dataset --------------------------------------------------------------------


def test_digits_is_offline_deterministic_and_split():
    a, b = load_digits_dataset(16), load_digits_dataset(16)
    assert (len(a.train_labels), len(a.test_labels)) == (1437, 360)
    assert a.image_shape == (3, 16, 16) and a.num_classes == 10
    assert torch.equal(a.train_images, b.train_images)
    assert int(a.train_images.max()) == 255 and int(a.train_images.min()) == 0
    assert set(a.test_labels.tolist()) == set(range(10))


def test_load_dataset_names_and_errors(tmp_path):
    assert load_dataset("digits", image_size=32, limit_per_class=4).train_images.shape == (
        40,
        32,
        32,
        3,
    )
    with pytest.raises(ValueError, match=r"dataset: got 'cifar11'; allowed: cifar10-jpeg"):
        load_dataset("cifar11")
    with pytest.raises(ValueError, match="limit_per_class: got 0"):
        load_dataset("digits", limit_per_class=0)
    with pytest.raises(ValueError, match="image_size: got 64"):
        load_dataset("cifar10", image_size=64)
    _make_folder(tmp_path / "ds")
    ds = load_dataset(f"folder:{tmp_path / 'ds'}", progress=False)
    assert ds.num_classes == 3 and ds.name.startswith("folder:")


def test_subset_is_seeded_and_keeps_statistics():
    ds = load_digits_dataset(8)
    a, b, c = ds.subset(100, 50, seed=0), ds.subset(100, 50, seed=0), ds.subset(100, 50, seed=1)
    assert len(a.train_labels) == 100 and len(a.test_labels) == 50
    assert torch.equal(a.train_labels, b.train_labels) and not torch.equal(
        a.train_images, c.train_images
    )
    assert a.mean == ds.mean


def test_real_cifar10_tarball_subset(cifar_tarball):
    ds = load_dataset("cifar10-jpeg", root=cifar_tarball, limit_per_class=3, progress=False)
    assert ds.classes == [
        "airplane",
        "automobile",
        "bird",
        "cat",
        "deer",
        "dog",
        "frog",
        "horse",
        "ship",
        "truck",
    ]
    assert ds.train_images.shape == (30, 32, 32, 3) and ds.test_images.shape == (30, 32, 32, 3)
    assert ds.info["decode_s"] < 30
    assert 20 < ds.train_images.float().mean() < 235  # real pictures, not blank


# --- batched augmentation -----------------------------------------------------------------------


def _reference_crop_flip(images, padding, seed):
    """Per-sample reference: the same random draws, applied image by image."""
    g = torch.Generator().manual_seed(seed)
    b = len(images)
    offsets = torch.randint(0, 2 * padding + 1, (b, 2), generator=g)
    flips = torch.rand(b, generator=g) < 0.5
    out = []
    for img, (oy, ox), f in zip(images, offsets.tolist(), flips.tolist()):
        p = torch.nn.functional.pad(img, (0, 0, padding, padding, padding, padding))
        crop = p[oy : oy + img.shape[0], ox : ox + img.shape[1]]
        out.append(crop.flip(1) if f else crop)
    return torch.stack(out)


def test_batched_crop_flip_matches_per_sample_reference():
    x = torch.randint(0, 256, (64, 10, 12, 3), dtype=torch.uint8)
    got = random_crop_flip(x, padding=3, generator=torch.Generator().manual_seed(7))
    assert torch.equal(got, _reference_crop_flip(x, 3, 7))
    assert not torch.equal(got, x)
    same = random_crop_flip(x, padding=0, flip=False, generator=torch.Generator().manual_seed(7))
    assert torch.equal(same, x)


def test_normalization_is_channels_last_and_standardizes():
    ds = load_digits_dataset(16)
    x = to_model_input(ds.train_images, ds.mean, ds.std)
    assert x.shape == (1437, 3, 16, 16) and x.is_contiguous(memory_format=torch.channels_last)
    assert abs(float(x.mean())) < 1e-3 and abs(float(x.std()) - 1) < 1e-2
    assert to_model_input(ds.train_images[:2], ds.mean, ds.std, channels_last=False).is_contiguous()


def test_epoch_order_and_step_generators_are_pure_functions_of_seed():
    a, b = epoch_order(100, seed=3, epoch=2), epoch_order(100, seed=3, epoch=2)
    assert torch.equal(a, b) and sorted(a.tolist()) == list(range(100))
    assert not torch.equal(a, epoch_order(100, seed=3, epoch=3))
    assert not torch.equal(a, epoch_order(100, seed=4, epoch=2))
    r = [
        torch.rand(3, generator=step_generator(0, s, rank))
        for s, rank in [(5, 0), (5, 0), (5, 1), (6, 0)]
    ]
    assert torch.equal(r[0], r[1]) and not torch.equal(r[0], r[2]) and not torch.equal(r[0], r[3])


# --- data sets the trainer must not accept (issue 14, finding 5 and 6) --------------------------


def test_a_one_class_data_set_is_refused(tmp_path):
    """One class trains to a meaningless "100% accuracy": refused when loaded, naming the source."""
    _make_folder(tmp_path / "ds", classes=("cat",))
    with pytest.raises(DataError, match=r"1 class \(\['cat'\]\).*at least 2"):
        load_image_folder(tmp_path / "ds", progress=False)
    ds = load_dataset("digits", image_size=8)
    with pytest.raises(DataError, match=r"training labels hold only class \[3\]"):
        dataclasses.replace(ds, train_labels=torch.full_like(ds.train_labels, 3))


def _tar_bytes(members: list[tuple[str, bytes]]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def test_an_oversized_member_is_refused_before_it_is_read(tmp_path):
    """A 1 GiB member announced in a tiny .tar.gz fails on its header, not after reading it."""
    import gzip

    header = tarfile.TarInfo("train/cat/huge.png")
    header.size = 1 << 30
    archive = tmp_path / "bomb.tar.gz"
    archive.write_bytes(gzip.compress(header.tobuf() + b"\0" * 4096))
    with pytest.raises(DataError, match=r"bomb\.tar\.gz: member 'train/cat/huge\.png' is 1024 MiB"):
        list(iter_files(archive))
    small = tmp_path / "small.tar"
    small.write_bytes(_tar_bytes([("train/cat/a.png", b"x" * 5000)]))
    with pytest.raises(DataError, match=r"member 'train/cat/a\.png' is 0 MiB .* cap of 4000 bytes"):
        list(iter_files(small, max_member_bytes=4000))


@pytest.mark.parametrize("damage", ["truncated", "not a tar"])
def test_broken_archives_name_the_archive(tmp_path, damage):
    _make_folder(tmp_path / "ds")
    good = _tar(tmp_path / "ds", tmp_path / "ds.tar.gz").read_bytes()
    bad = tmp_path / "bad.tar.gz"
    bad.write_bytes(good[: len(good) // 2] if damage == "truncated" else b"\x00garbage" * 500)
    with pytest.raises(DataError, match=r"bad\.tar\.gz"):
        list(iter_files(bad))
    with pytest.raises(DataError, match=r"bad\.tar\.gz"):
        load_image_folder(bad, progress=False, use_cache=False)
    with pytest.raises(DataError, match=r"bad\.tar\.gz"):
        safe_extract(bad, tmp_path / "out")


def test_duplicate_members_are_an_error(tmp_path):
    png = io.BytesIO()
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(png, format="PNG")
    archive = tmp_path / "dup.tar"
    archive.write_bytes(
        _tar_bytes([("train/cat/0.png", png.getvalue()), ("./train/cat/0.png", png.getvalue())])
    )
    with pytest.raises(DataError, match=r"dup\.tar: member 'train/cat/0\.png' appears twice"):
        list(iter_files(archive))
