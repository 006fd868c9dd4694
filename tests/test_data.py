"""Tests for nn/data.py: DataLoader, datasets, IDX loaders and the checked download."""
import contextlib
import functools
import gzip
import hashlib
import http.server
import os
import threading
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from nn import data
from nn.data import (ArrayDataset, ChecksumError, DataLoader, Dataset, MNIST, FashionMNIST,
                     Subset, TensorDataset, download_file, download_mnist, load_mnist, read_idx)

from autograd import Tensor  # noqa: E402


# ------------------------------------------------------------------------------- DataLoader
def _toy(n=10):
    x = np.arange(n * 3, dtype=np.float32).reshape(n, 3)
    y = np.arange(n, dtype=np.uint8)
    return ArrayDataset(x, y)


class ListDataset(Dataset):
    """A generic dataset (no __getitems__): the loader must fall back to per-item collation."""

    def __init__(self, n):
        self.n, self.calls = n, 0

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        self.calls += 1
        return np.full((2, 2), i, dtype=np.float32), i


def test_batches_in_order_with_last_partial_batch():
    loader = DataLoader(_toy(10), batch_size=4)
    batches = list(loader)
    assert len(loader) == len(batches) == 3
    assert [b[1].shape for b in batches] == [(4,), (4,), (2,)]
    x, y = batches[0]
    assert isinstance(x, Tensor) and isinstance(y, Tensor)
    assert x.dtype == np.float32 and y.dtype == np.int64
    np.testing.assert_array_equal(y.numpy(), [0, 1, 2, 3])
    np.testing.assert_array_equal(np.concatenate([b[1].numpy() for b in batches]), np.arange(10))


def test_drop_last():
    loader = DataLoader(_toy(10), batch_size=4, drop_last=True)
    batches = list(loader)
    assert len(loader) == len(batches) == 2
    assert all(b[0].shape == (4, 3) for b in batches)
    assert len(DataLoader(_toy(3), batch_size=4, drop_last=True)) == 0
    assert list(DataLoader(_toy(3), batch_size=4, drop_last=True)) == []


def _epoch_labels(loader):
    return np.concatenate([y.numpy() for _, y in loader])


def test_shuffle_is_seeded_and_reshuffles_each_epoch():
    a = DataLoader(_toy(50), batch_size=8, shuffle=True, seed=123)
    b = DataLoader(_toy(50), batch_size=8, shuffle=True, seed=123)
    a1, a2 = _epoch_labels(a), _epoch_labels(a)
    b1, b2 = _epoch_labels(b), _epoch_labels(b)
    np.testing.assert_array_equal(a1, b1)       # same seed, same epochs
    np.testing.assert_array_equal(a2, b2)
    assert not np.array_equal(a1, a2)            # a new permutation per epoch
    assert not np.array_equal(a1, np.arange(50))
    np.testing.assert_array_equal(np.sort(a1), np.arange(50))
    c = DataLoader(_toy(50), batch_size=8, shuffle=True, seed=124)
    assert not np.array_equal(_epoch_labels(c), a1)


def test_samples_stay_paired_when_shuffled():
    for x, y in DataLoader(_toy(20), batch_size=6, shuffle=True, seed=0):
        np.testing.assert_array_equal(x.numpy()[:, 0], 3 * y.numpy())


def test_seed_none_follows_autograd_manual_seed():
    import autograd
    autograd.manual_seed(7)
    first = _epoch_labels(DataLoader(_toy(30), batch_size=5, shuffle=True))
    autograd.manual_seed(7)
    second = _epoch_labels(DataLoader(_toy(30), batch_size=5, shuffle=True))
    np.testing.assert_array_equal(first, second)
    # an unshuffled loader leaves autograd's random stream alone
    autograd.manual_seed(3)
    expected = autograd.randn(4).numpy()
    autograd.manual_seed(3)
    list(DataLoader(_toy(30), batch_size=5))
    np.testing.assert_array_equal(autograd.randn(4).numpy(), expected)


def test_generator_seed_is_used():
    gen = np.random.default_rng(5)
    loader = DataLoader(_toy(12), batch_size=12, shuffle=True, seed=gen)
    expected = np.random.default_rng(5).permutation(12)
    np.testing.assert_array_equal(_epoch_labels(loader), expected)


@settings(max_examples=50, deadline=None)
@given(n=st.integers(0, 40), batch_size=st.integers(1, 12), shuffle=st.booleans(),
       drop_last=st.booleans())
