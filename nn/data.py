"""Datasets and a DataLoader, in the style of ``torch.utils.data`` and ``torchvision.datasets``.

* ``Dataset``: anything with ``__getitem__`` and ``__len__``. ``ArrayDataset`` (alias
  ``TensorDataset``) wraps equal-length arrays and can hand out a whole batch with one fancy
  index (``__getitems__``), which is the ``DataLoader``'s fast path.
* ``DataLoader`` (nn/dataloader.py): batches, samplers (nn/samplers.py), seeded per-epoch
  shuffling, worker processes; yields ``autograd.Tensor``. ``IterableDataset``,
  ``ConcatDataset``, ``ChainDataset``.
* Data: ``load_digits`` (scikit-learn's bundled 8x8 digits), ``load_mnist`` / ``MNIST`` /
  ``FashionMNIST`` (the original IDX files, raw or ``.gz``), ``download_file`` (urllib,
  SHA-256 checked, atomic). Loaders return NumPy arrays: images float32 ``(N, 1, H, W)`` in
  [0, 1], labels int64.
"""
import gzip
import hashlib
import math
import os
import tempfile
import urllib.parse
import urllib.request
import warnings
import zlib
from pathlib import Path

import numpy as np

__all__ = [
    "Dataset", "ArrayDataset", "TensorDataset", "Subset", "random_split", "DataLoader",
    "default_collate", "load_digits", "Digits", "read_idx", "load_mnist", "MNIST", "FashionMNIST",
    "download_file", "download_mnist", "default_cache_dir", "ChecksumError",
    "IterableDataset", "ConcatDataset", "ChainDataset", "get_worker_info", "default_convert",
    "Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler",
    "WeightedRandomSampler", "BatchSampler",
    "MNIST_MEAN", "MNIST_STD", "FASHION_MNIST_MEAN", "FASHION_MNIST_STD",
    "MNIST_CLASSES", "FASHION_MNIST_CLASSES", "MNIST_FILES",
]

# Mean and std of the training pixels scaled to [0, 1] (the usual Normalize constants).
MNIST_MEAN, MNIST_STD = 0.1307, 0.3081
FASHION_MNIST_MEAN, FASHION_MNIST_STD = 0.2860, 0.3530
MNIST_CLASSES = [str(d) for d in range(10)]
FASHION_MNIST_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                         "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
_STATS = {"mnist": (MNIST_MEAN, MNIST_STD),
          "fashion-mnist": (FASHION_MNIST_MEAN, FASHION_MNIST_STD)}

# split -> (images file, labels file); the same names for MNIST and Fashion-MNIST.
MNIST_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def _tensor_class():
    # Imported on use so that this module imports even without the autograd core.
    from autograd import Tensor
    return Tensor


def _as_array(x):
    """A NumPy array from an ndarray, a Tensor (its ``.data``) or anything array-like."""
    data = getattr(x, "data", None)
    return data if isinstance(data, np.ndarray) else np.asarray(x)


# ---------------------------------------------------------------------------------- datasets
class Dataset:
    """Base class: a sized collection indexed by ``0 <= i < len(self)``."""

    def __getitem__(self, index):
        raise NotImplementedError(f"Dataset is abstract: {type(self).__name__} must implement __getitem__")

    def __len__(self):
        raise NotImplementedError(f"Dataset is abstract: {type(self).__name__} must implement __len__")


class ArrayDataset(Dataset):
    """Equal-length arrays indexed together along the first axis.

    ``ds[i]`` is a tuple ``(a[i], b[i], ...)``; ``ds.__getitems__(idx)`` gathers a whole batch
    with one fancy index per array. Tensors are accepted and stored as their NumPy data.
    """

    def __init__(self, *arrays):
        if not arrays:
            raise ValueError(f"{type(self).__name__} needs at least one array")
        arrays = tuple(_as_array(a) for a in arrays)
        if any(a.ndim == 0 for a in arrays):
            raise ValueError(f"{type(self).__name__}: arrays must have a first (sample) axis")
        lengths = {len(a) for a in arrays}
        if len(lengths) != 1:
            raise ValueError(f"{type(self).__name__}: arrays have different lengths "
                             f"{[len(a) for a in arrays]}")
        self.arrays = arrays

    def __len__(self):
        return len(self.arrays[0])

    def __getitem__(self, index):
        return tuple(a[index] for a in self.arrays)

    def __getitems__(self, indices):
        """A batch: one fancy index per array (``indices`` is an integer array)."""
        return tuple(a[indices] for a in self.arrays)

    def __repr__(self):
        shapes = ", ".join(f"{a.dtype}{list(a.shape)}" for a in self.arrays)
        return f"{type(self).__name__}({shapes})"


