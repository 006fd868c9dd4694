"""Reading ndgrad's first checkpoint format (``.npz`` + JSON manifest), kept so that old
files still load; ``nn.save`` now writes safetensors (see ``serialization.py``).

The file is one ``.npz`` archive (``np.savez``): the arrays, as ``a0.npy``, ``a1.npy``, ...,
plus ``__manifest__.npy``, a uint8 array holding UTF-8 JSON::

    {"format": "ndgrad.state", "version": 1,
     "arrays": [{"name": "a0", "path": ["model", "fc.weight"], "shape": [10, 784], "dtype": "<f4"}, ...],
     "tree": {"__dict__": [["model", {"__dict__": [["fc.weight", {"__array__": 0}], ...]}],
                           ["epoch", 3]]}}

``tree`` rebuilds the object: JSON scalars stand for themselves; ``{"__array__": i}`` is the
i-th array (``"scalar": true`` for a NumPy scalar); ``{"__dict__": [[key, value], ...]}``
keeps key order and int keys; ``{"__list__": [...]}`` and ``{"__tuple__": [...]}`` keep the
container type. Reading uses ``np.load(path, allow_pickle=False)``: a file can never run
code. Every array's ``.npy`` header is checked against the archive member's size before
the array is read, so a header that declares more data than the file holds is an error,
not a huge allocation.
"""
import json
import struct
import zipfile
import zlib

import numpy as np

FORMAT_NAME = "ndgrad.state"
VERSION = 1
_MANIFEST = "__manifest__"

# Errors a damaged archive can raise from inside zipfile / np.load.
_READ_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError,
                KeyError, zlib.error, struct.error, UnicodeDecodeError, NotImplementedError)


class Bad(Exception):
    """A problem with the file, turned into a ValueError naming the path by the caller."""


def path_str(keys):
    return "/".join(str(k) for k in keys) or "<root>"