def test_every_sample_once_per_epoch(n, batch_size, shuffle, drop_last):
    if n == 0 and shuffle:  # as PyTorch: a RandomSampler needs at least one sample
        with pytest.raises(ValueError, match="num_samples should be a positive integer"):
            DataLoader(_toy(n), batch_size=batch_size, shuffle=True)
        return
    loader = DataLoader(_toy(n), batch_size=batch_size, shuffle=shuffle, drop_last=drop_last,
                        seed=0, as_tensor=False)
    batches = list(loader)
    assert len(batches) == len(loader)
    assert all(len(y) == batch_size for _, y in batches[:-1])
    seen = np.concatenate([y for _, y in batches]) if batches else np.array([], np.uint8)
    assert len(np.unique(seen)) == len(seen)
    if drop_last:
        assert len(seen) == (n // batch_size) * batch_size
    else:
        np.testing.assert_array_equal(np.sort(seen), np.arange(n))


def test_fast_path_uses_one_fancy_index_per_batch():
    class Counting(ArrayDataset):
        item_calls = batch_calls = 0

        def __getitem__(self, i):
            type(self).item_calls += 1
            return super().__getitem__(i)

        def __getitems__(self, idx):
            type(self).batch_calls += 1
            return super().__getitems__(idx)

    ds = Counting(np.zeros((100, 2), np.float32), np.zeros(100, np.int64))
    assert len(list(DataLoader(ds, batch_size=32, shuffle=True, seed=0))) == 4
    assert Counting.item_calls == 0 and Counting.batch_calls == 4


def test_generic_dataset_falls_back_to_stacking():
    ds = ListDataset(7)
    batches = list(DataLoader(ds, batch_size=3))
    assert ds.calls == 7
    x, y = batches[-1]
    assert x.shape == (1, 2, 2) and x.dtype == np.float32
    assert y.dtype == np.int64
    np.testing.assert_array_equal(batches[1][1].numpy(), [3, 4, 5])
    np.testing.assert_array_equal(batches[1][0].numpy()[:, 0, 0], [3, 4, 5])


def test_collate_fn_and_dict_samples():
    class Dicts(Dataset):
        def __len__(self):
            return 4

        def __getitem__(self, i):
            return {"x": np.ones(3) * i, "y": i}

    (batch,) = list(DataLoader(Dicts(), batch_size=4))
    assert set(batch) == {"x", "y"} and batch["x"].shape == (4, 3)
    assert batch["y"].dtype == np.int64
    out = list(DataLoader(Dicts(), batch_size=2, collate_fn=lambda s: len(s), as_tensor=False))
    assert out == [2, 2]


def test_tensor_dataset_accepts_tensors_and_checks_lengths():
    ds = TensorDataset(Tensor(np.zeros((4, 2), np.float32)), np.arange(4))
    assert len(ds) == 4 and isinstance(ds.arrays[0], np.ndarray)
    x, y = ds[2]
    assert x.shape == (2,) and y == 2
    with pytest.raises(ValueError, match="different lengths"):
        TensorDataset(np.zeros(3), np.zeros(4))
    with pytest.raises(ValueError):
        TensorDataset()
    with pytest.raises(ValueError, match="batch_size"):
        DataLoader(ds, batch_size=0)


def test_subset_and_random_split():
    ds = _toy(10)
    parts = data.random_split(ds, [7, 3], seed=0)
    assert [len(p) for p in parts] == [7, 3]
    idx = np.concatenate([p.indices for p in parts])
    np.testing.assert_array_equal(np.sort(idx), np.arange(10))
    sub = Subset(ds, [9, 2, 5])
    (x, y), = list(DataLoader(sub, batch_size=3, as_tensor=False))
    np.testing.assert_array_equal(y, [9, 2, 5])
    assert [len(p) for p in data.random_split(ds, [0.5, 0.5], seed=1)] == [5, 5]
    with pytest.raises(ValueError):
        data.random_split(ds, [4, 4])


# ----------------------------------------------------------------------------------- digits
def test_load_digits_shapes_and_split():
    pytest.importorskip("sklearn")
    xtr, ytr = data.load_digits("train")
    xte, yte = data.load_digits("test")
    assert xtr.dtype == np.float32 and ytr.dtype == np.int64
    assert xtr.shape[1:] == (1, 8, 8) and len(xtr) == len(ytr)
    assert len(xtr) + len(xte) == 1797
    assert 0.0 <= xtr.min() and xtr.max() <= 1.0 and xtr.max() == 1.0
    # stratified: every class is in both splits in about the same proportion
    n_test, n_train = np.bincount(yte, minlength=10), np.bincount(ytr, minlength=10)
    frac = n_test / (n_test + n_train)
    assert np.all(np.abs(frac - 0.2) < 0.01)
    # deterministic for a seed, different for another, and disjoint
    np.testing.assert_array_equal(data.load_digits("test")[1], yte)
    xall, _ = data.load_digits("all")
    flat = {r.tobytes() for r in xall.reshape(len(xall), -1)}
    assert len(flat) > 1700  # (a few digits images are duplicates)
    other = data.load_digits("test", seed=1)[0]
    assert not np.array_equal(other, xte)
    ds = data.Digits("test")
    assert len(ds) == len(xte) and ds[0][0].shape == (1, 8, 8)
    with pytest.raises(ValueError):
        data.load_digits("val")


def test_load_digits_without_sklearn(monkeypatch):
    import builtins
    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name.startswith("sklearn"):
            raise ImportError("no sklearn")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(ImportError, match=r"ndgrad\[train\]"):
        data.load_digits()


# ---------------------------------------------------------------------------------- IDX files
def _idx_bytes(array, magic=None):
    array = np.ascontiguousarray(array, dtype=np.uint8)
    magic = magic if magic is not None else 0x0800 | array.ndim
    dims = np.asarray(array.shape, dtype=">u4").tobytes()
    return magic.to_bytes(4, "big") + dims + array.tobytes()


def _write(path, payload, gz=False):
    path = Path(str(path) + ".gz") if gz else Path(path)
    path.write_bytes(gzip.compress(payload) if gz else payload)
    return path


def _make_mnist(root, n=5, split="train", gz=False, seed=0):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, n, dtype=np.uint8)
    img_name, lbl_name = data.MNIST_FILES[split]
    _write(root / img_name, _idx_bytes(images), gz)
    _write(root / lbl_name, _idx_bytes(labels), gz)
    return images, labels


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("split", ["train", "test"])
def test_load_mnist_raw_and_gz(tmp_path, gz, split):
    images, labels = _make_mnist(tmp_path, n=6, split=split, gz=gz)
    x, y = load_mnist(tmp_path, split)
    assert x.shape == (6, 1, 28, 28) and x.dtype == np.float32
    assert y.shape == (6,) and y.dtype == np.int64
    assert 0.0 <= x.min() and x.max() <= 1.0
    np.testing.assert_allclose(x[:, 0] * 255, images, atol=1e-3)
    np.testing.assert_array_equal(y, labels)
    xn, _ = load_mnist(tmp_path, split, normalize=True)
    np.testing.assert_allclose(xn, (x - data.MNIST_MEAN) / data.MNIST_STD, rtol=1e-5, atol=1e-5)


