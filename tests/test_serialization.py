"""nn.serialization: save/load round trips, atomic saves, and refusing malformed files."""
import json
import os
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest

from autograd import Tensor
from nn import serialization
from nn.serialization import FORMAT_VERSION, load, save


def assert_same(a, b):
    """Equal structure, types, dtypes and values."""
    if isinstance(a, Tensor):
        a = a._data
    if isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray)
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a, b)
    elif isinstance(a, np.generic):
        assert type(a) is type(b) and a == b
    elif isinstance(a, dict):
        assert isinstance(b, dict) and list(a) == list(b)
        for k in a:
            assert_same(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert type(a) is type(b) and len(a) == len(b)
        for x, y in zip(a, b):
            assert_same(x, y)
    elif isinstance(a, float) and a != a:
        assert b != b
    else:
        assert type(a) is type(b) and a == b


# ---------------------------------------------------------------------- round trips
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.int32, np.uint8,
                                   np.bool_, np.float16, np.complex64])
def test_round_trip_dtypes(tmp_path, dtype):
    rng = np.random.default_rng(0)
    arr = (rng.standard_normal((3, 4)) * 10).astype(dtype)
    sd = {"w": arr, "empty": np.zeros((0, 5), dtype=dtype), "scalar0d": np.array(7, dtype=dtype)}
    save(sd, tmp_path / "sd.npz")
    assert_same(sd, load(tmp_path / "sd.npz"))


def test_round_trip_tensors_come_back_as_arrays(tmp_path):
    sd = {"fc.weight": Tensor(np.ones((2, 3), np.float32), requires_grad=True),
          "fc.bias": Tensor(np.zeros(2))}
    save(sd, str(tmp_path / "model.pt"))
    out = load(str(tmp_path / "model.pt"))
    assert list(out) == ["fc.weight", "fc.bias"]
    assert type(out["fc.weight"]) is np.ndarray and out["fc.weight"].dtype == np.float32
    assert out["fc.bias"].dtype == np.float64
    out["fc.weight"][0, 0] = 5.0                     # writable, independent arrays
    assert not os.path.exists(tmp_path / "model.pt.npz")   # the name is used as given


def test_round_trip_nested_checkpoint(tmp_path):
    ckpt = {
        "model": {"layer1.weight": np.arange(6, dtype=np.float32).reshape(2, 3),
                  "layer1.bias": Tensor(np.array([0.5, -0.5], np.float32)),
                  "bn.num_batches_tracked": np.array(12, dtype=np.int64),
                  "mask": np.array([True, False, True])},
        "optimizer": {"state": {0: {"step": 3, "exp_avg": np.ones(3)},
                                2: {"momentum_buffer": None}},
                      "param_groups": [{"lr": 0.001, "betas": (0.9, 0.999), "amsgrad": False,
                                        "params": [0, 1, 2]}]},
        "epoch": 3,
        "best": 0.97125,
        "name": "résumé ✓",
        "history": [1.5, 1.25, [2, "x"], None],
        "inf": float("inf"),
        "nan": float("nan"),
        "big": 2 ** 70,
        "np_scalar": np.float32(1.5),
        "np_int": np.int64(-3),
        "np_bool": np.bool_(True),
        "empty": {},
        "": "empty key",
        "1": "a string key that looks like an int",
        1: "an int key",
    }
    save(ckpt, tmp_path / "ckpt.npz")
    out = load(tmp_path / "ckpt.npz")
    assert_same(ckpt, out)
    assert isinstance(out["optimizer"]["param_groups"][0]["betas"], tuple)
    assert list(out["optimizer"]["state"]) == [0, 2]       # int keys stay ints


def test_non_dict_top_level_and_pathlike(tmp_path):
    class P(os.PathLike):
        def __fspath__(self):
            return str(tmp_path / "x.bin")
    save([np.arange(3), 4], P())
    assert_same([np.arange(3), 4], load(P()))
    save(np.eye(2), tmp_path / "a")
    assert_same(np.eye(2), load(tmp_path / "a"))


