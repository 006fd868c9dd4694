"""Hand-written NumPy reference implementations (no graph, no autograd).

This is the baseline the benchmarks compare ndgrad with: what a careful person
would write directly in NumPy, forward and backward derived by hand, so that
``ndgrad / numpy-ref`` measures what the autograd engine and the op library
cost on top of the arithmetic itself.

* conv2d forward + backward via im2col, with stride, padding and dilation:
  one ``as_strided`` window view of the padded input, copied once into the
  column matrix ``cols`` of shape (C*KH*KW, N*OH*OW); three GEMMs (forward
  ``W @ cols``, ``dW = g @ cols.T``, ``dcols = W.T @ g``); col2im as one
  strided add per kernel offset (KH*KW adds of (N, C, OH, OW) blocks).
* max_pool2d forward + backward, separable: a max over the KW columns (one
  strided slice each), then over the KH rows, keeping the index of the first
  maximum at each stage (so the gradient goes to the first maximum in
  row-major window order, as in PyTorch); backward routes the gradient back
  through the two stages with one strided write (or add, if windows overlap)
  per offset.
* avg_pool2d forward + backward with one strided slice per window offset
  (count_include_pad=True); an exact 2-D tiling's backward is two np.repeat.
* ``LeNet5`` and ``MLP`` models with a full SGD training step.

``python benchmarks/numpy_reference.py --check`` compares every gradient with
PyTorch in float64.
"""
import numpy as np
from numpy.lib.stride_tricks import as_strided


def _pair(v):
    return (v, v) if isinstance(v, (int, np.integer)) else tuple(v)


def _out_size(size, k, s, p, d):
    return (size + 2 * p - d * (k - 1) - 1) // s + 1


# --------------------------------------------------------------------------- conv2d
def conv2d_forward(x, w, b=None, stride=1, padding=0, dilation=1):
    """x (N, C, H, W), w (O, C, KH, KW), b (O,) or None -> (out, cache)."""
    sh, sw = _pair(stride)
    ph, pw = _pair(padding)
    dh, dw = _pair(dilation)
    N, C, H, W = x.shape
    O, C2, KH, KW = w.shape
    assert C == C2, "groups != 1 not supported by the reference"
    OH = _out_size(H, KH, sh, ph, dh)
    OW = _out_size(W, KW, sw, pw, dw)
    if ph or pw:
        xp = np.zeros((N, C, H + 2 * ph, W + 2 * pw), dtype=x.dtype)
        xp[:, :, ph:ph + H, pw:pw + W] = x
    else:
        xp = np.ascontiguousarray(x)
    s_n, s_c, s_h, s_w = xp.strides
    # (C, KH, KW, N, OH, OW) view of every receptive field; reshape copies it
    # into the (C*KH*KW, N*OH*OW) column matrix, C-contiguous for the GEMMs.
    win = as_strided(xp, shape=(C, KH, KW, N, OH, OW),
                     strides=(s_c, s_h * dh, s_w * dw, s_n, s_h * sh, s_w * sw),
                     writeable=False)
    cols = win.reshape(C * KH * KW, N * OH * OW)
    wm = w.reshape(O, C * KH * KW)
    out = wm @ cols                                    # (O, N*OH*OW)
    if b is not None:
        out += b[:, None]
    out = np.ascontiguousarray(out.reshape(O, N, OH, OW).transpose(1, 0, 2, 3))
    cache = (x.shape, xp.shape, w, cols, (sh, sw), (ph, pw), (dh, dw), b is not None)
    return out, cache