def test_mnist_dataset_classes(tmp_path):
    _make_mnist(tmp_path, n=4, split="test", gz=True)
    ds = MNIST(tmp_path, train=False)
    assert len(ds) == 4 and ds[0][0].shape == (1, 28, 28)
    assert ds.images.shape == (4, 1, 28, 28) and ds.labels.dtype == np.int64
    fds = FashionMNIST(tmp_path, train=False)
    assert fds.classes[9] == "Ankle boot" and len(fds) == 4
    x, y = next(iter(DataLoader(ds, batch_size=4)))
    assert x.shape == (4, 1, 28, 28) and x.dtype == np.float32 and y.dtype == np.int64


def test_missing_file_names_files_and_directory(tmp_path):
    with pytest.raises(FileNotFoundError) as err:
        load_mnist(tmp_path, "test")
    msg = str(err.value)
    assert "t10k-images-idx3-ubyte" in msg and "t10k-images-idx3-ubyte.gz" in msg
    assert str(tmp_path) in msg
    _make_mnist(tmp_path, split="test")
    os.remove(tmp_path / "t10k-labels-idx1-ubyte")
    with pytest.raises(FileNotFoundError, match="t10k-labels-idx1-ubyte"):
        MNIST(tmp_path, train=False)


def _corrupt(tmp_path, which, payload, gz=False):
    """A good test split with one of its files replaced by ``payload``."""
    _make_mnist(tmp_path, n=5, split="test")
    name = data.MNIST_FILES["test"][0 if which == "images" else 1]
    os.remove(tmp_path / name)
    return _write(tmp_path / name, payload, gz)