def _read_manifest(npz):
    if _MANIFEST + ".npy" not in npz.zip.namelist():
        raise Bad("it has no manifest (not a file written by nn.save)")
    try:
        raw = npz[_MANIFEST]
    except ValueError as e:
        raise Bad(f"its manifest cannot be read ({e})") from None
    if raw.dtype != np.uint8 or raw.ndim != 1:
        raise Bad(f"its manifest is a {raw.dtype} array of shape {raw.shape}, not bytes")
    try:
        manifest = json.loads(raw.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise Bad(f"its manifest is not valid JSON ({e})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_NAME:
        fmt = manifest.get("format") if isinstance(manifest, dict) else None
        raise Bad(f"its manifest names format {fmt!r}, not {FORMAT_NAME!r}")
    version = manifest.get("version")
    if version != VERSION:
        raise Bad(f"it has format version {version!r}; this ndgrad reads version {VERSION} "
                  f"(.npz) and safetensors files")
    if not isinstance(manifest.get("arrays"), list) or "tree" not in manifest:
        raise Bad("its manifest lacks the 'arrays' table or the 'tree'")
    return manifest


def _check_entry(i, entry):
    """The manifest entry's fields, with their types checked: (name, where, shape, dtype)."""
    if not isinstance(entry, dict) or not {"name", "shape", "dtype"} <= set(entry):
        raise Bad(f"manifest entry {i} of the array table is malformed")
    name, shape, path = entry["name"], entry["shape"], entry.get("path")
    if not isinstance(name, str):
        raise Bad(f"manifest entry {i} has a name of type {type(name).__name__}, not str")
    if path is not None and not isinstance(path, list):
        raise Bad(f"manifest entry {i} has a path of type {type(path).__name__}, not a list")
    where = path_str(path or [name])
    if not (isinstance(shape, list) and all(type(s) is int and s >= 0 for s in shape)):
        raise Bad(f"the manifest gives {where!r} the shape {shape!r:.60}, not a list of "
                  f"non-negative ints")
    if not isinstance(entry["dtype"], str):
        raise Bad(f"the manifest gives {where!r} a dtype of type "
                  f"{type(entry['dtype']).__name__}, not str")
    try:
        dtype = np.dtype(entry["dtype"])
    except (TypeError, ValueError):
        raise Bad(f"the manifest gives {where!r} an unknown dtype {entry['dtype']!r}") from None
    if dtype.hasobject:
        raise Bad(f"the manifest gives {where!r} an object dtype")
    return name, where, shape, dtype


def _check_npy_header(npz, member, where):
    """Compare the size the member's .npy header declares with what the archive holds."""
    info = npz.zip.getinfo(member)
    with npz.zip.open(member) as f:
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(f)
        else:
            shape, _, dtype = np.lib.format.read_array_header_2_0(f)
        header = f.tell()
    if dtype.hasobject:
        raise Bad(f"the array for {where!r} has an object dtype")
    declared = int(np.prod(shape, dtype=object)) * dtype.itemsize
    if declared > info.file_size - header:
        raise Bad(f"the array for {where!r} is truncated: its header declares shape "
                  f"{tuple(shape)} ({declared} bytes) but the file holds "
                  f"{info.file_size - header} bytes")


def _read_arrays(npz, table):
    members = set(npz.zip.namelist())
    expected = {_MANIFEST + ".npy"}
    arrays = []
    for i, entry in enumerate(table):
        name, where, shape, dtype = _check_entry(i, entry)
        if name + ".npy" not in members:
            raise Bad(f"the array for {where!r} ({name!r}) is missing")
        expected.add(name + ".npy")
        _check_npy_header(npz, name + ".npy", where)
        try:
            arr = npz[name]  # allow_pickle=False: an object array raises ValueError here
        except ValueError as e:
            raise Bad(f"the array for {where!r} cannot be read ({e})") from None
        if arr.dtype.hasobject:
            raise Bad(f"the array for {where!r} has an object dtype")
        if arr.dtype != dtype or arr.dtype.str != dtype.str:
            raise Bad(f"the array for {where!r} has dtype {arr.dtype.str}, but the manifest "
                      f"says {dtype.str}")
        if list(arr.shape) != shape:
            raise Bad(f"the array for {where!r} has shape {list(arr.shape)}, but the manifest "
                      f"says {shape}")
        arrays.append(arr)
    extra = sorted(members - expected)
    if extra:
        raise Bad(f"it holds entries the manifest does not list: {extra[:5]}")
    return arrays


def decode(node, lookup, used):
    """Rebuild the object from a manifest ``tree``; ``lookup(ref)`` returns array ``ref``
    (raising Bad if there is none). Shared with the safetensors reader."""
    if node is None or isinstance(node, (bool, int, float, str)):
        return node
    if isinstance(node, dict) and "__array__" in node and set(node) <= {"__array__", "scalar",
                                                                         "dtype"}:
        ref = node["__array__"]
        if ref in used:
            raise Bad(f"the state tree uses array {ref!r} twice")
        arr = lookup(ref)
        used.add(ref)
        if "dtype" in node:  # saved big-endian: give it back in its own byte order
            arr = arr.astype(_node_dtype(node, ref, arr))
        if node.get("scalar"):
            if arr.ndim != 0:
                raise Bad(f"array {ref!r} is marked as a scalar but has shape {arr.shape}")
            return arr[()]
        return arr
    if isinstance(node, dict) and len(node) == 1:
        (tag, value), = node.items()
        if tag in ("__list__", "__tuple__") and isinstance(value, list):
            items = [decode(v, lookup, used) for v in value]
            return tuple(items) if tag == "__tuple__" else items
        if tag == "__dict__" and isinstance(value, list):
            out = {}
            for item in value:
                if not (isinstance(item, list) and len(item) == 2
                        and isinstance(item[0], (str, int)) and not isinstance(item[0], bool)):
                    raise Bad(f"the state tree has a malformed dict entry {item!r:.60}")
                out[item[0]] = decode(item[1], lookup, used)
            return out
    raise Bad(f"the state tree has an unrecognised node {node!r:.60}")


def _node_dtype(node, ref, arr):
    try:
        dtype = np.dtype(node["dtype"]) if isinstance(node["dtype"], str) else None
    except (TypeError, ValueError):
        dtype = None
    if dtype is None or dtype.newbyteorder("=") != arr.dtype.newbyteorder("="):
        raise Bad(f"the metadata gives array {ref!r} the dtype {node['dtype']!r:.40}, which "
                  f"does not match its stored {arr.dtype}")
    return dtype


def load_npz(path):
    """Load a version-1 ``.npz`` state file; raises ``Bad`` (or a read error) if malformed."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            if not isinstance(npz, np.lib.npyio.NpzFile):
                raise Bad("it is not an .npz archive")
            manifest = _read_manifest(npz)
            arrays = _read_arrays(npz, manifest["arrays"])
    except _READ_ERRORS as e:
        if isinstance(e, FileNotFoundError):
            raise
        raise Bad(f"the archive is damaged or truncated ({type(e).__name__}: {e})") from e

    def lookup(i):
        if isinstance(i, bool) or not isinstance(i, int) or not 0 <= i < len(arrays):
            raise Bad(f"the manifest refers to a missing array {i!r}")
        return arrays[i]

    used = set()
    obj = decode(manifest["tree"], lookup, used)
    if len(used) != len(arrays):
        raise Bad("the manifest lists arrays its tree does not use")
    return obj


def save_npz(obj, path):
    """Write ``obj`` in this old format (for tests and for comparing formats; ``nn.save``
    writes safetensors)."""
    from .serialization import _encode
    arrays = []
    tree = _encode(obj, (), arrays)
    entries, table = {}, []
    for i, (keys, arr) in enumerate(arrays):
        entries[f"a{i}"] = arr
        table.append({"name": f"a{i}", "path": list(keys), "shape": list(arr.shape),
                      "dtype": arr.dtype.str})
    manifest = {"format": FORMAT_NAME, "version": VERSION, "arrays": table, "tree": tree}
    text = json.dumps(manifest, allow_nan=True, ensure_ascii=False, separators=(",", ":"))
    entries[_MANIFEST] = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    with open(path, "wb") as f:
        np.savez(f, **entries)
