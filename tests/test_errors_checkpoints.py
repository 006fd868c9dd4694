"""Bad checkpoints give the ValueError naming the file (never a TypeError, a MemoryError or
an unpickled object); bad values given to save/load_state_dict are named by their key.
Compared with PyTorch's load_state_dict message where torch is importable."""
import io
import json
import struct
import zipfile

import numpy as np
import pytest

import nn
from nn import _legacy_npz
from nn.serialization import load, save


def _refused(path, fragment):
    with pytest.raises(ValueError, match=fragment) as info:
        load(path)
    assert str(path) in str(info.value)


# ------------------------------------------------------------ safetensors header surgery
def _saved(tmp_path, obj=None):
    path = tmp_path / "ckpt.safetensors"
    save(obj if obj is not None else {"model": {"w": np.arange(6.0).reshape(2, 3)},
                                      "epoch": 2}, path)
    return path


def _rewrite_header(path, edit):
    data = path.read_bytes()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    edit(header)
    raw = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + data[8 + n:])


def _edit_tree(path, edit):
    def change(header):
        meta = header["__metadata__"]
        tree = json.loads(meta["ndgrad.tree"])
        meta["ndgrad.tree"] = json.dumps(edit(tree))
    _rewrite_header(path, change)


def test_header_declares_more_data_than_the_file_holds(tmp_path):
    path = _saved(tmp_path)
    _rewrite_header(path, lambda h: h["model/w"].update(shape=[2 ** 20, 2 ** 20]))
    _refused(path, "malformed or truncated")


def test_offsets_past_the_end_of_the_file(tmp_path):
    path = _saved(tmp_path)
    _rewrite_header(path, lambda h: h["model/w"].update(data_offsets=[0, 2 ** 40]))
    _refused(path, "malformed or truncated")


def test_huge_header_length_is_not_allocated(tmp_path):
    path = _saved(tmp_path)
    data = path.read_bytes()
    path.write_bytes(struct.pack("<Q", 2 ** 60) + data[8:])
    _refused(path, "malformed or truncated")


def test_truncated_file(tmp_path):
    path = _saved(tmp_path)
    data = path.read_bytes()
    path.write_bytes(data[:-7])
    _refused(path, "malformed or truncated")


@pytest.mark.parametrize("field, value", [("shape", "abc"), ("shape", [-1, 3]),
                                          ("dtype", 5), ("dtype", "X99"),
                                          ("data_offsets", "0-48")])
def test_header_entry_of_the_wrong_type(tmp_path, field, value):
    path = _saved(tmp_path)
    _rewrite_header(path, lambda h: h["model/w"].update({field: value}))
    _refused(path, "not a valid ndgrad state file")


@pytest.mark.parametrize("tree, fragment", [
    ({"__dict__": [["model", {"__dict__": [["w", {"__array__": 5}]]}], ["epoch", 2]]},
     "missing array 5"),
    ({"__dict__": [["model", {"__dict__": [["w", {"__array__": "nope"}]]}]]}, "missing array"),
    ({"__dict__": [["a", {"__array__": "model/w"}], ["b", {"__array__": "model/w"}]]}, "twice"),
    ({"__dict__": []}, "does not use"),
    ({"__dict__": [[1.5, {"__array__": "model/w"}]]}, "malformed dict entry"),
    ({"__dict__": "model"}, "unrecognised node"),
    ({"__dict__": [["w", {"__array__": "model/w", "dtype": 7}]]}, "dtype 7"),
    ({"__dict__": [["w", {"__array__": "model/w", "dtype": "<i4"}]]}, "does not match"),
    ({"__list__": [{"__array__": "model/w", "scalar": True}]}, "marked as a scalar"),
])
def test_metadata_tree_entries_of_the_wrong_type(tmp_path, tree, fragment):
    path = _saved(tmp_path)
    _edit_tree(path, lambda _: tree)
    _refused(path, fragment)


def test_metadata_tree_not_json_or_unknown_version(tmp_path):
    path = _saved(tmp_path)
    _rewrite_header(path, lambda h: h["__metadata__"].update({"ndgrad.tree": "{oops"}))
    _refused(path, "not valid JSON")
    path = _saved(tmp_path)
    _rewrite_header(path, lambda h: h["__metadata__"].update({"ndgrad.version": "99"}))
    _refused(path, "version '99'")


def test_corrupted_array_bytes_fail_the_crc(tmp_path):
    path = _saved(tmp_path)
    data = bytearray(path.read_bytes())
    data[-3] ^= 0x40
    path.write_bytes(bytes(data))
    _refused(path, "CRC-32")