def conv2d_backward(g, cache, need_dx=True):
    """g (N, O, OH, OW) -> (dx or None, dw, db or None)."""
    x_shape, xp_shape, w, cols, (sh, sw), (ph, pw), (dh, dw), has_bias = cache
    N, C, H, W = x_shape
    O, _, KH, KW = w.shape
    _, _, OH, OW = g.shape
    gm = np.ascontiguousarray(g.transpose(1, 0, 2, 3)).reshape(O, N * OH * OW)
    dw_ = (gm @ cols.T).reshape(w.shape)               # GEMM 2
    db = g.sum(axis=(0, 2, 3)) if has_bias else None
    if not need_dx:
        return None, dw_, db
    wm = w.reshape(O, C * KH * KW)
    dcols = (wm.T @ gm).reshape(C, KH, KW, N, OH, OW)  # GEMM 3
    # col2im: every kernel offset (i, j) touched a strided (OH, OW) grid of the
    # padded input; add its block there. Overlaps accumulate across offsets.
    # Accumulating in (C, N, H, W) order reads each dcols block contiguously
    # (1.0-1.5x faster than adding transposed blocks into (N, C, H, W)); dx is
    # returned as the (N, C, H, W) transposed view of it, not copied.
    dxp = np.zeros((C, N) + tuple(xp_shape[2:]), dtype=g.dtype)
    for i in range(KH):
        hi = i * dh
        for j in range(KW):
            wj = j * dw
            dxp[:, :, hi:hi + sh * (OH - 1) + 1:sh, wj:wj + sw * (OW - 1) + 1:sw] += dcols[:, i, j]
    dx = dxp[:, :, ph:ph + H, pw:pw + W] if (ph or pw) else dxp
    return dx.transpose(1, 0, 2, 3), dw_, db


def conv2d_flops(x_shape, w_shape, out_shape):
    """Multiply-adds x2 of one forward; the backward is twice that (dW, dX)."""
    N, C, _, _ = x_shape
    O, _, KH, KW = w_shape
    _, _, OH, OW = out_shape
    return 2.0 * N * O * OH * OW * C * KH * KW


def conv2d_gemm_operands(x_shape, w_shape, stride=1, padding=0, dilation=1, dtype=np.float32,
                         rng=None):
    """Pre-built matrices for the three im2col GEMMs (the lower bound of the
    im2col approach: everything except building cols and col2im)."""
    rng = np.random.default_rng(0) if rng is None else rng
    N, C, H, W = x_shape
    O, _, KH, KW = w_shape
    sh, sw = _pair(stride)
    ph, pw = _pair(padding)
    dh, dw = _pair(dilation)
    OH = _out_size(H, KH, sh, ph, dh)
    OW = _out_size(W, KW, sw, pw, dw)
    K, M = C * KH * KW, N * OH * OW
    wm = rng.standard_normal((O, K), dtype=np.float32).astype(dtype)
    cols = rng.standard_normal((K, M), dtype=np.float32).astype(dtype)
    gm = rng.standard_normal((O, M), dtype=np.float32).astype(dtype)

    def gemms():
        wm @ cols        # forward
        gm @ cols.T      # dweight
        wm.T @ gm        # dcols
    return gemms


# --------------------------------------------------------------------------- pooling
def _pool_geometry(x_shape, kernel_size, stride, padding, dilation=1):
    kh, kw = _pair(kernel_size)
    sh, sw = _pair(kernel_size if stride is None else stride)
    ph, pw = _pair(padding)
    dh, dw = _pair(dilation)
    N, C, H, W = x_shape
    OH = _out_size(H, kh, sh, ph, dh)
    OW = _out_size(W, kw, sw, pw, dw)
    return (kh, kw), (sh, sw), (ph, pw), (dh, dw), OH, OW


def _offset_slices(kh, kw, sh, sw, dh, dw, OH, OW):
    """(i, j, slice_h, slice_w): the strided (OH, OW) grid of window offset (i, j)."""
    for i in range(kh):
        for j in range(kw):
            yield (slice(i * dh, i * dh + sh * (OH - 1) + 1, sh),
                   slice(j * dw, j * dw + sw * (OW - 1) + 1, sw))


def _tiles(kh, kw, sh, sw, ph, pw, dh, dw):
    """Windows do not overlap (stride == kernel, no dilation or padding)."""
    return (kh, kw) == (sh, sw) and (dh, dw) == (1, 1) and not (ph or pw)


def _first_max(slices):
    """Elementwise max over equally shaped arrays, and which one held the first
    maximum (bool for two arrays, else uint8). No selects: np.maximum for the
    value, arithmetic for the index (np.where / copyto(where=) are far slower)."""
    if len(slices) == 1:
        return slices[0], None
    best, idx = slices[0], None
    for k, s in enumerate(slices[1:], 1):
        take = s > best                   # strictly greater: earlier maxima stay
        best = np.maximum(best, s)
        if len(slices) == 2:
            return best, take
        if idx is None:
            idx = take.astype(np.uint8)
        else:                             # idx = k where take (k > idx), else unchanged
            idx += take.view(np.uint8) * (np.uint8(k) - idx)
    return best, idx


