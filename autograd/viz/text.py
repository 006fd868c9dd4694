"""Text for labels and tables: shapes, numbers, byte sizes, attributes, DOT escaping,
gradient statistics."""
import numpy as np

from ..variable import Variable

def _shape_str(shape):
    return "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


def _meta_str(meta):
    if meta is None:
        return ""
    shape, dtype = meta
    return f"{_shape_str(shape)} {getattr(dtype, 'name', dtype)}"


def _g(x, digits=4):
    """A number, short."""
    x = float(x)
    if x == int(x) and abs(x) < 1e15:
        return f"{x:.1f}"
    return f"{x:.{digits}g}"


def _fmt_bytes(n):
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n} B" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024


def _fmt_index_item(v):
    if isinstance(v, slice):
        parts = ["" if v.start is None else str(v.start), "" if v.stop is None else str(v.stop)]
        if v.step is not None:
            parts.append(str(v.step))
        return ":".join(parts)
    if v is Ellipsis:
        return "..."
    if v is None:
        return "None"
    return _fmt_attr(v)


def _fmt_attr(v, limit=40):
    """A non-tensor attribute, briefly (index arrays are summarized)."""
    if isinstance(v, np.ndarray):
        if v.size <= 6:
            text = np.array2string(v, separator=" ", threshold=6)
        else:
            text = f"array{_shape_str(v.shape)} {v.dtype}"
    elif isinstance(v, Variable):
        text = f"{type(v).__name__}{_shape_str(v.shape)}"
    elif isinstance(v, slice) or v is Ellipsis:
        text = _fmt_index_item(v)
    elif isinstance(v, tuple) and any(isinstance(x, (slice, np.ndarray, type(Ellipsis)))
                                      for x in v):
        text = "[" + ", ".join(_fmt_index_item(x) for x in v) + "]"
    elif isinstance(v, type) and issubclass(v, np.generic):
        text = np.dtype(v).name
    elif isinstance(v, np.dtype):
        text = v.name
    elif isinstance(v, float):
        text = f"{v:g}"
    else:
        text = repr(v)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _escape(text):
    """Text for a DOT label (the graphviz package adds the quotes)."""
    return str(text).replace("\\", "\\\\").replace('"', '\\"')


def _escape_record(text):
    """Text for one field of a graphviz record label."""
    text = _escape(text)
    for ch in "{}|<>":
        text = text.replace(ch, "\\" + ch)
    return text


def _lines(*lines):
    return "\\n".join(_escape(l) for l in lines if l)


def _array(x):
    return x._data if isinstance(x, Variable) else x


def _finite(x):
    if x is None:
        return True
    arr = np.asarray(_array(x))
    if arr.dtype.kind not in "fc":
        return True
    return bool(np.all(np.isfinite(arr)))


def _grad_stats(g):
    arr = np.asarray(_array(g))
    if arr.ndim == 0:
        return f"grad {_g(arr)}"
    if arr.size == 0:
        return "grad (empty)"
    return (f"grad ‖·‖ {float(np.linalg.norm(arr.astype(np.float64, copy=False))):.4g}"
            f"  min {float(arr.min()):.4g}  max {float(arr.max()):.4g}")

