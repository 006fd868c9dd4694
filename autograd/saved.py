"""Saved buffers: how memory that a live graph needs is kept honest.

Backward formulas read what forward saved (``ctx.save_for_backward``), often the very
arrays of the inputs, without copying them. If that memory changed before backward,
the gradient would be silently wrong. ndgrad guards it in two ways, one per kind of
write. Each saved NumPy array gets a ``SavedBuffer`` record (shared by every node that
saved the same array, with a count) and is flagged read-only while any of them is
alive, so a write that bypasses ndgrad (NumPy on ``.numpy()``, ``np.copyto``) raises.
ndgrad's own in-place writes (``add_``, ``x[i] = v``, ``optimizer.step()``, loading a
state dict) are allowed, as in PyTorch: ``prepare_write`` first marks every record that
shares the target's memory as *overwritten* (naming the op), gives the arrays their
writeable flag back and forgets the records; the write then goes ahead. A node that
saved an overwritten buffer refuses to run its backward with PyTorch's error ("one of
the variables needed for gradient computation has been modified by an inplace
operation"), so a stale graph can never produce a gradient. When the last node holding
a record releases it (after backward, or when its graph is dropped), the array becomes
writeable again. Memory is matched by its owner (``base``): writing any view of it
counts as writing all of them, like PyTorch's version counter shared by views.
"""
_records = {}   # id(array) -> SavedBuffer, for every array a live node saved
_views = {}     # id(owner of the memory) -> {id(view): SavedBuffer} for saved views of it
_pending = []   # released arrays that NumPy won't make writeable until their base is


class SavedBuffer:
    """One saved array: how many live nodes hold it, and who overwrote it (if anyone)."""
    __slots__ = ("array", "count", "overwritten", "root")

    def __init__(self, array, root):
        self.array, self.count, self.overwritten, self.root = array, 1, None, root


def _root(arr):
    """The object that owns ``arr``'s memory (follows ``base`` through views)."""
    base = arr.base
    while base is not None:
        arr = base
        base = getattr(base, "base", None)
    return arr


def protect(arr):
    """Record that one more live node saved ``arr``; returns its SavedBuffer (or None
    for an array that was read-only already, e.g. a broadcast view, which needs none)."""
    rec = _records.get(id(arr))
    if rec is not None:
        rec.count += 1
        return rec
    if not arr.flags.writeable:
        return None
    # setflags with a positional argument: a third of the time of write=False (keyword
    # parsing) and of flags.writeable = False
    arr.setflags(False)
    rec = _records[id(arr)] = _new_record(SavedBuffer)  # (no __init__ call: ~0.1 us less)
    rec.array, rec.count, rec.overwritten = arr, 1, None
    if arr.base is None:  # owns its memory: found by its own id
        rec.root = arr
        return rec
    rec.root = root = _root(arr)
    group = _views.get(id(root))
    if group is None:
        _views[id(root)] = group = {}
    group[id(arr)] = rec
    return rec


_new_record = object.__new__


def release(rec):
    """One node no longer needs ``rec``'s array; the last one gives back its writeability."""
    rec.count -= 1
    if rec.count > 0 or rec.overwritten is not None:
        return
    arr = rec.array
    if rec.root is arr:  # owns its memory (the common case): inline _forget; an array
        del _records[id(arr)]  # that owns its memory can always be made writeable again
        arr.setflags(True)
    else:
        _forget(rec)
        if not _make_writeable(arr):
            _pending.append(arr)  # a view whose base is still saved elsewhere
            return
    if _pending:
        _retry_pending()


class Guard(list):
    """The records of the arrays one graph node saved (a list of them: one object fewer
    per node for the garbage collector to scan). Dropping the guard releases them
    (``__del__``; CPython runs it the moment the last reference goes): the node drops
    it after backward (``Context._release``), or is itself dropped without backward, so
    a forgotten graph never leaves arrays read-only. One release path, and one Python
    call per node rather than two. Only nodes that saved a writeable array have a
    guard, so the other nodes (all of a Scalar graph) carry no finalizer."""
    __slots__ = ()

    def check(self, node):
        """Raise PyTorch's error if one of the arrays ``node`` saved was overwritten since."""
        for rec in self:
            if rec.overwritten is not None:
                raise stale_error(node.name, rec)

    def __del__(self):
        try:
            for rec in self:
                release(rec)
        except Exception:  # interpreter shutdown: the module's globals may be gone
            pass


def _forget(rec):
    _records.pop(id(rec.array), None)
    if rec.root is rec.array:
        return
    group = _views.get(id(rec.root))
    if group is not None:
        group.pop(id(rec.array), None)
        if not group:
            del _views[id(rec.root)]


def _sharing(arr):
    """The live records whose arrays share memory with ``arr`` (same owner)."""
    root = _root(arr)
    found = []
    owner = _records.get(id(root))
    if owner is not None and owner.array is root:
        found.append(owner)
    group = _views.get(id(root))
    if group:
        found.extend(group.values())
    return found


def _make_writeable(arr):
    try:
        arr.setflags(True)
        return True
    except ValueError:
        return False


def _retry_pending():
    progress = True
    while progress and _pending:
        waiting = _pending[:]
        _pending.clear()
        _pending.extend(a for a in waiting if not _make_writeable(a))
        progress = len(_pending) < len(waiting)


def _self_overlapping(arr):
    return any(stride == 0 and n > 1 for stride, n in zip(arr.strides, arr.shape))


def prepare_write(arr, op):
    """Make ``arr`` ready for an in-place write by ``op`` (e.g. ``"add_"``).

    Every saved buffer sharing its memory is marked overwritten (its nodes will refuse
    backward) and made writeable. Memory that is read-only for another reason (an
    ``expand`` view, ``np.frombuffer``, a file mapped read-only) is refused, saying why.
    """
    if _self_overlapping(arr):
        raise RuntimeError(
            f"{op}: unsupported operation: more than one element of the written-to tensor "
            f"(shape {arr.shape}) refers to a single memory location (an expand/broadcast "
            f"view). Please clone() the tensor before performing the operation.")
    recs = _sharing(arr) if _records else None
    if recs:
        for rec in recs:
            rec.overwritten = op
            _forget(rec)
        # owners first: NumPy lets a view become writeable only once its base is
        for rec in sorted(recs, key=lambda r: r.array.base is not None):
            _make_writeable(rec.array)
        if _pending:
            _retry_pending()
        if not arr.flags.writeable:
            _make_writeable(arr)  # a view taken of a saved array while it was read-only
    if not arr.flags.writeable:
        raise RuntimeError(
            f"{op}: cannot write in place into a tensor of shape {arr.shape}: its memory is "
            f"read-only (it wraps a read-only buffer, such as np.frombuffer of bytes or a "
            f"file mapped read-only, or it is Tensor.unfold's windows). Use clone() to get a "
            f"writeable copy.")


def shares_saved_memory(arr):
    """Does ``arr`` share memory with an array that a live graph saved?"""
    return bool(_records) and bool(_sharing(arr))


def stale_error(node_name, rec):
    """PyTorch's error for a backward through a node whose saved buffer was overwritten."""
    arr = rec.array
    return RuntimeError(
        f"one of the variables needed for gradient computation has been modified by an "
        f"inplace operation: [{arr.dtype} tensor of shape {list(arr.shape)}], saved by "
        f"{node_name}Backward, was overwritten by {rec.overwritten} after it was saved. "
        f"Hint: recompute the forward pass after the in-place change (e.g. after "
        f"optimizer.step()), or use the out-of-place op.")


def live_count():
    """How many saved arrays are currently protected (for tests of leaks)."""
    return len(_records)
