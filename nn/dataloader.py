"""``DataLoader`` (as ``torch.utils.data.DataLoader``), ``IterableDataset``, ``ConcatDataset``,
``ChainDataset`` and ``get_worker_info``.

The main process always decides *which* indices form each batch (sampler → batch sampler,
advancing the shuffling generator exactly as with ``num_workers=0``). With
``num_workers > 0`` the batches are fetched and collated in worker processes (the standard
library's ``multiprocessing``): batch k goes to worker ``k mod num_workers``, up to
``prefetch_factor`` batches per worker are in flight, and results are handed out in order.
So a seed gives the same batches whatever ``num_workers`` is. Each worker seeds autograd's
default stream and ``random`` with ``base_seed + worker_id`` (``get_worker_info().seed``),
runs ``worker_init_fn(worker_id)``, and for an ``IterableDataset`` iterates its own copy
(shard it with ``get_worker_info()``). ``persistent_workers`` keeps the processes between
epochs; ``pin_memory`` has nothing to do on the CPU.
"""
import bisect
import hashlib
import itertools
import math
import multiprocessing as mp
import numbers
import queue
import random
import traceback
import warnings

import numpy as np

from .data import Dataset, _collate_arrays, _convert, _fetch
from .samplers import (BatchSampler, RandomSampler, SequentialSampler, as_numpy_generator)

__all__ = ["DataLoader", "IterableDataset", "ConcatDataset", "ChainDataset", "get_worker_info",
           "WorkerInfo", "default_convert"]


class IterableDataset(Dataset):
    """A dataset that is a stream: define ``__iter__`` (no indexing)."""

    def __iter__(self):
        raise NotImplementedError(f"{type(self).__name__} must implement __iter__")

    def __getitem__(self, index):
        raise TypeError(f"{type(self).__name__} is an IterableDataset: it is iterated, not "
                        f"indexed")

    def __len__(self):  # only if a subclass defines it (as in PyTorch)
        raise TypeError(f"object of type '{type(self).__name__}' has no len()")

    def __add__(self, other):
        return ChainDataset([self, other])


class ChainDataset(IterableDataset):
    """Several iterable datasets one after another."""

    def __init__(self, datasets):
        self.datasets = list(datasets)

    def __iter__(self):
        for d in self.datasets:
            yield from d

    def __len__(self):
        return sum(len(d) for d in self.datasets)


class ConcatDataset(Dataset):
    """Map-style datasets concatenated: index ``i`` falls in the dataset whose cumulative
    size first exceeds it."""

    def __init__(self, datasets):
        self.datasets = list(datasets)
        if not self.datasets:
            raise AssertionError("datasets should not be an empty iterable")
        for d in self.datasets:
            if isinstance(d, IterableDataset):
                raise AssertionError("ConcatDataset does not support IterableDataset")
        self.cumulative_sizes = list(itertools.accumulate(len(d) for d in self.datasets))

    def __len__(self):
        return self.cumulative_sizes[-1]

    def __getitem__(self, idx):
        if idx < 0:
            if -idx > len(self):
                raise ValueError("absolute value of index should not exceed dataset length")
            idx += len(self)
        k = bisect.bisect_right(self.cumulative_sizes, idx)
        start = self.cumulative_sizes[k - 1] if k else 0
        return self.datasets[k][idx - start]


def _add(self, other):
    return ConcatDataset([self, other])


Dataset.__add__ = _add   # ds1 + ds2, as in PyTorch


# ------------------------------------------------------------------------------- workers
class WorkerInfo:
    """What ``get_worker_info()`` returns inside a worker process."""

    def __init__(self, id, num_workers, seed, dataset):
        self.id, self.num_workers, self.seed, self.dataset = id, num_workers, seed, dataset

    def __repr__(self):
        return (f"WorkerInfo(id={self.id}, num_workers={self.num_workers}, seed={self.seed}, "
                f"dataset={self.dataset!r})")


_worker_info = None


def get_worker_info():
    """In a DataLoader worker: its ``WorkerInfo`` (id, num_workers, seed, dataset); None in
    the main process."""
    return _worker_info


def default_convert(data):
    """NumPy arrays to Tensors (recursively through tuples, lists and dicts); numbers and
    everything else unchanged (the ``collate_fn`` when ``batch_size=None``)."""
    if isinstance(data, (np.ndarray, np.generic)) and data.dtype.kind in "biuf":
        from autograd import Tensor
        return Tensor(np.asarray(data))
    if isinstance(data, dict):
        return {k: default_convert(v) for k, v in data.items()}
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(v) for v in data))
    if isinstance(data, (tuple, list)):
        return type(data)(default_convert(v) for v in data)
    return data