def _images(n=5, h=28, w=28):
    return np.zeros((n, h, w), np.uint8)


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("which, payload, pattern", [
    ("images", _idx_bytes(_images(), magic=2049), r"bad magic number 2049 .*expected 2051"),
    ("labels", _idx_bytes(np.zeros(5), magic=2051), r"bad magic number 2051 .*expected 2049"),
    ("images", b"\x12\x34" + _idx_bytes(_images())[2:], r"bad magic number.*not an IDX"),
    ("images", _idx_bytes(_images(), magic=0x0D03), r"data type code 0x0D, expected 0x08"),
    ("images", _idx_bytes(_images())[:-1], r"truncated: header says shape \(5, 28, 28\)"),
    ("images", _idx_bytes(_images())[:10], r"truncated header"),
    ("images", _idx_bytes(_images()) + b"\0", r"trailing bytes"),
    ("labels", _idx_bytes(np.zeros(5))[:-2], r"truncated"),
    ("labels", b"\0\0", r"too short"),
    ("images", _idx_bytes(_images(4)), r"has 4 images but .* has 5 labels"),
    ("labels", _idx_bytes(np.zeros(6)), r"has 5 images but .* has 6 labels"),
    ("images", _idx_bytes(_images(5, 27, 28)), r"wrong image dimensions 27x28, expected 28x28"),
    ("images", _idx_bytes(np.zeros((5, 784))), r"2 dimensions, expected 3"),
    ("labels", _idx_bytes(np.full(5, 10)), r"label 10 out of range"),
])
def test_malformed_idx_files(tmp_path, which, payload, pattern, gz):
    path = _corrupt(tmp_path, which, payload, gz)
    with pytest.raises(ValueError, match=pattern) as err:
        load_mnist(tmp_path, "test")
    if "images but" not in pattern:
        assert path.name in str(err.value)  # the message names the bad file


