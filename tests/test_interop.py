"""Zero-copy exchange: DLPack (``__dlpack__``, ``from_dlpack``), the NumPy array protocol
(``__array__`` with NumPy 2's ``copy=``) and ``from_numpy``; memory is shared, and memory a
live graph saved for backward is never handed out writable."""
import numpy as np
import pytest

import autograd
from autograd import Tensor, from_dlpack, from_numpy


def _shares(a, b):
    return np.shares_memory(np.asarray(a), np.asarray(b))


# ------------------------------------------------------------------ from_numpy / __array__
def test_from_numpy_shares_memory_and_keeps_dtype():
    a = np.arange(6.0).reshape(2, 3)
    t = from_numpy(a)
    assert t.dtype == np.float64 and t._data is a
    a[0, 0] = 42.0
    assert t[0, 0].item() == 42.0
    with autograd.no_grad():
        t.add_(1.0)
    assert a[1, 2] == 6.0


@pytest.mark.parametrize("bad, name", [([1.0, 2.0], "list"), (3.0, "float")])
def test_from_numpy_refuses_non_arrays(bad, name):
    with pytest.raises(TypeError, match=f"from_numpy: expected np.ndarray \\(got {name}\\)"):
        from_numpy(bad)


def test_array_protocol_copy_semantics():
    t = Tensor(np.arange(4, dtype=np.float32))
    assert np.asarray(t) is t._data                      # copy=None: no copy needed
    assert np.array(t, copy=False) is t._data            # copy=False: never copies
    c = np.array(t)                                      # copy=True
    assert not _shares(c, t._data) and np.array_equal(c, t._data)
    assert np.asarray(t, dtype=np.float64).dtype == np.float64
    with pytest.raises(ValueError, match="without a copy"):
        np.array(t, dtype=np.float64, copy=False)


# ------------------------------------------------------------------ DLPack with NumPy
def test_dlpack_round_trip_with_numpy_shares_memory():
    t = Tensor(np.arange(6, dtype=np.float32).reshape(2, 3))
    assert t.__dlpack_device__() == (1, 0)               # kDLCPU
    a = np.from_dlpack(t)
    assert _shares(a, t._data)
    a[0, 1] = -5.0
    assert t[0, 1].item() == -5.0
    back = from_dlpack(a)
    assert isinstance(back, Tensor) and _shares(back._data, t._data)


def test_dlpack_copy_true_gives_independent_memory():
    t = Tensor(np.ones(3))
    a = np.from_dlpack(t, copy=True)
    assert not _shares(a, t._data)


def test_tensor_saved_for_backward_is_not_exported_writable():
    x = Tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    y = x * 2.0
    z = (y * y).sum()                                    # Mul saves y's array
    with pytest.raises(BufferError, match="read-only .*saved for backward"):
        y.__dlpack__()
    with pytest.raises(BufferError, match="read-only"):
        np.from_dlpack(y)
    with pytest.raises(BufferError, match="copy=False"):
        y.__dlpack__(copy=False)
    copy = np.from_dlpack(y, copy=True)                  # a copy is fine
    copy[:] = 0.0
    z.backward()
    np.testing.assert_allclose(x.grad._data, 8.0 * np.array([1.0, 2.0, 3.0]))
    assert _shares(np.from_dlpack(y), y._data)           # released after backward


def test_read_only_numpy_array_is_refused():
    a = np.frombuffer(b"\x00" * 16, dtype=np.float32)
    with pytest.raises(BufferError, match="read-only"):
        Tensor(a).__dlpack__()


# ------------------------------------------------------------------ DLPack with PyTorch
def test_dlpack_round_trip_with_torch():
    torch = pytest.importorskip("torch")
    t = Tensor(np.arange(6, dtype=np.float32).reshape(2, 3))
    tt = torch.from_dlpack(t)
    assert tt.dtype == torch.float32 and tt.data_ptr() == t._data.ctypes.data
    tt.mul_(10)
    assert t[1, 2].item() == 50.0
    src = torch.arange(4, dtype=torch.float64)
    back = from_dlpack(src)
    assert back.dtype == np.float64 and back._data.ctypes.data == src.data_ptr()
    src[0] = 7.0
    assert back[0].item() == 7.0
    back2 = from_numpy(src.numpy())                      # torch -> numpy -> ndgrad, no copy
    assert back2._data.ctypes.data == src.data_ptr()


def test_torch_cannot_get_a_saved_buffer():
    torch = pytest.importorskip("torch")
    x = Tensor(np.ones(3), requires_grad=True)
    y = x.exp()                                          # Exp saves its output
    with pytest.raises(BufferError, match="saved for backward"):
        torch.from_dlpack(y)
    del y