def _axis_slices(k, s, d, o):
    """Kernel offset i along one axis touches padded positions i*d + s*(0..o-1)."""
    return [slice(i * d, i * d + s * (o - 1) + 1, s) for i in range(k)]


def max_pool2d_forward(x, kernel_size=2, stride=None, padding=0, dilation=1):
    """Separable: the max over a KHxKW window is the max over its KW columns
    (per row), then over the KH rows; keeping the first maximum at each stage
    gives the first maximum in row-major window order (PyTorch's choice)."""
    geo = _pool_geometry(x.shape, kernel_size, stride, padding, dilation)
    (kh, kw), (sh, sw), (ph, pw), (dh, dw), OH, OW = geo
    if ph or pw:
        xp = np.full(x.shape[:2] + (x.shape[2] + 2 * ph, x.shape[3] + 2 * pw), -np.inf, x.dtype)
        xp[:, :, ph:ph + x.shape[2], pw:pw + x.shape[3]] = x
    else:
        xp = x
    cm, cidx = _first_max([xp[:, :, :, c] for c in _axis_slices(kw, sw, dw, OW)])
    out, ridx = _first_max([cm[:, :, r, :] for r in _axis_slices(kh, sh, dh, OH)])
    if kh * kw == 1:
        out = out.copy()
    return out, (cidx, ridx, cm.shape, xp.shape, x.shape, geo)


def _route(g, idx, axis, size, k, s, d, o):
    """Adjoint of picking slice idx along ``axis``: each offset's block of g,
    masked to where that offset won, written (or added, if offsets overlap)
    into its strided slice of a fresh array whose ``axis`` has length ``size``."""
    shape = list(g.shape)
    shape[axis] = size
    disjoint = d * (k - 1) < s                     # offsets never share a position
    covered = disjoint and d == 1 and s == k and s * o == size
    out = (np.empty if covered else np.zeros)(shape, g.dtype)
    ix = [slice(None)] * g.ndim
    for i, sl in enumerate(_axis_slices(k, s, d, o)):
        ix[axis] = sl
        dest = out[tuple(ix)]
        if idx is None:
            mask = None
        elif idx.dtype == bool:
            mask = idx if i == 1 else ~idx
        else:
            mask = idx == i
        if mask is None:
            if disjoint:
                dest[...] = g
            else:
                dest += g
        elif disjoint:
            np.multiply(g, mask, out=dest)
        else:
            dest += g * mask
    return out


def max_pool2d_backward(g, cache):
    """The gradient goes to the first maximum of each window (row-major):
    back through the row stage, then through the column stage."""
    cidx, ridx, cm_shape, xp_shape, x_shape, geo = cache
    (kh, kw), (sh, sw), (ph, pw), (dh, dw), OH, OW = geo
    gc = _route(g, ridx, 2, cm_shape[2], kh, sh, dh, OH)
    dxp = _route(gc, cidx, 3, xp_shape[3], kw, sw, dw, OW)
    if ph or pw:
        return dxp[:, :, ph:ph + x_shape[2], pw:pw + x_shape[3]]
    return dxp


def avg_pool2d_forward(x, kernel_size=2, stride=None, padding=0):
    """count_include_pad=True semantics (PyTorch's default)."""
    (kh, kw), (sh, sw), (ph, pw), _, OH, OW = _pool_geometry(x.shape, kernel_size, stride, padding)
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw))) if (ph or pw) else x
    # one strided slice per window offset; (a reshape + mean over the two
    # window axes is ~10x slower in NumPy: reductions over short strided axes)
    sl = list(_offset_slices(kh, kw, sh, sw, 1, 1, OH, OW))
    out = xp[:, :, sl[0][0], sl[0][1]].copy()
    for hs, ws in sl[1:]:
        out += xp[:, :, hs, ws]
    out *= out.dtype.type(1.0 / (kh * kw))
    return out, (x.shape, (kh, kw), (sh, sw), (ph, pw), OH, OW)