class TensorDataset(ArrayDataset):
    """``ArrayDataset`` whose samples are ``autograd.Tensor``s (as ``torch``'s
    TensorDataset): ``ds[i] == (Tensor(a[i]), Tensor(b[i]), ...)``. Batches still come
    from one fancy index per array."""

    def __getitem__(self, index):
        Tensor = _tensor_class()
        return tuple(Tensor(np.asarray(a[index])) for a in self.arrays)


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices`` (keeps the batched fast path)."""

    def __init__(self, dataset, indices):
        self.dataset = dataset
        self.indices = np.asarray(indices, dtype=np.int64).reshape(-1)

    def __len__(self):
        return len(self.indices)

    def __getitem__(self, index):
        return self.dataset[int(self.indices[index])]

    def __getitems__(self, indices):
        return _fetch(self.dataset, self.indices[indices])


def random_split(dataset, lengths, generator=None, seed=None):
    """Split ``dataset`` into non-overlapping ``Subset``s of the given lengths (or fractions).
    The permutation comes from ``generator`` (an ``autograd.Generator``, a NumPy Generator
    or an int) or ``seed``, else from autograd's default stream (``manual_seed``)."""
    n = len(dataset)
    lengths = list(lengths)
    if lengths and all(isinstance(x, float) for x in lengths) and math.isclose(sum(lengths), 1.0):
        counts = [int(math.floor(n * f)) for f in lengths]
        for i in range(n - sum(counts)):  # hand the remainder out round-robin, like torch
            counts[i % len(counts)] += 1
        lengths = counts
    if sum(lengths) != n:
        raise ValueError(f"random_split: lengths {lengths} sum to {sum(lengths)}, dataset has {n}")
    from .samplers import _epoch_rng
    perm = _epoch_rng(generator if generator is not None else seed).permutation(n)
    bounds = np.cumsum([0] + lengths)
    return [Subset(dataset, perm[a:b]) for a, b in zip(bounds[:-1], bounds[1:])]


# -------------------------------------------------------------------------------- DataLoader
def _collate_arrays(samples):
    """Stack a list of samples (arrays, numbers, Tensors, or tuples/dicts of them) into a
    batch of NumPy arrays."""
    first = samples[0]
    if isinstance(first, dict):
        return {k: _collate_arrays([s[k] for s in samples]) for k in first}
    if isinstance(first, (tuple, list)):
        return tuple(_collate_arrays(list(field)) for field in zip(*samples))
    return np.stack([_as_array(s) for s in samples])


def default_collate(samples):
    """Stack a list of samples (arrays, numbers, Tensors, or tuples/dicts of them) into a
    batch of ``autograd.Tensor`` (integers as int64), as ``torch``'s ``default_collate``
    (for use inside a custom ``collate_fn``)."""
    return _convert(_collate_arrays(samples), True)


def _fetch(dataset, indices):
    """The batch at ``indices``: one batched call when the dataset supports it, else a loop."""
    getitems = getattr(dataset, "__getitems__", None)
    if getitems is not None:
        return getitems(indices)
    return _collate_arrays([dataset[int(i)] for i in indices])


def _to_tensor(x):
    """Batch field -> Tensor: integers become int64, floats and bools keep their dtype."""
    Tensor = _tensor_class()
    if isinstance(x, Tensor):
        return x
    x = np.asarray(x)
    if x.dtype.kind in "iu" and x.dtype != np.int64:
        x = x.astype(np.int64)
    return Tensor(x)


def _convert(batch, as_tensor):
    if isinstance(batch, dict):
        return {k: _convert(v, as_tensor) for k, v in batch.items()}
    if isinstance(batch, (tuple, list)):
        return tuple(_convert(v, as_tensor) for v in batch)
    return _to_tensor(batch) if as_tensor else batch