def test_corrupt_gzip(tmp_path):
    good = gzip.compress(_idx_bytes(_images()))
    path = _corrupt(tmp_path, "images", good[: len(good) // 2])
    path.rename(path.with_name(path.name + ".gz"))
    with pytest.raises(ValueError, match="gzip"):
        load_mnist(tmp_path, "test")


def test_read_idx_generic(tmp_path):
    arr = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    path = _write(tmp_path / "a.idx", _idx_bytes(arr), gz=True)
    np.testing.assert_array_equal(read_idx(path), arr)
    floats = np.arange(3, dtype=">f4")
    raw = (0x0D01).to_bytes(4, "big") + (3).to_bytes(4, "big") + floats.tobytes()
    np.testing.assert_array_equal(read_idx(_write(tmp_path / "f.idx", raw)), [0, 1, 2])


# ----------------------------------------------------------------------------------- download
@contextlib.contextmanager
def _serve(directory, max_seconds=30):
    """An HTTP server on 127.0.0.1 serving ``directory`` from a thread; always stopped."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    watchdog = threading.Timer(max_seconds, server.shutdown)  # stops by itself if a test hangs
    watchdog.daemon = True
    thread.start()
    watchdog.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        watchdog.cancel()
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def no_proxy(monkeypatch):
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("no_proxy", "*")
    monkeypatch.setenv("NO_PROXY", "*")


def _sha(payload):
    return hashlib.sha256(payload).hexdigest()


def test_download_file_good_and_bad_checksum(tmp_path, no_proxy):
    site, dest = tmp_path / "site", tmp_path / "cache"
    site.mkdir()
    payload = os.urandom(3000)
    (site / "blob.bin").write_bytes(payload)
    with _serve(site) as url:
        path = download_file(url + "blob.bin", dest, sha256=_sha(payload))
        assert path == dest / "blob.bin" and path.read_bytes() == payload
        # already there with the right checksum: not fetched again
        (site / "blob.bin").unlink()
        assert download_file(url + "blob.bin", dest, sha256=_sha(payload).upper()) == path

        (site / "other.bin").write_bytes(b"tampered")
        with pytest.raises(ChecksumError, match="SHA-256 mismatch"):
            download_file(url + "other.bin", dest, sha256=_sha(b"original"))
        assert not (dest / "other.bin").exists()
        assert sorted(p.name for p in dest.iterdir()) == ["blob.bin"]  # no temp file left

        with pytest.raises(OSError):  # urllib's HTTPError (404)
            download_file(url + "missing.bin", dest)
        assert sorted(p.name for p in dest.iterdir()) == ["blob.bin"]

        # no checksum: downloaded as is, into a directory that did not exist yet
        fresh = download_file(url + "other.bin", tmp_path / "new" / "dir")
        assert fresh.read_bytes() == b"tampered"


def _site_with_mnist(site, with_sums=True):
    site.mkdir()
    _make_mnist(site, n=3, split="train", gz=True, seed=1)
    images, labels = _make_mnist(site, n=2, split="test", gz=True, seed=2)
    if with_sums:
        lines = [f"{_sha(p.read_bytes())}  {p.name}" for p in sorted(site.glob("*.gz"))]
        (site / "SHA256SUMS").write_text("\n".join(lines) + "\n")
    return images, labels


def test_mnist_download_with_sha256sums(tmp_path, no_proxy):
    images, labels = _site_with_mnist(tmp_path / "site")
    root = tmp_path / "cache"
    with _serve(tmp_path / "site") as url:
        ds = MNIST(root, train=False, download=True, url=url)
    assert len(ds) == 2
    np.testing.assert_array_equal(ds.labels, labels)
    assert sorted(p.name for p in root.iterdir()) == ["t10k-images-idx3-ubyte.gz",
                                                      "t10k-labels-idx1-ubyte.gz"]
    # present now: no url needed, nothing fetched
    assert len(MNIST(root, train=False, download=True)) == 2


def test_mnist_download_bad_checksum_and_missing_url(tmp_path, no_proxy):
    _site_with_mnist(tmp_path / "site")
    sums = (tmp_path / "site" / "SHA256SUMS").read_text().replace(
        _sha((tmp_path / "site" / "train-labels-idx1-ubyte.gz").read_bytes()), "0" * 64)
    (tmp_path / "site" / "SHA256SUMS").write_text(sums)
    root = tmp_path / "cache"
    with _serve(tmp_path / "site") as url:
        with pytest.raises(ChecksumError, match="train-labels-idx1-ubyte.gz"):
            MNIST(root, train=True, download=True, url=url)
        assert not (root / "train-labels-idx1-ubyte.gz").exists()
        # explicit checksums take precedence over SHA256SUMS
        good = {p.name: _sha(p.read_bytes()) for p in (tmp_path / "site").glob("*.gz")}
        assert download_mnist(url, root, checksums=good) == root
    assert len(list(root.glob("*.gz"))) == 4
    with pytest.raises(ValueError, match="no url"):
        MNIST(tmp_path / "empty", download=True)


def test_mnist_download_without_sha256sums_warns(tmp_path, no_proxy):
    _site_with_mnist(tmp_path / "site", with_sums=False)
    with _serve(tmp_path / "site") as url:
        with pytest.warns(UserWarning, match="without verification"):
            path = download_mnist(url.rstrip("/"), tmp_path / "c", kind="fashion-mnist",
                                  splits=("test",))
    assert len(load_mnist(path, "test", kind="fashion-mnist")[0]) == 2


def test_default_cache_dir(monkeypatch, tmp_path):
    monkeypatch.delenv("NDGRAD_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert data.default_cache_dir() == tmp_path / "ndgrad"
    monkeypatch.setenv("NDGRAD_CACHE", str(tmp_path / "x"))
    assert data.default_cache_dir() == tmp_path / "x"
    import inspect
    assert inspect.signature(MNIST).parameters["url"].default is None  # no built-in mirror


# ------------------------------------------------------------------------------ real data
REAL = {"mnist": Path(os.environ.get("NDGRAD_MNIST_DIR", "/work/shared/data/mnist")),
        "fashion-mnist": Path(os.environ.get("NDGRAD_FASHION_MNIST_DIR",
                                             "/work/shared/data/fashion-mnist"))}


def _need(kind):
    if not (REAL[kind] / "t10k-images-idx3-ubyte.gz").exists() and \
            not (REAL[kind] / "t10k-images-idx3-ubyte").exists():
        pytest.skip(f"real {kind} files not found in {REAL[kind]} (set NDGRAD_MNIST_DIR / "
                    f"NDGRAD_FASHION_MNIST_DIR)")


def test_real_mnist():
    _need("mnist")
    x, y = load_mnist(REAL["mnist"], "test")
    assert x.shape == (10000, 1, 28, 28) and x.dtype == np.float32
    np.testing.assert_array_equal(np.bincount(y), [980, 1135, 1032, 1010, 982, 892, 958, 1028,
                                                   974, 1009])
    assert abs(float(x.mean()) - 0.1325) < 1e-3
    xtr, ytr = load_mnist(REAL["mnist"], "train")
    assert xtr.shape == (60000, 1, 28, 28)
    np.testing.assert_array_equal(ytr[:10], [5, 0, 4, 1, 9, 2, 1, 3, 1, 4])
    assert abs(float(xtr.mean()) - data.MNIST_MEAN) < 1e-4
    assert abs(float(xtr.std()) - data.MNIST_STD) < 1e-4


def test_real_fashion_mnist():
    _need("fashion-mnist")
    ds = FashionMNIST(REAL["fashion-mnist"], train=False)
    assert len(ds) == 10000
    np.testing.assert_array_equal(np.bincount(ds.labels), [1000] * 10)
    assert abs(float(ds.images.mean()) - 0.2868) < 2e-3