def test_non_native_byte_order_and_non_contiguous(tmp_path):
    big_endian = np.arange(5, dtype=">f4")
    strided = np.arange(20.0).reshape(4, 5)[:, ::2]
    save({"be": big_endian, "strided": strided}, tmp_path / "x")
    out = load(tmp_path / "x")
    assert_same({"be": big_endian, "strided": strided}, out)


def test_file_is_safetensors_with_metadata(tmp_path):
    save({"a": {"w": np.ones((2, 3), np.float32)}, "epoch": 3}, tmp_path / "x")
    from safetensors import safe_open
    with safe_open(str(tmp_path / "x"), framework="numpy") as f:
        meta = f.metadata()
        assert list(f.keys()) == ["a/w"] and f.get_tensor("a/w").dtype == np.float32
    assert meta["ndgrad.format"] == "ndgrad.state"
    assert meta["ndgrad.version"] == str(FORMAT_VERSION)
    tree = json.loads(meta["ndgrad.tree"])
    assert tree["__dict__"][1] == ["epoch", 3]


def test_flat_state_dict_keeps_its_keys(tmp_path):
    from safetensors.numpy import load_file
    sd = {"fc.weight": np.ones((2, 3), np.float32), "bn.num_batches_tracked": np.array(4)}
    save(sd, tmp_path / "m.safetensors")
    plain = load_file(str(tmp_path / "m.safetensors"))
    assert sorted(plain) == sorted(sd) and plain["bn.num_batches_tracked"].shape == ()


def test_plain_safetensors_file_loads_as_flat_dict(tmp_path):
    from safetensors.numpy import save_file
    save_file({"w": np.arange(3.0), "b": np.zeros(2, np.float32)}, str(tmp_path / "p"),
              metadata={"format": "pt"})
    out = load(tmp_path / "p")
    assert sorted(out) == ["b", "w"] and out["w"].flags.writeable


def test_legacy_npz_loads_with_one_warning(tmp_path, monkeypatch):
    from nn import _legacy_npz
    ckpt = {"model": {"w": np.ones((2, 2), np.float32)}, "epoch": 2, "s": np.int64(4)}
    _legacy_npz.save_npz(ckpt, tmp_path / "old.npz")
    monkeypatch.setattr(serialization, "_warned_legacy", False)
    with pytest.warns(UserWarning, match="old .npz checkpoint format.*safetensors"):
        assert_same(ckpt, load(tmp_path / "old.npz"))
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert_same(ckpt, load(tmp_path / "old.npz"))     # told once only
    save(load(tmp_path / "old.npz"), tmp_path / "old.npz")  # re-saving upgrades
    assert (tmp_path / "old.npz").read_bytes()[8:9] == b"{"


def test_map_location(tmp_path):
    save({"w": np.ones(2)}, tmp_path / "x")
    assert load(tmp_path / "x", map_location="cpu")["w"].shape == (2,)
    with pytest.raises(ValueError, match="map_location='cuda:0'.*CPU"):
        load(tmp_path / "x", map_location="cuda:0")


@pytest.mark.parametrize("bad, message", [
    ({"x": np.array([object()], dtype=object)}, "object"),
    ({"x": {1, 2}}, "set"),
    ({(1, 2): 3}, "key"),
    ({1.5: 3}, "key"),
    ({"x": lambda: 0}, "function"),
])
def test_unsupported_values_are_refused(tmp_path, bad, message):
    with pytest.raises(TypeError, match=message):
        save(bad, tmp_path / "x")
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------------- atomic save
def test_save_replaces_an_existing_file(tmp_path):
    path = tmp_path / "ckpt.npz"
    save({"v": np.array([1])}, path)
    save({"v": np.array([2])}, path)
    assert load(path)["v"][0] == 2
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt.npz"]