# ------------------------------------------------------------------------------------ digits
def _stratified_split(labels, test_fraction, seed):
    """Boolean test mask: ``round(test_fraction * count)`` random samples of each class."""
    rng = np.random.default_rng(seed)
    perm = rng.permutation(len(labels))
    by_class = perm[np.argsort(labels[perm], kind="stable")]  # shuffled within each class
    classes, counts = np.unique(labels, return_counts=True)
    starts = np.cumsum(counts) - counts
    rank = np.arange(len(labels)) - np.repeat(starts, counts)  # position within its class
    n_test = np.rint(counts * test_fraction).astype(np.int64)
    mask = np.zeros(len(labels), dtype=bool)
    mask[by_class[rank < np.repeat(n_test, counts)]] = True
    return mask


def load_digits(split="train", test_fraction=0.2, seed=0):
    """scikit-learn's bundled 8x8 digits: ``(images float32 (N, 1, 8, 8) in [0, 1], labels int64)``.

    The train/test split is stratified by class and fixed by ``seed``; ``split="all"`` returns
    all 1797 samples in their original order.
    """
    try:
        from sklearn.datasets import load_digits as _sk_load_digits
    except ImportError as e:
        raise ImportError("load_digits needs scikit-learn: pip install ndgrad[train] "
                          "(or pip install scikit-learn)") from e
    if split not in ("train", "test", "all"):
        raise ValueError(f"split must be 'train', 'test' or 'all', got {split!r}")
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction!r}")
    bunch = _sk_load_digits()
    images = (bunch.images.astype(np.float32) / 16.0).reshape(-1, 1, 8, 8)
    labels = bunch.target.astype(np.int64)
    if split == "all":
        return images, labels
    test = _stratified_split(labels, test_fraction, seed)
    keep = test if split == "test" else ~test
    return images[keep], labels[keep]


class Digits(ArrayDataset):
    """``load_digits`` as a Dataset: ``ds[i] == (image (1, 8, 8), label)``."""

    classes = [str(d) for d in range(10)]

    def __init__(self, split="train", test_fraction=0.2, seed=0):
        super().__init__(*load_digits(split, test_fraction, seed))
        self.split = split

    @property
    def images(self):
        return self.arrays[0]

    @property
    def labels(self):
        return self.arrays[1]


# --------------------------------------------------------------------------------- IDX files
_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def _find(root, name):
    """``root/name`` or ``root/name.gz``, else FileNotFoundError naming both and the directory."""
    root = Path(root).expanduser()
    for candidate in (root / name, root / (name + ".gz")):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"neither {name!r} nor {name + '.gz'!r} found in directory "
                            f"{str(root)!r}")


def _read_bytes(path):
    """The file's bytes, gunzipped when it starts with the gzip magic (whatever its name)."""
    path = Path(path)
    with open(path, "rb") as f:
        gzipped = f.read(2) == b"\x1f\x8b"
    if not gzipped:
        return path.read_bytes()
    try:
        with gzip.open(path, "rb") as f:
            return f.read()
    except (OSError, EOFError, zlib.error) as e:
        raise ValueError(f"{path}: corrupt or truncated gzip data ({e})") from e


def read_idx(path, magic=None):
    """Read an IDX file (raw or gzipped) into a NumPy array, checking its header and size.

    ``magic`` (2051 for images, 2049 for labels) is the expected first big-endian word:
    two zero bytes, the data type code (0x08 = unsigned byte) and the number of dimensions.
    """
    path = Path(path)
    raw = _read_bytes(path)
    if len(raw) < 4:
        raise ValueError(f"{path}: too short for an IDX header ({len(raw)} bytes)")
    word = int.from_bytes(raw[:4], "big")
    zero, code, ndim = int.from_bytes(raw[:2], "big"), raw[2], raw[3]
    if zero != 0 or code not in _IDX_DTYPES:
        want = f", expected {magic} (0x{magic:08X})" if magic is not None else ""
        raise ValueError(f"{path}: bad magic number {word} (0x{word:08X}){want}; "
                         f"not an IDX file")
    if magic is not None and word != magic:
        want_code, want_ndim = (magic >> 8) & 0xFF, magic & 0xFF
        if code != want_code:
            problem = f"data type code 0x{code:02X}, expected 0x{want_code:02X}"
        else:
            problem = f"{ndim} dimensions, expected {want_ndim}"
        raise ValueError(f"{path}: bad magic number {word} (0x{word:08X}), expected {magic} "
                         f"(0x{magic:08X}): {problem}")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{path}: truncated header: {ndim} dimensions need {header} bytes, "
                         f"file has {len(raw)}")
    dims = tuple(int(d) for d in np.frombuffer(raw, ">u4", count=ndim, offset=4))
    dtype = np.dtype(_IDX_DTYPES[code])
    expected = header + math.prod(dims) * dtype.itemsize
    if len(raw) != expected:
        what = "truncated" if len(raw) < expected else "has trailing bytes"
        raise ValueError(f"{path}: {what}: header says shape {dims} of {dtype.name} "
                         f"({expected} bytes with the header), file has {len(raw)} bytes")
    return np.frombuffer(raw, dtype, offset=header).reshape(dims)