class _Error:
    """An exception raised in a worker, carried back with its traceback text."""

    def __init__(self, exc, where):
        self.type, self.text = type(exc), traceback.format_exc()
        self.where = where

    def reraise(self):
        msg = f"Caught {self.type.__name__} in {self.where}.\nOriginal {self.text}"
        try:
            err = self.type(msg)
        except Exception:  # an exception type that needs other arguments
            err = RuntimeError(msg)
        raise err


def _worker_loop(loader, worker_id, base_seed, index_q, result_q):
    global _worker_info
    seed = base_seed + worker_id
    import autograd
    autograd.manual_seed(seed % (2 ** 63))
    random.seed(seed)
    _worker_info = WorkerInfo(worker_id, loader.num_workers, seed, loader.dataset)
    try:
        if loader.worker_init_fn is not None:
            loader.worker_init_fn(worker_id)
    except Exception as e:  # reported at the first request
        result_q.put((None, worker_id, _Error(e, f"DataLoader worker process {worker_id}")))
        return
    stream = None
    while True:
        task = index_q.get()
        if task is None:
            return
        epoch, k, indices = task
        try:
            if loader._iterable:
                if stream is None or indices == "reset":
                    stream = loader._iterable_batches(iter(loader.dataset))
                    if indices == "reset":
                        continue
                data = next(stream, StopIteration)
            else:
                data = loader._fetch_batch(indices)
        except Exception as e:
            data = _Error(e, f"DataLoader worker process {worker_id}")
        result_q.put((epoch, k, data))


class _Pool:
    """Worker processes with one task queue each and a shared result queue."""

    def __init__(self, loader, base_seed):
        ctx = loader.multiprocessing_context or mp.get_context()
        if isinstance(ctx, str):
            ctx = mp.get_context(ctx)
        self.result_q = ctx.Queue()
        self.index_qs, self.procs = [], []
        for w in range(loader.num_workers):
            q = ctx.Queue()
            p = ctx.Process(target=_worker_loop, args=(loader, w, base_seed, q, self.result_q),
                            daemon=True)
            p.start()
            self.index_qs.append(q)
            self.procs.append(p)

    def get(self, timeout):
        """The next result, watching that the workers are alive."""
        waited = 0.0
        while True:
            try:
                return self.result_q.get(timeout=0.1)
            except queue.Empty:
                waited += 0.1
                dead = [i for i, p in enumerate(self.procs) if not p.is_alive()]
                if dead:
                    codes = ", ".join(str(self.procs[i].exitcode) for i in dead)
                    pids = ", ".join(str(self.procs[i].pid) for i in dead)
                    self.shutdown()
                    raise RuntimeError(f"DataLoader worker (pid(s) {pids}) exited "
                                       f"unexpectedly (exit code {codes})") from None
                if timeout and waited >= timeout:
                    self.shutdown()
                    raise RuntimeError(f"DataLoader timed out after {timeout} "
                                       f"seconds") from None

    def shutdown(self):
        for q in self.index_qs:
            try:
                q.put(None)
            except (OSError, ValueError):
                pass
        for p in self.procs:
            p.join(timeout=5)
            if p.is_alive():
                p.terminate()
        self.procs, self.index_qs = [], []


class _LazyGenerator:
    """The shuffling stream of a loader without a seed: seeded from autograd's default
    stream the first time it is used (so ``autograd.manual_seed`` fixes it), then kept."""

    def __init__(self):
        self._np = None

    @property
    def _rng(self):
        if self._np is None:
            from autograd.tensor import _rng
            self._np = np.random.default_rng(int(_rng().integers(2 ** 63)))
        return self._np


def _check_batch_size(batch_size):
    if batch_size is None:
        return None
    if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) \
            or batch_size <= 0:
        raise ValueError(f"batch_size should be a positive integer value, but got "
                         f"batch_size={batch_size!r}")
    return int(batch_size)