def test_pickle_and_npy_are_refused(tmp_path):
    import pickle
    path = tmp_path / "x.pt"
    path.write_bytes(pickle.dumps({"w": 1}))
    _refused(path, "a pickle")
    np.save(tmp_path / "a.npy", np.ones(2))
    _refused(tmp_path / "a.npy", "single .npy")


# ------------------------------------------------------------ the old .npz format
def _write_npz(path, entry, **arrays):
    manifest = {"format": "ndgrad.state", "version": 1, "arrays": [entry],
                "tree": {"__dict__": [["w", {"__array__": 0}]]}}
    buf = np.frombuffer(json.dumps(manifest).encode(), np.uint8)
    np.savez(path, __manifest__=buf, **arrays)


@pytest.mark.parametrize("entry, fragment", [
    ({"name": "a0", "path": ["w"], "shape": "abc", "dtype": "<f8"}, "not a list of non-negative"),
    ({"name": "a0", "path": ["w"], "shape": [3.5], "dtype": "<f8"}, "not a list of non-negative"),
    ({"name": 0, "path": ["w"], "shape": [3], "dtype": "<f8"}, "name of type int"),
    ({"name": "a0", "path": "w", "shape": [3], "dtype": "<f8"}, "path of type str"),
    ({"name": "a0", "path": ["w"], "shape": [3], "dtype": ["<f8"]}, "dtype of type list"),
    ({"name": "a0", "path": ["w"], "shape": [3], "dtype": "float99"}, "unknown dtype"),
])
def test_legacy_manifest_entries_of_the_wrong_type(tmp_path, entry, fragment):
    path = tmp_path / "old.npz"
    _write_npz(path, entry, a0=np.ones(3))
    _refused(path, fragment)


def test_legacy_array_header_declaring_more_than_the_file_holds(tmp_path):
    path = tmp_path / "old.npz"
    _write_npz(path, {"name": "a0", "path": ["w"], "shape": [3], "dtype": "<f8"},
               a0=np.ones(3))
    # Replace a0.npy by a header claiming 2**40 float64s followed by 24 bytes of data.
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f8", "fortran_order": False, "shape": (2 ** 40,)})
    with zipfile.ZipFile(path) as z:
        manifest = z.read("__manifest__.npy")
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("__manifest__.npy", manifest)
        z.writestr("a0.npy", header.getvalue() + b"\0" * 24)
    _refused(path, "truncated: its header declares shape")


def test_legacy_file_round_trips(tmp_path):
    path = tmp_path / "old.npz"
    _legacy_npz.save_npz({"w": np.arange(3.0)}, path)
    with pytest.warns(UserWarning):
        nn.serialization._warned_legacy = False
        np.testing.assert_array_equal(load(path)["w"], np.arange(3.0))


# ------------------------------------------------------------ saving and loading values
@pytest.mark.parametrize("value, fragment", [
    (np.ones(2, np.complex128), "complex128"),
    (np.array(["ab", "c"]), "<U2|str"),
    (np.array([1], dtype="datetime64[s]"), "datetime64"),
])
def test_save_refuses_arrays_safetensors_cannot_hold(tmp_path, value, fragment):
    with pytest.raises(TypeError, match=f"model/bad.*({fragment})"):
        save({"model": {"bad": value}}, tmp_path / "x")
    assert not (tmp_path / "x").exists()


def test_load_map_location_other_than_cpu(tmp_path):
    path = _saved(tmp_path)
    with pytest.raises(ValueError, match="map_location='cuda'.*CPU"):
        load(path, map_location="cuda")


@pytest.mark.parametrize("value, fragment", [
    (np.array(["a", "b", "c"]), "array of dtype <U1"),
    (np.array([None, None, None], dtype=object), "array of dtype object"),
    ("abc", "str 'abc'"),
    (None, "NoneType"),
])
def test_load_state_dict_with_a_non_numeric_value_names_the_key(value, fragment):
    model = nn.Linear(3, 1)
    with pytest.raises(RuntimeError, match=f'parameter named "bias".*{fragment}'):
        model.load_state_dict({"weight": np.ones((1, 3), np.float32), "bias": value})


def test_load_state_dict_non_tensor_like_torch():
    torch = pytest.importorskip("torch")
    with pytest.raises(RuntimeError, match='While copying the parameter named "bias"'):
        torch.nn.Linear(3, 1).load_state_dict({"weight": torch.ones(1, 3), "bias": "abc"})
    with pytest.raises(RuntimeError, match='While copying the parameter named "bias"'):
        nn.Linear(3, 1).load_state_dict({"weight": np.ones((1, 3)), "bias": "abc"})