def _read_images(path, image_shape=(28, 28)):
    images = read_idx(path, magic=2051)  # magic 2051: unsigned bytes, 3 dimensions
    if images.shape[1:] != tuple(image_shape):
        raise ValueError(f"{path}: wrong image dimensions {images.shape[1]}x{images.shape[2]}, "
                         f"expected {image_shape[0]}x{image_shape[1]}")
    return images


def _read_labels(path, num_classes=10):
    labels = read_idx(path, magic=2049)  # magic 2049: unsigned bytes, 1 dimension
    if labels.size and labels.max() >= num_classes:
        raise ValueError(f"{path}: label {int(labels.max())} out of range 0..{num_classes - 1}")
    return labels


def _check_kind(kind):
    if kind not in _STATS:
        raise ValueError(f"kind must be one of {sorted(_STATS)}, got {kind!r}")


def load_mnist(root, split="train", kind="mnist", normalize=False):
    """MNIST or Fashion-MNIST from the original IDX files in directory ``root``.

    Reads ``train-images-idx3-ubyte`` / ``train-labels-idx1-ubyte`` (``split="train"``) or the
    ``t10k-*`` pair (``split="test"``), each raw or ``.gz``. Returns ``(images, labels)``:
    float32 ``(N, 1, 28, 28)`` in [0, 1] (or standardized with the dataset's mean/std when
    ``normalize=True``) and int64 ``(N,)``.
    """
    _check_kind(kind)
    if split not in MNIST_FILES:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    image_name, label_name = MNIST_FILES[split]
    image_path, label_path = _find(root, image_name), _find(root, label_name)
    images, labels = _read_images(image_path), _read_labels(label_path)
    if len(images) != len(labels):
        raise ValueError(f"{image_path} has {len(images)} images but {label_path} has "
                         f"{len(labels)} labels")
    x = images.reshape(-1, 1, 28, 28).astype(np.float32)
    x *= np.float32(1 / 255)
    if normalize:
        mean, std = _STATS[kind]
        x -= np.float32(mean)
        x /= np.float32(std)
    return x, labels.astype(np.int64)