class DataLoader:
    """Iterate over ``dataset`` in batches, as ``torch.utils.data.DataLoader``.

    ``batch_size=None`` turns automatic batching off (one converted sample per step).
    ``shuffle=True`` draws a new permutation each epoch from ``generator`` (or ``seed``: an
    int or ``np.random.Generator``; default: seeded from autograd's stream on first use).
    ``collate_fn``'s result is returned unchanged; without one, batches are tuples of
    ``autograd.Tensor`` (integers as int64), or NumPy arrays with ``as_tensor=False``.
    """

    def __init__(self, dataset, batch_size=1, shuffle=None, sampler=None, batch_sampler=None,
                 num_workers=0, collate_fn=None, pin_memory=False, drop_last=False, timeout=0,
                 worker_init_fn=None, multiprocessing_context=None, generator=None, *,
                 prefetch_factor=None, persistent_workers=False, pin_memory_device="",
                 in_order=True, seed=None, as_tensor=True):
        batch_size = _check_batch_size(batch_size)
        if isinstance(num_workers, bool) or not isinstance(num_workers, numbers.Integral) \
                or num_workers < 0:
            raise ValueError("num_workers option should be non-negative; use num_workers=0 to "
                             "disable multiprocessing.")
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError("prefetch_factor option could only be specified in "
                             "multiprocessing.let num_workers > 0 to enable multiprocessing, "
                             "otherwise set prefetch_factor to None.")
        if prefetch_factor is not None and prefetch_factor < 1:
            raise ValueError("prefetch_factor option should be a positive integer")
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")
        if seed is not None and generator is not None:
            raise ValueError("pass either seed= or generator=, not both")
        self._iterable = isinstance(dataset, IterableDataset)
        if self._iterable:
            for name, value in (("shuffle", shuffle), ("sampler", sampler),
                                ("batch_sampler", batch_sampler)):
                if value not in (None, False):
                    raise ValueError(f"DataLoader with IterableDataset: expected unspecified "
                                     f"{name} option, but got {name}={value}")
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with batch_size, "
                                 "shuffle, sampler, and drop_last")
            batch_size, drop_last = None, False
        elif batch_size is None and drop_last:
            raise ValueError("batch_size=None option disables auto-batching and is mutually "
                             "exclusive with drop_last")
        if pin_memory:
            warnings.warn("'pin_memory' argument is set as true but no accelerator is found, "
                          "then device pinned memory won't be used.", stacklevel=2)
        self.dataset, self.batch_size, self.drop_last = dataset, batch_size, bool(drop_last)
        self.shuffle = bool(shuffle)
        self.num_workers, self.collate_fn = int(num_workers), collate_fn
        self.pin_memory, self.timeout = pin_memory, timeout
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = multiprocessing_context
        self.prefetch_factor = prefetch_factor if prefetch_factor is not None else 2
        self.persistent_workers, self.in_order = persistent_workers, in_order
        self.as_tensor = as_tensor
        source = generator if generator is not None else seed
        self.generator = as_numpy_generator(source) if source is not None else None
        self._user_generator = source
        if not self._iterable:
            if sampler is None:
                sampler = RandomSampler(dataset, generator=self._shuffle_source()) \
                    if self.shuffle else SequentialSampler(dataset)
            if batch_size is not None and batch_sampler is None:
                batch_sampler = BatchSampler(sampler, batch_size, self.drop_last)
        self.sampler, self.batch_sampler = sampler, batch_sampler
        self._pool = None
        self._epochs = itertools.count()

    def _shuffle_source(self):
        """What the default RandomSampler draws from: an int seed becomes one stream for
        all epochs; Generators are passed on (re-read each epoch, so a later
        ``manual_seed`` on them counts)."""
        if isinstance(self._user_generator, numbers.Integral):
            return self.generator
        if self._user_generator is not None:
            return self._user_generator
        self._lazy = _LazyGenerator()
        return self._lazy

    def __getstate__(self):  # for spawned workers: no live processes or queues
        state = self.__dict__.copy()
        state["_pool"] = None
        state["_epochs"] = None
        return state

    # --------------------------------------------------------------------------- sizes
    def __len__(self):
        if self._iterable:
            n = len(self.dataset)
            if self.batch_size is None:
                return n
            return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)
        if self.batch_sampler is not None:
            return len(self.batch_sampler)
        return len(self.sampler)

    def batch_indices(self):
        """The index lists of one epoch (advances the shuffling generator)."""
        return [np.asarray(b) for b in self._index_batches()]

    def _index_batches(self):
        return iter(self.batch_sampler) if self.batch_sampler is not None else iter(self.sampler)

    # --------------------------------------------------------------------------- fetching
    def _convert_sample(self, sample):
        if self.collate_fn is not None:
            return self.collate_fn(sample)
        return default_convert(sample) if self.as_tensor else sample

    def _fetch_batch(self, indices):
        if self.batch_size is None and self.batch_sampler is None:
            return self._convert_sample(self.dataset[indices])
        if self.collate_fn is not None:
            return self.collate_fn([self.dataset[int(i)] for i in indices])
        return _convert(_fetch(self.dataset, np.asarray(indices, dtype=np.int64)),
                        self.as_tensor)

    def _collate_list(self, samples):
        if self.collate_fn is not None:
            return self.collate_fn(samples)
        return _convert(_collate_arrays(samples), self.as_tensor)

    def _iterable_batches(self, it):
        if self.batch_size is None:
            for sample in it:
                yield self._convert_sample(sample)
            return
        while True:
            chunk = list(itertools.islice(it, self.batch_size))
            if not chunk or (self.drop_last and len(chunk) < self.batch_size):
                return
            yield self._collate_list(chunk)

    # --------------------------------------------------------------------------- iterating
    def __iter__(self):
        if self.num_workers == 0:
            if self._iterable:
                return self._iterable_batches(iter(self.dataset))
            return (self._fetch_batch(b) for b in self._index_batches())
        return self._multiprocess_iter()

    def _base_seed(self, epoch):
        """The workers' base seed: a hash of the shuffling (else autograd's default) stream's
        state and the epoch. Reading it does not advance any stream, so the batches and
        the main process's random numbers are those of ``num_workers=0``."""
        rng = as_numpy_generator(self._user_generator) \
            if not isinstance(self._user_generator, numbers.Integral) else self.generator
        if rng is None:
            from autograd.tensor import _rng
            rng = _rng()
        digest = hashlib.sha256(repr((rng.bit_generator.state, epoch)).encode()).digest()
        return int.from_bytes(digest[:7], "little")

    def _start(self, epoch):
        if self._pool is not None and self.persistent_workers:
            return self._pool
        self._pool = _Pool(self, self._base_seed(epoch))
        return self._pool

    def _multiprocess_iter(self):
        epoch = next(self._epochs)
        pool = self._start(epoch)
        try:
            if self._iterable:
                yield from self._iterable_workers(pool, epoch)
            else:
                yield from self._map_workers(pool, epoch)
        finally:
            if not self.persistent_workers:
                pool.shutdown()
                self._pool = None

    def _result(self, pool, epoch, buffer, k):
        while k not in buffer:
            e, kk, data = pool.get(self.timeout)
            if e is None and isinstance(data, _Error):   # worker_init_fn failed
                pool.shutdown()
                self._pool = None
                data.reraise()
            if e == epoch:
                buffer[kk] = data
        return buffer.pop(k)

    def _map_workers(self, pool, epoch):
        batches = self._index_batches()
        w = self.num_workers
        sent = 0

        def send():
            nonlocal sent
            b = next(batches, None)
            if b is None:
                return
            pool.index_qs[sent % w].put((epoch, sent, b))
            sent += 1
        for _ in range(self.prefetch_factor * w):
            send()
        buffer = {}
        k = 0
        while k < sent:
            data = self._result(pool, epoch, buffer, k)
            k += 1
            send()
            if isinstance(data, _Error):
                data.reraise()
            yield data

    def _iterable_workers(self, pool, epoch):
        w = self.num_workers
        for q in pool.index_qs:
            q.put((epoch, -1, "reset"))
        pending = {i: [] for i in range(w)}   # worker -> its outstanding request numbers
        counter = itertools.count()

        def request(i):
            k = next(counter)
            pending[i].append(k)
            pool.index_qs[i].put((epoch, k, "next"))
        for i in range(w):
            for _ in range(self.prefetch_factor):
                request(i)
        active = list(range(w))
        buffer = {}
        turn = 0
        while active:
            i = active[turn % len(active)]
            data = self._result(pool, epoch, buffer, pending[i].pop(0))
            if data is StopIteration:
                active.remove(i)
                for k in pending[i]:                 # drain its other answers
                    self._result(pool, epoch, buffer, k)
                pending[i] = []
                continue
            request(i)
            turn = active.index(i) + 1
            if isinstance(data, _Error):
                data.reraise()
            yield data

    def __del__(self):
        pool = self.__dict__.get("_pool")
        if pool is not None:
            try:
                pool.shutdown()
            except Exception:
                pass

    def __repr__(self):
        return (f"DataLoader({self.dataset!r}, batch_size={self.batch_size}, "
                f"shuffle={self.shuffle}, drop_last={self.drop_last}, "
                f"num_workers={self.num_workers})")
