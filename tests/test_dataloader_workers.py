"""DataLoader with worker processes, samplers, generators, IterableDataset and
ConcatDataset (nn/dataloader.py, nn/samplers.py)."""
import os

import numpy as np
import pytest

import autograd
import nn.data as data
from autograd import Tensor


def _ds(n=23):
    return data.TensorDataset(np.arange(2.0 * n).reshape(n, 2), np.arange(n))


def _labels(loader):
    return [b[1].numpy().tolist() for b in loader]


class Pid(data.Dataset):
    """Each sample is the id of the process that fetched it."""

    def __len__(self):
        return 12

    def __getitem__(self, i):
        info = data.get_worker_info()
        return np.array([os.getpid(), -1 if info is None else info.id, i])


@pytest.mark.parametrize("kw", [dict(shuffle=True, seed=5), dict(shuffle=True, drop_last=True,
                                                                 seed=1),
                                dict(batch_size=None, shuffle=True, seed=2), dict()])
def test_workers_give_the_batches_of_a_single_process(kw):
    kw = dict(dict(batch_size=4), **kw)
    single = data.DataLoader(_ds(), **kw)
    multi = data.DataLoader(_ds(), num_workers=2, **kw)
    for _ in range(2):  # two epochs: the shuffling stream advances the same way
        a = [b[1].numpy().tolist() for b in single]
        b = [b[1].numpy().tolist() for b in multi]
        assert a == b


def test_workers_follow_manual_seed_and_generators():
    autograd.manual_seed(3)
    a = _labels(data.DataLoader(_ds(), batch_size=5, shuffle=True))
    after_a = autograd.randn(2).numpy()
    autograd.manual_seed(3)
    b = _labels(data.DataLoader(_ds(), batch_size=5, shuffle=True, num_workers=3))
    assert a == b
    np.testing.assert_array_equal(autograd.randn(2).numpy(), after_a)  # same global stream
    g1, g2 = autograd.Generator().manual_seed(7), autograd.Generator().manual_seed(7)
    c = _labels(data.DataLoader(_ds(), batch_size=5, shuffle=True, generator=g1))
    d = _labels(data.DataLoader(_ds(), batch_size=5, shuffle=True, generator=g2,
                                num_workers=2))
    assert c == d and c != a


def test_work_happens_in_other_processes():
    batches = list(data.DataLoader(Pid(), batch_size=3, num_workers=2))
    rows = np.concatenate([b.numpy() for b in batches])
    assert os.getpid() not in set(rows[:, 0])
    assert set(rows[:, 1]) == {0, 1}
    np.testing.assert_array_equal(rows[:, 2], np.arange(12))      # in order
    # batch k is fetched by worker k mod 2
    assert [int(b.numpy()[0, 1]) for b in batches] == [0, 1, 0, 1]
    single = np.concatenate([b.numpy() for b in data.DataLoader(Pid(), batch_size=3)])
    assert set(single[:, 0]) == {os.getpid()} and set(single[:, 1]) == {-1}


def test_persistent_workers_survive_epochs():
    loader = data.DataLoader(Pid(), batch_size=4, num_workers=2, persistent_workers=True)
    first = {int(p) for b in loader for p in b.numpy()[:, 0]}
    second = {int(p) for b in loader for p in b.numpy()[:, 0]}
    assert first == second and len(first) == 2
    fresh = data.DataLoader(Pid(), batch_size=4, num_workers=2)
    assert {int(p) for b in fresh for p in b.numpy()[:, 0]}.isdisjoint(first)


def _record_worker(worker_id):
    info = data.get_worker_info()
    assert info.id == worker_id and info.num_workers == 2
    info.dataset.tag = f"worker{worker_id}-seed{info.seed}"


class Tagged(data.Dataset):
    tag = "main"

    def __len__(self):
        return 4

    def __getitem__(self, i):
        return self.tag, float(autograd.rand(1).item())


def test_worker_init_fn_and_seeds():
    loader = data.DataLoader(Tagged(), batch_size=None, num_workers=2,
                             worker_init_fn=_record_worker, collate_fn=lambda s: s)
    out = list(loader)
    tags = [t for t, _ in out]
    assert tags[0].startswith("worker0-seed") and tags[1].startswith("worker1-seed")
    seeds = {t.split("seed")[1] for t in tags}
    assert len(seeds) == 2 and int(max(seeds)) - int(min(seeds)) == 1  # base_seed + id
    assert len({r for _, r in out}) == 4  # each worker has its own random stream