def avg_pool2d_backward(g, cache):
    x_shape, (kh, kw), (sh, sw), (ph, pw), OH, OW = cache
    N, C, H, W = x_shape
    gs = g * g.dtype.type(1.0 / (kh * kw))
    if _tiles(kh, kw, sh, sw, ph, pw, 1, 1) and H == OH * kh and W == OW * kw:
        # exact tiling: every input element gets its window's share once
        return np.repeat(np.repeat(gs, kh, axis=2), kw, axis=3)
    dxp = np.zeros((N, C, H + 2 * ph, W + 2 * pw), dtype=g.dtype)
    for hs, ws in _offset_slices(kh, kw, sh, sw, 1, 1, OH, OW):
        dxp[:, :, hs, ws] += gs
    return dxp[:, :, ph:ph + H, pw:pw + W] if (ph or pw) else dxp


# --------------------------------------------------------------------------- dense pieces
def linear_forward(x, w, b):
    """PyTorch layout: w (out, in)."""
    return x @ w.T + b


def linear_backward(g, x, w, need_dx=True):
    return (g @ w if need_dx else None), g.T @ x, g.sum(axis=0)


def cross_entropy(logits, target):
    """Mean softmax cross-entropy and its gradient w.r.t. the logits."""
    n = logits.shape[0]
    z = logits - logits.max(axis=1, keepdims=True)
    ez = np.exp(z)
    s = ez.sum(axis=1, keepdims=True)
    logp = z - np.log(s)
    loss = -logp[np.arange(n), target].mean()
    grad = ez / s
    grad[np.arange(n), target] -= 1
    grad /= n
    return loss, grad


def kaiming_uniform(rng, shape, fan_in, dtype):
    """PyTorch's default Linear/Conv init bound 1/sqrt(fan_in)."""
    bound = 1.0 / np.sqrt(fan_in)
    return rng.uniform(-bound, bound, size=shape).astype(dtype)


# --------------------------------------------------------------------------- models
class LeNet5:
    """conv(1->20, k5, p2) relu maxpool2 conv(20->50, k5, p2) relu maxpool2
    flatten linear(2450->500) relu linear(500->10); softmax cross-entropy; SGD."""

    def __init__(self, dtype=np.float32, seed=0):
        rng = np.random.default_rng(seed)
        self.params = {
            "c1.w": kaiming_uniform(rng, (20, 1, 5, 5), 25, dtype),
            "c1.b": kaiming_uniform(rng, (20,), 25, dtype),
            "c2.w": kaiming_uniform(rng, (50, 20, 5, 5), 500, dtype),
            "c2.b": kaiming_uniform(rng, (50,), 500, dtype),
            "f1.w": kaiming_uniform(rng, (500, 2450), 2450, dtype),
            "f1.b": kaiming_uniform(rng, (500,), 2450, dtype),
            "f2.w": kaiming_uniform(rng, (10, 500), 500, dtype),
            "f2.b": kaiming_uniform(rng, (10,), 500, dtype),
        }

    def loss_and_grads(self, x, y):
        p = self.params
        a1, c1 = conv2d_forward(x, p["c1.w"], p["c1.b"], 1, 2)
        r1 = np.maximum(a1, 0)
        m1, pc1 = max_pool2d_forward(r1, 2)
        a2, c2 = conv2d_forward(m1, p["c2.w"], p["c2.b"], 1, 2)
        r2 = np.maximum(a2, 0)
        m2, pc2 = max_pool2d_forward(r2, 2)
        f = m2.reshape(m2.shape[0], -1)
        h = linear_forward(f, p["f1.w"], p["f1.b"])
        hr = np.maximum(h, 0)
        logits = linear_forward(hr, p["f2.w"], p["f2.b"])
        loss, g = cross_entropy(logits, y)

        grads = {}
        g, grads["f2.w"], grads["f2.b"] = linear_backward(g, hr, p["f2.w"])
        g = g * (h > 0)
        g, grads["f1.w"], grads["f1.b"] = linear_backward(g, f, p["f1.w"])
        g = max_pool2d_backward(g.reshape(m2.shape), pc2)
        g = g * (a2 > 0)
        g, grads["c2.w"], grads["c2.b"] = conv2d_backward(g, c2)
        g = max_pool2d_backward(g, pc1)
        g = g * (a1 > 0)
        _, grads["c1.w"], grads["c1.b"] = conv2d_backward(g, c1, need_dx=False)
        return loss, grads

    def step(self, x, y, lr=0.01):
        loss, grads = self.loss_and_grads(x, y)
        for k, gk in grads.items():
            self.params[k] -= lr * gk
        return loss