def default_cache_dir():
    """``$NDGRAD_CACHE``, else ``$XDG_CACHE_HOME/ndgrad``, else ``~/.cache/ndgrad``."""
    if os.environ.get("NDGRAD_CACHE"):
        return Path(os.environ["NDGRAD_CACHE"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "ndgrad"


class MNIST(ArrayDataset):
    """MNIST as a Dataset, like ``torchvision.datasets.MNIST``: ``ds[i] == (image, label)``.

    ``root`` is the directory holding the IDX files (default: ``default_cache_dir()/mnist``).
    With ``download=True`` missing files are fetched from ``url`` (a base URL you provide, no
    default mirror is built in), verified against ``checksums`` (``{file name: sha256}``) or a
    ``SHA256SUMS`` file next to them.
    """

    kind = "mnist"
    classes = MNIST_CLASSES

    def __init__(self, root=None, train=True, download=False, url=None, checksums=None,
                 normalize=False):
        self.root = Path(root).expanduser() if root is not None else default_cache_dir() / self.kind
        self.train = train
        split = "train" if train else "test"
        if download:
            download_mnist(url, self.root, splits=(split,), checksums=checksums)
        super().__init__(*load_mnist(self.root, split, self.kind, normalize))

    @property
    def images(self):
        return self.arrays[0]

    @property
    def labels(self):
        return self.arrays[1]

    def __repr__(self):
        split = "train" if self.train else "test"
        return f"{type(self).__name__}(root={str(self.root)!r}, split={split!r}, n={len(self)})"


class FashionMNIST(MNIST):
    """Fashion-MNIST (same files and layout as MNIST; default root ``.../fashion-mnist``)."""

    kind = "fashion-mnist"
    classes = FASHION_MNIST_CLASSES


# ---------------------------------------------------------------------------------- download
class ChecksumError(ValueError):
    """A downloaded file's SHA-256 differs from the expected one."""


def _sha256(path, chunk=1 << 20):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


def download_file(url, dest_dir=None, sha256=None, filename=None, timeout=60.0):
    """Download ``url`` into ``dest_dir`` (default ``default_cache_dir()``); return the path.

    The data goes to a temporary file in ``dest_dir`` that is renamed into place only once
    complete and (when ``sha256`` is given) verified; on a mismatch it is deleted and
    ``ChecksumError`` is raised. An existing file with the right checksum is not fetched again.
    """
    dest_dir = Path(dest_dir).expanduser() if dest_dir is not None else default_cache_dir()
    name = filename or Path(urllib.parse.urlparse(url).path).name
    if not name:
        raise ValueError(f"cannot infer a file name from {url!r}; pass filename=")
    dest = dest_dir / name
    expected = sha256.lower() if sha256 else None
    if dest.is_file() and (expected is None or _sha256(dest) == expected):
        return dest
    dest_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest_dir, prefix=f".{name}.", suffix=".part")
    try:
        h = hashlib.sha256()
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as resp:
            for block in iter(lambda: resp.read(1 << 20), b""):
                h.update(block)
                out.write(block)
        if expected is not None and h.hexdigest() != expected:
            raise ChecksumError(f"SHA-256 mismatch for {url}: expected {expected}, got "
                                f"{h.hexdigest()}; the download was discarded")
        os.replace(tmp, dest)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return dest


def _parse_sha256sums(text):
    """``{file name: sha256}`` from ``sha256sum`` output (``<hex>  [*]<name>`` lines)."""
    sums = {}
    for line in text.splitlines():
        parts = line.strip().split(None, 1)
        if len(parts) == 2:
            sums[parts[1].lstrip("*").strip()] = parts[0].lower()
    return sums


def download_mnist(url, root=None, kind="mnist", splits=("train", "test"), checksums=None,
                   timeout=60.0):
    """Fetch the gzipped IDX files of ``splits`` from base ``url`` into ``root`` if missing.

    ``root`` defaults to ``default_cache_dir()/kind``. ``checksums`` maps file names to SHA-256;
    when omitted, ``url/SHA256SUMS`` is tried and used if the server has it (otherwise a
    warning says the files are unverified). Returns ``root``.
    """
    _check_kind(kind)
    root = Path(root).expanduser() if root is not None else default_cache_dir() / kind
    names = [n for s in splits for n in MNIST_FILES[s]]

    def present(n):
        return (root / n).is_file() or (root / (n + ".gz")).is_file()

    missing = [n + ".gz" for n in names if not present(n)]
    if not missing:
        return root
    if not url:
        raise ValueError(f"{', '.join(missing)} missing in {str(root)!r} and no url= given to "
                         f"download from (no default mirror is built in)")
    base = url if url.endswith("/") else url + "/"
    if checksums is None:
        try:
            with urllib.request.urlopen(base + "SHA256SUMS", timeout=timeout) as resp:
                checksums = _parse_sha256sums(resp.read().decode("utf-8", "replace"))
        except OSError:  # urllib.error.URLError / HTTPError are OSErrors
            checksums = {}
            warnings.warn(f"no SHA256SUMS at {base}; downloading {kind} without verification",
                          stacklevel=2)
    for name in missing:
        download_file(base + name, root, sha256=checksums.get(name), timeout=timeout)
    return root


# The loader and samplers live in their own modules (they import the helpers above).
from .dataloader import (DataLoader, IterableDataset, ConcatDataset, ChainDataset,  # noqa: E402
                         get_worker_info, default_convert)
from .samplers import (Sampler, SequentialSampler, RandomSampler,  # noqa: E402
                       SubsetRandomSampler, WeightedRandomSampler, BatchSampler)