class Shards(data.IterableDataset):
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        info = data.get_worker_info()
        start, step = (0, 1) if info is None else (info.id, info.num_workers)
        return iter(range(start, self.n, step))

    def __len__(self):
        return self.n


def test_iterable_dataset_in_workers():
    single = [b.numpy().tolist() for b in data.DataLoader(Shards(9), batch_size=2)]
    assert single == [[0, 1], [2, 3], [4, 5], [6, 7], [8]]
    multi = [b.numpy().tolist() for b in data.DataLoader(Shards(9), batch_size=2,
                                                         num_workers=2)]
    assert multi == [[0, 2], [1, 3], [4, 6], [5, 7], [8]]   # round robin over the workers
    assert len(data.DataLoader(Shards(9), batch_size=2)) == 5
    assert [b.numpy().tolist() for b in data.DataLoader(Shards(5), batch_size=2,
                                                        drop_last=True)] == [[0, 1], [2, 3]]


def test_samplers_and_batch_sampler_in_a_loader():
    ds = _ds(10)
    sampler = data.SubsetRandomSampler([9, 1, 4], generator=np.random.default_rng(0))
    out = _labels(data.DataLoader(ds, batch_size=2, sampler=sampler))
    assert sorted(sum(out, [])) == [1, 4, 9] and len(out) == 2
    bs = data.BatchSampler(data.SequentialSampler(ds), 4, drop_last=True)
    assert _labels(data.DataLoader(ds, batch_sampler=bs)) == [[0, 1, 2, 3], [4, 5, 6, 7]]
    rs = data.RandomSampler(ds, replacement=True, num_samples=1000,
                            generator=np.random.default_rng(1))
    drawn = np.array(list(rs))
    assert len(drawn) == 1000 and len(set(drawn)) == 10
    rs = data.RandomSampler(ds, num_samples=25, generator=np.random.default_rng(1))
    counts = np.bincount(list(rs), minlength=10)
    assert counts.min() >= 2 and counts.max() <= 3   # two full permutations, then 5 more
    w = data.WeightedRandomSampler([1.0, 0.0, 3.0], 4000, generator=np.random.default_rng(2))
    freq = np.bincount(list(w), minlength=3) / 4000
    assert freq[1] == 0 and abs(freq[2] - 0.75) < 0.03
    nw = data.WeightedRandomSampler([1.0, 1.0, 1.0], 3, replacement=False)
    assert sorted(nw) == [0, 1, 2]


def test_concat_dataset_in_a_loader():
    both = data.ConcatDataset([_ds(3), _ds(4)])
    assert len(both) == 7 and both.cumulative_sizes == [3, 7]
    labels = sum(_labels(data.DataLoader(both, batch_size=3)), [])
    assert labels == [0, 1, 2, 0, 1, 2, 3]
    x, y = both[4]
    assert isinstance(x, Tensor) and y.item() == 1


def test_pin_memory_warns_and_works():
    with pytest.warns(UserWarning, match="no accelerator is found"):
        loader = data.DataLoader(_ds(4), batch_size=2, pin_memory=True)
    assert len(list(loader)) == 2


def test_worker_that_dies_is_reported():
    class Dies(data.Dataset):
        def __len__(self):
            return 4

        def __getitem__(self, i):
            os._exit(3)
    with pytest.raises(RuntimeError, match="exited unexpectedly"):
        list(data.DataLoader(Dies(), batch_size=2, num_workers=1))


def test_spawned_workers_give_the_same_batches():
    kw = dict(batch_size=4, shuffle=True, seed=3)
    single = _labels(data.DataLoader(_ds(), **kw))
    spawned = _labels(data.DataLoader(_ds(), num_workers=2, multiprocessing_context="spawn",
                                      **kw))
    assert single == spawned


def test_random_split_generators():
    ds = _ds(10)
    a = data.random_split(ds, [6, 4], generator=autograd.Generator().manual_seed(1))
    b = data.random_split(ds, [6, 4], generator=autograd.Generator().manual_seed(1))
    assert [list(s.indices) for s in a] == [list(s.indices) for s in b]
    autograd.manual_seed(4)
    c = data.random_split(ds, [0.5, 0.5])
    autograd.manual_seed(4)
    d = data.random_split(ds, [0.5, 0.5])
    assert [list(s.indices) for s in c] == [list(s.indices) for s in d]
    assert sorted(np.concatenate([s.indices for s in c]).tolist()) == list(range(10))