class _HalfWriter:
    """A file whose write() writes half of the data, then fails with ``error``."""

    def __init__(self, f, error):
        self.f, self.error = f, error

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.f.close()

    def write(self, data):
        self.f.write(data[:len(data) // 2])
        raise self.error


def _break_writes(monkeypatch, error):
    real_fdopen = os.fdopen
    monkeypatch.setattr(serialization.os, "fdopen",
                        lambda fd, mode: _HalfWriter(real_fdopen(fd, mode), error))


def test_failed_save_leaves_old_file_and_no_temp(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.npz"
    save({"v": np.arange(3)}, path)
    before = path.read_bytes()
    with monkeypatch.context() as m:
        _break_writes(m, OSError("disk full"))
        with pytest.raises(OSError, match="disk full"):
            save({"v": np.arange(1000)}, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt.npz"]
    assert_same({"v": np.arange(3)}, load(path))


def test_failed_fsync_or_rename_leaves_no_temp(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.npz"
    save({"v": np.arange(3)}, path)
    before = path.read_bytes()
    for name in ("fsync", "replace"):
        with monkeypatch.context() as m:
            def boom(*args, **kwargs):
                raise OSError(f"{name} failed")
            m.setattr(serialization.os, name, boom)
            with pytest.raises(OSError, match=f"{name} failed"):
                save({"v": np.arange(10)}, path)
        assert path.read_bytes() == before
        assert [p.name for p in tmp_path.iterdir()] == ["ckpt.npz"]


def test_interrupted_save_of_a_new_file_leaves_nothing(tmp_path, monkeypatch):
    _break_writes(monkeypatch, KeyboardInterrupt())
    with pytest.raises(KeyboardInterrupt):
        save({"v": np.arange(3)}, tmp_path / "new.npz")
    assert list(tmp_path.iterdir()) == []


def test_save_into_missing_directory_fails_cleanly(tmp_path):
    with pytest.raises(FileNotFoundError):
        save({"v": np.arange(3)}, tmp_path / "no" / "such" / "dir.npz")


def test_saved_file_has_normal_permissions(tmp_path):
    path = tmp_path / "ckpt.npz"
    save({"v": np.arange(3)}, path)
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask


# ---------------------------------------------------------------------- malformed files
def _check_refused(path, *fragments):
    with pytest.raises(ValueError) as info:
        load(path)
    message = str(info.value)
    assert str(path) in message
    for fragment in fragments:
        assert fragment in message, message


def test_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "nope.npz")


def test_random_bytes_and_empty_file(tmp_path):
    path = tmp_path / "random.npz"
    path.write_bytes(np.random.default_rng(0).bytes(1000))
    _check_refused(path, "neither safetensors nor")
    path.write_bytes(b"")
    _check_refused(path, "neither safetensors nor")


def test_truncated_archive(tmp_path):
    path = tmp_path / "ckpt.npz"
    save({"w": np.arange(1000.0), "epoch": 1}, path)
    data = path.read_bytes()
    for cut in (len(data) // 2, len(data) - 30, 100, 10):
        path.write_bytes(data[:cut])
        _check_refused(path, "not a valid ndgrad state file")


def test_corrupted_array_bytes(tmp_path):
    path = tmp_path / "ckpt.npz"
    save({"w": np.arange(1000.0)}, path)
    data = bytearray(path.read_bytes())
    data[2000] ^= 0xFF                            # inside a0.npy's data: the CRC fails
    path.write_bytes(bytes(data))
    _check_refused(path)


def test_npz_without_manifest(tmp_path):
    path = tmp_path / "plain.npz"
    np.savez(path, w=np.ones(3))
    _check_refused(path, "no manifest")


def test_single_npy_file(tmp_path):
    path = tmp_path / "arr.npy"
    np.save(path, np.ones(3))
    _check_refused(path, ".npy")


def _write_npz(path, manifest, **arrays):
    text = json.dumps(manifest).encode()
    np.savez(path, __manifest__=np.frombuffer(text, np.uint8), **arrays)


def _manifest(arrays, tree, version=1, fmt="ndgrad.state"):  # the old .npz format
    return {"format": fmt, "version": version, "arrays": arrays, "tree": tree}


def test_unknown_format_version_or_name(tmp_path):
    path = tmp_path / "x.npz"
    _write_npz(path, _manifest([], {"__dict__": []}, version=FORMAT_VERSION + 1))
    _check_refused(path, "version", str(FORMAT_VERSION + 1))
    _write_npz(path, _manifest([], {"__dict__": []}, fmt="something.else"))
    _check_refused(path, "something.else")


def test_manifest_not_json(tmp_path):
    path = tmp_path / "x.npz"
    np.savez(path, __manifest__=np.frombuffer(b"{not json", np.uint8))
    _check_refused(path, "JSON")
    np.savez(path, __manifest__=np.ones(3))
    _check_refused(path, "manifest")


@pytest.mark.parametrize("entry, message", [
    ({"name": "a0", "path": ["w"], "shape": [4], "dtype": "<f8"}, "shape"),
    ({"name": "a0", "path": ["w"], "shape": [3], "dtype": "<f4"}, "dtype"),
    ({"name": "a0", "path": ["w"], "shape": [3], "dtype": "|O"}, "object"),
    ({"name": "a9", "path": ["w"], "shape": [3], "dtype": "<f8"}, "missing"),
])
def test_array_disagreeing_with_manifest(tmp_path, entry, message):
    path = tmp_path / "x.npz"
    _write_npz(path, _manifest([entry], {"__dict__": [["w", {"__array__": 0}]]}),
               a0=np.ones(3))
    _check_refused(path, message)


def test_unlisted_entries_and_bad_tree(tmp_path):
    path = tmp_path / "x.npz"
    entry = {"name": "a0", "path": ["w"], "shape": [3], "dtype": "<f8"}
    _write_npz(path, _manifest([entry], {"__dict__": [["w", {"__array__": 0}]]}),
               a0=np.ones(3), sneaky=np.ones(1))
    _check_refused(path, "sneaky")
    _write_npz(path, _manifest([entry], {"__dict__": [["w", {"__array__": 5}]]}), a0=np.ones(3))
    _check_refused(path, "missing array")
    _write_npz(path, _manifest([entry], {"__weird__": 1}), a0=np.ones(3))
    _check_refused(path, "unrecognised")
    _write_npz(path, _manifest([entry], {"__dict__": []}), a0=np.ones(3))
    _check_refused(path, "does not use")


def test_object_array_inside_the_archive_is_not_unpickled(tmp_path):
    path = tmp_path / "x.npz"
    marker = tmp_path / "pwned"
    evil = np.array([_Evil(str(marker))], dtype=object)
    entry = {"name": "a0", "path": ["w"], "shape": [1], "dtype": "<f8"}
    _write_npz(path, _manifest([entry], {"__dict__": [["w", {"__array__": 0}]]}), a0=evil)
    _check_refused(path)
    assert not marker.exists()


class _Evil:
    """Unpickling this creates a marker file (a stand-in for arbitrary code)."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (Path(self.marker),))


def test_pickle_file_is_refused_and_runs_nothing(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pt"
    path.write_bytes(pickle.dumps({"w": _Evil(str(marker))}))
    pickle.loads(pickle.dumps(_Evil(str(tmp_path / "control"))))   # the payload does work
    assert (tmp_path / "control").exists()
    _check_refused(path, "pickle")
    assert not marker.exists()


def test_pickle_inside_a_zip_is_refused_and_runs_nothing(tmp_path):
    # torch.save's format: a zip archive holding a pickle.
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pt"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("archive/data.pkl", pickle.dumps(_Evil(str(marker))))
    _check_refused(path, "no manifest")
    assert not marker.exists()


def test_errors_name_pathlike_paths(tmp_path):
    path = tmp_path / "junk.bin"
    path.write_bytes(b"hello")
    with pytest.raises(ValueError, match="junk.bin"):
        load(path)
    with pytest.raises(ValueError, match="junk.bin"):
        load(str(path))
