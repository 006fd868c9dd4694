"""Data loading misuse (issue 9, section 6, and the DataLoader arguments of issue 11):
``batch_size=None`` means no batching, bad batch sizes are refused naming ``batch_size``,
a custom ``collate_fn``'s result comes back unchanged, and the sampler / worker / dataset
arguments fail as in PyTorch. Each case runs on ndgrad and, when importable, on PyTorch
(``torch.utils.data``)."""
import numpy as np
import pytest

from errcases import Case, check_ndgrad, check_torch, params


def D(L):
    if L.name == "torch":
        import torch.utils.data as data
        return data
    import nn.data as data
    return data


def ds(L, n=5):
    return D(L).TensorDataset(L.A.arange(float(n)))


def loader(L, n=5, **kw):
    return D(L).DataLoader(ds(L, n), **kw)


def stream(L):
    class Stream(D(L).IterableDataset):
        def __iter__(self):
            return iter(range(4))
    return Stream()


def failing(L, exc):
    class Failing(D(L).Dataset):
        def __len__(self):
            return 4

        def __getitem__(self, i):
            if i == 2:
                raise exc("sample 2 is broken")
            return np.float32(i)
    return Failing()


def raise_in_init(worker_id):
    raise ValueError(f"worker {worker_id} could not start")


BPOS = r"batch_size should be a positive integer value, but got batch_size="

BATCH_SIZE = [
    Case("batch_size-True", lambda L: loader(L, batch_size=True),
         raises=(ValueError, BPOS + "True")),
    Case("batch_size-False", lambda L: loader(L, batch_size=False),
         raises=(ValueError, BPOS + "False")),
    Case("batch_size-nan", lambda L: loader(L, batch_size=float("nan")),
         raises=(ValueError, BPOS + "nan")),
    Case("batch_size-inf", lambda L: loader(L, batch_size=float("inf")),
         raises=(ValueError, BPOS + "inf")),
    Case("batch_size-0", lambda L: loader(L, batch_size=0), raises=(ValueError, BPOS + "0")),
    Case("batch_size-negative", lambda L: loader(L, batch_size=-2),
         raises=(ValueError, BPOS + "-2")),
    Case("batch_size-float", lambda L: loader(L, batch_size=2.0),
         raises=(ValueError, BPOS + "2.0")),
    Case("batch_size-str", lambda L: loader(L, batch_size="4"),
         raises=(ValueError, BPOS + "'4'")),
    Case("batch_size-None-unbatched", lambda L: next(iter(loader(L, batch_size=None))),
         value=([0.0], "float32")),
    Case("batch_size-None-len", lambda L: len(loader(L, batch_size=None)), value=(5, None)),
    Case("batch_size-None-count", lambda L: len(list(loader(L, batch_size=None))),
         value=(5, None)),
    Case("batch_size-None-drop_last", lambda L: loader(L, batch_size=None, drop_last=True),
         raises=(ValueError, "batch_size=None option disables auto-batching and is mutually "
                             "exclusive with drop_last")),
    Case("batch_size-None-iterable", lambda L: list(D(L).DataLoader(stream(L),
                                                                     batch_size=None)),
         value=([0, 1, 2, 3], None)),
]

COLLATE = [
    Case("collate-str-unchanged", lambda L: list(loader(L, batch_size=2,
                                                        collate_fn=lambda b: f"{len(b)}")),
         value=(["2", "2", "1"], None)),
    Case("collate-ndarray-unchanged",
         lambda L: type(next(iter(loader(L, batch_size=2,
                                         collate_fn=lambda b: np.zeros(3))))).__name__,
         value=("ndarray", None)),
    Case("collate-list-unchanged",
         lambda L: next(iter(loader(L, batch_size=3, collate_fn=lambda b: [len(b), "x"]))),
         value=([3, "x"], None)),
    Case("collate-none-per-sample",
         lambda L: next(iter(loader(L, batch_size=None, collate_fn=lambda s: "sample"))),
         value=("sample", None)),
]

ARGS = [
    Case("batch_sampler-with-batch_size",
         lambda L: D(L).DataLoader(ds(L), batch_size=2, batch_sampler=[[0, 1]]),
         raises=(ValueError, "batch_sampler option is mutually exclusive with batch_size, "
                             "shuffle, sampler, and drop_last")),
    Case("batch_sampler-with-shuffle",
         lambda L: D(L).DataLoader(ds(L), shuffle=True, batch_sampler=[[0, 1]]),
         raises=(ValueError, "batch_sampler option is mutually exclusive")),
    Case("sampler-with-shuffle",
         lambda L: D(L).DataLoader(ds(L), shuffle=True, sampler=[0, 1]),
         raises=(ValueError, "sampler option is mutually exclusive with shuffle")),
    Case("num_workers-negative", lambda L: loader(L, num_workers=-1),
         raises=(ValueError, "num_workers option should be non-negative")),
    Case("timeout-negative", lambda L: loader(L, timeout=-1),
         raises=(ValueError, "timeout option should be non-negative")),
    Case("prefetch-without-workers", lambda L: loader(L, prefetch_factor=2),
         raises=(ValueError, "prefetch_factor option could only be specified in "
                             "multiprocessing")),
    Case("persistent-without-workers", lambda L: loader(L, persistent_workers=True),
         raises=(ValueError, "persistent_workers option needs num_workers > 0")),
    Case("iterable-shuffle", lambda L: D(L).DataLoader(stream(L), shuffle=True),
         raises=(ValueError, "DataLoader with IterableDataset: expected unspecified shuffle "
                             "option, but got shuffle=True")),
    Case("iterable-sampler", lambda L: D(L).DataLoader(stream(L), sampler=[0]),
         raises=(ValueError, "expected unspecified sampler option")),
    Case("iterable-no-len", lambda L: len(D(L).DataLoader(stream(L))),
         raises=(TypeError, "has no len")),
    Case("batch_sampler-list", lambda L: len(list(D(L).DataLoader(ds(L),
                                                                  batch_sampler=[[4, 0], [2]]))),
         value=(2, None)),
]