class MLP:
    """784-512-256-10 with relu; softmax cross-entropy; SGD."""

    def __init__(self, sizes=(784, 512, 256, 10), dtype=np.float32, seed=0):
        rng = np.random.default_rng(seed)
        self.params = {}
        for i, (fi, fo) in enumerate(zip(sizes[:-1], sizes[1:])):
            self.params[f"l{i}.w"] = kaiming_uniform(rng, (fo, fi), fi, dtype)
            self.params[f"l{i}.b"] = kaiming_uniform(rng, (fo,), fi, dtype)
        self.n = len(sizes) - 1

    def loss_and_grads(self, x, y):
        p = self.params
        acts, pre = [x], []
        h = x
        for i in range(self.n):
            z = linear_forward(h, p[f"l{i}.w"], p[f"l{i}.b"])
            pre.append(z)
            h = np.maximum(z, 0) if i < self.n - 1 else z
            acts.append(h)
        loss, g = cross_entropy(h, y)
        grads = {}
        for i in reversed(range(self.n)):
            if i < self.n - 1:
                g = g * (pre[i] > 0)
            g, grads[f"l{i}.w"], grads[f"l{i}.b"] = linear_backward(
                g, acts[i], p[f"l{i}.w"], need_dx=i > 0)
        return loss, grads

    def step(self, x, y, lr=0.01):
        loss, grads = self.loss_and_grads(x, y)
        for k, gk in grads.items():
            self.params[k] -= lr * gk
        return loss


# --------------------------------------------------------------------------- self-check
def _check():
    import torch
    import torch.nn.functional as TF
    torch.set_num_threads(1)
    rng = np.random.default_rng(1)
    dt = np.float64
    worst = {}

    def close(name, ours, theirs, rtol=1e-10, atol=1e-12):
        theirs = theirs.detach().numpy() if hasattr(theirs, "detach") else np.asarray(theirs)
        ours = np.asarray(ours)
        assert ours.shape == theirs.shape, (name, ours.shape, theirs.shape)
        err = np.max(np.abs(ours - theirs) / (atol + rtol * np.abs(theirs))) if ours.size else 0
        worst[name] = float(np.max(np.abs(ours - theirs))) if ours.size else 0.0
        if not np.allclose(ours, theirs, rtol=rtol, atol=atol):
            raise AssertionError(f"{name}: max abs err {worst[name]:.3e} (scaled {err:.3g})")

    # conv2d: a spread of geometries, incl. non-square, stride, dilation, no bias
    conv_cases = [
        # (N, C, H, W, O, KH, KW, stride, padding, dilation, bias)
        (2, 3, 7, 7, 4, 3, 3, 1, 0, 1, True),
        (2, 3, 8, 9, 5, 3, 3, 1, 1, 1, True),
        (3, 2, 14, 14, 5, 5, 5, 1, 2, 1, True),
        (2, 4, 11, 10, 3, 3, 2, 2, 1, 1, False),
        (2, 4, 16, 16, 6, 3, 3, 2, 2, 2, True),
        (1, 2, 9, 13, 3, 2, 3, (2, 1), (0, 2), (1, 3), True),
        (2, 1, 28, 28, 4, 5, 5, 1, 2, 1, True),
        (2, 3, 5, 5, 2, 5, 5, 1, 0, 1, True),       # 1x1 output
        (2, 3, 10, 10, 2, 1, 1, 3, 0, 1, True),     # 1x1 kernel, stride 3
    ]
    for k, (N, C, H, W, O, KH, KW, s, p, d, bias) in enumerate(conv_cases):
        x = rng.standard_normal((N, C, H, W)).astype(dt)
        w = rng.standard_normal((O, C, KH, KW)).astype(dt)
        b = rng.standard_normal(O).astype(dt) if bias else None
        out, cache = conv2d_forward(x, w, b, s, p, d)
        g = rng.standard_normal(out.shape).astype(dt)
        dx, dw_, db = conv2d_backward(g, cache)
        tx = torch.tensor(x, requires_grad=True)
        tw = torch.tensor(w, requires_grad=True)
        tb = torch.tensor(b, requires_grad=True) if bias else None
        tout = TF.conv2d(tx, tw, tb, s, p, d)
        tout.backward(torch.tensor(g))
        close(f"conv{k}.out", out, tout)
        close(f"conv{k}.dx", dx, tx.grad)
        close(f"conv{k}.dw", dw_, tw.grad)
        if bias:
            close(f"conv{k}.db", db, tb.grad)

    # pooling, with deliberate ties for max_pool (first max gets the gradient)
    pool_cases = [  # shape, kernel, stride, padding, dilation (max_pool only)
        ((2, 3, 8, 8), 2, None, 0, 1), ((2, 3, 9, 7), 3, 2, 1, 1), ((1, 2, 10, 10), 3, 3, 0, 1),
        ((2, 2, 7, 9), 2, 1, 1, 1), ((2, 2, 11, 10), 2, 2, 0, 2), ((1, 3, 9, 8), (3, 2), (2, 1), (1, 0), 1)]
    for k, (shape, ks, st, pd, dil) in enumerate(pool_cases):
        for ties in (False, True):
            x = rng.standard_normal(shape).astype(dt)
            if ties:
                x = np.round(x)          # many equal values inside windows
            out, cache = max_pool2d_forward(x, ks, st, pd, dil)
            g = rng.standard_normal(out.shape).astype(dt)
            dx = max_pool2d_backward(g, cache)
            tx = torch.tensor(x, requires_grad=True)
            tout = TF.max_pool2d(tx, ks, st, pd, dil)
            tout.backward(torch.tensor(g))
            close(f"maxpool{k}{'t' if ties else ''}.out", out, tout)
            close(f"maxpool{k}{'t' if ties else ''}.dx", dx, tx.grad)
        x = rng.standard_normal(shape).astype(dt)
        out, cache = avg_pool2d_forward(x, ks, st, pd)
        g = rng.standard_normal(out.shape).astype(dt)
        dx = avg_pool2d_backward(g, cache)
        tx = torch.tensor(x, requires_grad=True)
        tout = TF.avg_pool2d(tx, ks, st, pd)
        tout.backward(torch.tensor(g))
        close(f"avgpool{k}.out", out, tout)
        close(f"avgpool{k}.dx", dx, tx.grad)

    # LeNet-5 and MLP: gradients of one step and the parameters after it
    def torch_model_step(params, forward, x, y, lr):
        tp = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
        loss = TF.cross_entropy(forward(tp, torch.tensor(x)), torch.tensor(y))
        loss.backward()
        with torch.no_grad():
            for v in tp.values():
                v -= lr * v.grad
        return loss, {k: v.grad for k, v in tp.items()}, tp

    def lenet_torch(tp, x):
        h = TF.max_pool2d(TF.relu(TF.conv2d(x, tp["c1.w"], tp["c1.b"], 1, 2)), 2)
        h = TF.max_pool2d(TF.relu(TF.conv2d(h, tp["c2.w"], tp["c2.b"], 1, 2)), 2)
        h = TF.relu(TF.linear(h.flatten(1), tp["f1.w"], tp["f1.b"]))
        return TF.linear(h, tp["f2.w"], tp["f2.b"])

    def mlp_torch(tp, x):
        h = x
        for i in range(3):
            h = TF.linear(h, tp[f"l{i}.w"], tp[f"l{i}.b"])
            if i < 2:
                h = TF.relu(h)
        return h

    for name, model, fwd, x in [
        ("lenet", LeNet5(dtype=dt), lenet_torch, rng.standard_normal((8, 1, 28, 28))),
        ("mlp", MLP(dtype=dt), mlp_torch, rng.standard_normal((16, 784))),
    ]:
        y = rng.integers(0, 10, size=x.shape[0])
        before = {k: v.copy() for k, v in model.params.items()}
        loss, grads = model.loss_and_grads(x, y)
        tloss, tgrads, tp = torch_model_step(before, fwd, x, y, 0.1)
        close(f"{name}.loss", loss, tloss)
        for k in grads:
            close(f"{name}.grad[{k}]", grads[k], tgrads[k])
        model.step(x, y, lr=0.1)
        for k in model.params:
            close(f"{name}.param[{k}] after SGD", model.params[k], tp[k])

    print(f"numpy_reference --check: {len(worst)} comparisons against torch {torch.__version__} "
          f"(float64, rtol=1e-10) all passed; worst abs error {max(worst.values()):.2e}")


if __name__ == "__main__":
    import argparse
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="compare gradients with PyTorch (float64)")
    args = ap.parse_args()
    if args.check:
        _check()
    else:
        ap.print_help()