SAMPLERS = [
    Case("BatchSampler-zero", lambda L: D(L).BatchSampler(range(4), 0, False),
         raises=(ValueError, BPOS + "0")),
    Case("BatchSampler-bool", lambda L: D(L).BatchSampler(range(4), True, False),
         raises=(ValueError, BPOS + "True")),
    Case("BatchSampler-drop_last", lambda L: D(L).BatchSampler(range(4), 2, "no"),
         raises=(ValueError, "drop_last should be a boolean value, but got drop_last=no")),
    Case("BatchSampler-batches", lambda L: list(D(L).BatchSampler(range(5), 2, False)),
         value=([[0, 1], [2, 3], [4]], None)),
    Case("BatchSampler-drop", lambda L: list(D(L).BatchSampler(range(5), 2, True)),
         value=([[0, 1], [2, 3]], None)),
    Case("RandomSampler-num_samples-0", lambda L: D(L).RandomSampler(ds(L), num_samples=0),
         raises=(ValueError, "num_samples should be a positive integer value, but got "
                             "num_samples=0")),
    Case("shuffle-empty-dataset", lambda L: loader(L, n=0, shuffle=True),
         raises=(ValueError, "num_samples should be a positive integer value, but got "
                             "num_samples=0")),
    Case("RandomSampler-replacement-int", lambda L: D(L).RandomSampler(ds(L), replacement=1),
         raises=(TypeError, "replacement should be a boolean value")),
    Case("RandomSampler-len", lambda L: len(D(L).RandomSampler(ds(L), num_samples=12)),
         value=(12, None)),
    Case("Weighted-num_samples", lambda L: D(L).WeightedRandomSampler([1.0, 2.0], -1),
         raises=(ValueError, "num_samples should be a positive integer value")),
    Case("Weighted-2d", lambda L: D(L).WeightedRandomSampler([[1.0], [2.0]], 2),
         raises=(ValueError, "weights should be a 1d sequence")),
    Case("Weighted-replacement", lambda L: D(L).WeightedRandomSampler([1.0], 2, "yes"),
         raises=(ValueError, "replacement should be a boolean value")),
    Case("Weighted-zero-weight-never-drawn",
         lambda L: sorted(set(D(L).WeightedRandomSampler([0.0, 1.0, 0.0, 3.0], 50))),
         value=([1, 3], None)),
    Case("SubsetRandomSampler-elements",
         lambda L: sorted(D(L).SubsetRandomSampler([7, 3, 5])), value=([3, 5, 7], None)),
    Case("SequentialSampler", lambda L: list(D(L).SequentialSampler(ds(L, 3))),
         value=([0, 1, 2], None)),
]

DATASETS = [
    Case("ConcatDataset-empty", lambda L: D(L).ConcatDataset([]),
         raises=(AssertionError, "datasets should not be an empty iterable")),
    Case("ConcatDataset-iterable", lambda L: D(L).ConcatDataset([stream(L)]),
         raises=(AssertionError, "does not support IterableDataset")),
    Case("ConcatDataset-negative-index", lambda L: D(L).ConcatDataset([ds(L, 2)])[-3],
         raises=(ValueError, "absolute value of index should not exceed dataset length")),
    Case("ConcatDataset-index", lambda L: D(L).ConcatDataset([ds(L, 2), ds(L, 3)])[3],
         value=([1.0], "float32")),
    Case("ConcatDataset-len", lambda L: len(ds(L, 2) + ds(L, 3)), value=(5, None)),
    Case("ConcatDataset-negative", lambda L: D(L).ConcatDataset([ds(L, 2), ds(L, 3)])[-1],
         value=([2.0], "float32")),
]

WORKERS = [
    Case("worker-exception-type", lambda L: list(D(L).DataLoader(failing(L, KeyError),
                                                                 num_workers=1)),
         raises=(KeyError, "Caught KeyError in DataLoader worker process 0")),
    Case("worker-init-fn-exception",
         lambda L: list(loader(L, num_workers=1, worker_init_fn=raise_in_init)),
         raises=(ValueError, "Caught ValueError in DataLoader worker process 0")),
]

ALL = BATCH_SIZE + COLLATE + ARGS + SAMPLERS + DATASETS + WORKERS


@pytest.mark.parametrize("case", params(ALL))
def test_ndgrad(case):
    check_ndgrad(case)


@pytest.mark.parametrize("case", params(ALL))
def test_same_as_torch(case):
    check_torch(case)


def test_default_collate_gives_tensors_like_torch():
    import nn.data as data
    from autograd import Tensor
    batch = data.default_collate([(np.ones(2, np.float32), 1), (np.zeros(2, np.float32), 3)])
    assert isinstance(batch[0], Tensor) and batch[0].shape == (2, 2)
    assert batch[1].dtype == np.int64 and batch[1].numpy().tolist() == [1, 3]
    loader = data.DataLoader(data.TensorDataset(np.arange(4.0)), batch_size=2,
                             collate_fn=lambda b: data.default_collate(b))
    first = next(iter(loader))
    assert isinstance(first[0], Tensor) and first[0].numpy().tolist() == [0.0, 1.0]
