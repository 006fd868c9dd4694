"""nn.functional, part 4: resizing (``interpolate``, ``pixel_shuffle``) and adaptive max
pooling (re-exported by ``nn.functional``).

All are index gathers (``x[..., idx]``, whose backward adds the gradient back at the
indices) combined with weights, one spatial dimension at a time:

* nearest: ``src = min(floor(dst·scale), in - 1)`` (``nearest-exact``: ``floor((dst + ½)·scale)``)
* bicubic: Keys' cubic convolution (A = -0.75) of the 4 neighbours of each source position
* linear (per dimension; bilinear/trilinear apply it to each spatial dim in turn):
  ``src = dst·(in - 1)/(out - 1)`` with ``align_corners=True``, else
  ``max((dst + ½)·scale - ½, 0)``; ``out = x[i0]·(1 - λ) + x[i1]·λ`` with ``i0 = floor(src)``,
  ``i1 = min(i0 + 1, in - 1)``, ``λ = src - i0``.

``scale`` is ``1/scale_factor`` when a scale factor is given (PyTorch's default
``recompute_scale_factor=None``), else ``in/out``.
"""
import math
import numbers
import warnings

import numpy as np

from autograd.tensor import Tensor, _as_tensor

__all__ = ["interpolate", "upsample", "upsample_nearest", "upsample_bilinear", "pixel_shuffle",
           "pixel_unshuffle", "adaptive_max_pool1d", "adaptive_max_pool2d", "affine_grid",
           "grid_sample"]

_MODES = {"nearest": None, "nearest-exact": None, "linear": 1, "bilinear": 2, "bicubic": 2,
          "trilinear": 3, "area": None}


def _tensor(x):
    return x if isinstance(x, Tensor) else _as_tensor(x)


def _out_sizes(x, size, scale_factor, spatial):
    if (size is None) == (scale_factor is None):
        raise ValueError("only one of size or scale_factor should be defined")
    in_sizes = x.shape[2:]
    if size is not None:
        sizes = [size] * spatial if isinstance(size, numbers.Integral) else list(size)
        if len(sizes) != spatial:
            raise ValueError(f"Input and output must have the same number of spatial "
                             f"dimensions, but got input with spatial dimensions of "
                             f"{list(in_sizes)} and output size of {sizes}. Please provide "
                             f"input tensor in (N, C, d1, d2, ...,dK) format and output size in "
                             f"(o1, o2, ...,oK) format.")
        if any(isinstance(s, bool) or not isinstance(s, numbers.Integral) for s in sizes):
            raise TypeError(f"interpolate: size must be ints, got {size!r}")
        return [int(s) for s in sizes], [None] * spatial
    scales = [scale_factor] * spatial if isinstance(scale_factor, numbers.Real) \
        else list(scale_factor)
    if len(scales) != spatial:
        raise ValueError(f"Input and scale_factor must have the same number of spatial "
                         f"dimensions, but got input with spatial dimensions of "
                         f"{list(in_sizes)} and scale_factor of shape {scales}.")
    return [int(math.floor(n * s)) for n, s in zip(in_sizes, scales)], [float(s) for s in scales]


def _scale(n_in, n_out, factor, align_corners):
    if align_corners:
        return (n_in - 1) / (n_out - 1) if n_out > 1 else 0.0
    return 1.0 / factor if factor is not None else n_in / n_out


def _take(x, axis, idx):
    index = (slice(None),) * axis + (idx,)
    return x[index]


def _nearest_axis(x, axis, n_out, factor, exact):
    n_in = x.shape[axis]
    if n_out == n_in:
        return x
    # PyTorch computes these indices in single precision (floorf)
    scale = np.float32(1.0 / factor if factor is not None else n_in / n_out)
    dst = np.arange(n_out, dtype=np.float32)
    src = np.floor((dst + np.float32(0.5)) * scale if exact else dst * scale)
    return _take(x, axis, np.minimum(src.astype(np.int64), n_in - 1))


def _linear_axis(x, axis, n_out, factor, align_corners):
    n_in = x.shape[axis]
    scale = _scale(n_in, n_out, factor, align_corners)
    dst = np.arange(n_out, dtype=np.float64)
    src = dst * scale if align_corners else np.maximum((dst + 0.5) * scale - 0.5, 0.0)
    i0 = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
    i1 = np.minimum(i0 + 1, n_in - 1)
    lam = (src - i0).astype(x.dtype)
    shape = (n_out,) + (1,) * (x.ndim - axis - 1)
    lam = lam.reshape(shape)
    return _take(x, axis, i0) * (1.0 - lam) + _take(x, axis, i1) * lam


def _cubic_weights(t, a=-0.75):
    """Keys' cubic convolution weights of the 4 neighbours at offsets -1, 0, 1, 2."""
    def near(x):   # |x| <= 1
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def far(x):    # 1 < |x| < 2
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a
    return [far(t + 1.0), near(t), near(1.0 - t), far(2.0 - t)]


def _cubic_axis(x, axis, n_out, factor, align_corners):
    """Bicubic resampling along one axis (PyTorch's: A = -0.75, neighbours clamped to the
    edge, source positions not clamped at 0)."""
    n_in = x.shape[axis]
    scale = _scale(n_in, n_out, factor, align_corners)
    dst = np.arange(n_out, dtype=np.float64)
    src = dst * scale if align_corners else (dst + 0.5) * scale - 0.5
    i0 = np.floor(src).astype(np.int64)
    weights = _cubic_weights(src - i0)
    shape = (n_out,) + (1,) * (x.ndim - axis - 1)
    out = None
    for k, w in zip(range(-1, 3), weights):
        term = _take(x, axis, np.clip(i0 + k, 0, n_in - 1)) * w.astype(x.dtype).reshape(shape)
        out = term if out is None else out + term
    return out


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None, antialias=False):
    """Resize the spatial dims of (N, C, *spatial) input: ``nearest``, ``nearest-exact``,
    ``linear`` (3-D input), ``bilinear`` (4-D), ``trilinear`` (5-D) or ``area``
    (adaptive average pooling)."""
    x = _tensor(input)
    if mode not in _MODES:
        raise NotImplementedError(f"Got {x.ndim}D input, but mode={mode!r} is not supported "
                                  f"by ndgrad's interpolate (nearest, nearest-exact, linear, "
                                  f"bilinear, bicubic, trilinear, area)")
    spatial = x.ndim - 2
    if spatial < 1:
        raise ValueError(f"interpolate: expected (N, C, *spatial) input, got "
                         f"{tuple(x.shape)}")
    if mode in ("nearest", "nearest-exact", "area") and align_corners is not None:
        raise ValueError("align_corners option can only be set with the interpolating modes: "
                         "linear | bilinear | bicubic | trilinear")
    need = _MODES[mode]
    if need is not None and need != spatial:
        raise NotImplementedError(f"Got {x.ndim}D input, but {mode} mode needs "
                                  f"{need + 2}D input")
    if antialias:
        raise NotImplementedError("interpolate: antialias=True is not supported by ndgrad")
    sizes, factors = _out_sizes(x, size, scale_factor, spatial)
    if recompute_scale_factor:
        factors = [None] * spatial
    if any(s <= 0 for s in sizes):
        raise ValueError(f"interpolate: output size must be positive, got {sizes}")
    if mode == "area":
        from .functional import adaptive_avg_pool2d
        if spatial == 2:
            return adaptive_avg_pool2d(x, tuple(sizes))
        if spatial == 1:
            return adaptive_avg_pool2d(x.unsqueeze(-1), (sizes[0], 1)).squeeze(-1)
        raise NotImplementedError("interpolate: area mode supports 3-D and 4-D input")
    out = x
    for i, (n_out, f) in enumerate(zip(sizes, factors)):
        axis = 2 + i
        if mode in ("nearest", "nearest-exact"):
            out = _nearest_axis(out, axis, n_out, f, mode == "nearest-exact")
        elif mode == "bicubic":
            out = _cubic_axis(out, axis, n_out, f, bool(align_corners))
        else:
            out = _linear_axis(out, axis, n_out, f, bool(align_corners))
    return out


def upsample(input, size=None, scale_factor=None, mode="nearest", align_corners=None):
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input, size=None, scale_factor=None):
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input, size=None, scale_factor=None):
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


def _factor(value, op, name):
    if isinstance(value, bool) or not isinstance(value, (numbers.Integral, np.integer)):
        raise TypeError(f"{op}(): argument '{name}' must be int, not {type(value).__name__}")
    return int(value)


def pixel_shuffle(input, upscale_factor):
    """(*, C·r², H, W) -> (*, C, H·r, W·r)."""
    x, r = _tensor(input), _factor(upscale_factor, "pixel_shuffle", "upscale_factor")
    if x.ndim < 3:
        raise RuntimeError(f"pixel_shuffle expects input to have at least 3 dimensions, but "
                           f"got input with {x.ndim} dimension(s)")
    *lead, c, h, w = x.shape
    if r <= 0 or c % (r * r):
        raise RuntimeError(f"pixel_shuffle expects its input's 'channel' dimension to be "
                           f"divisible by the square of upscale_factor, but input.size(-3)={c} "
                           f"is not divisible by {r * r}")
    n = len(lead)
    y = x.reshape(*lead, c // (r * r), r, r, h, w)
    y = y.permute(*range(n), n, n + 3, n + 1, n + 4, n + 2)
    return y.reshape(*lead, c // (r * r), h * r, w * r)


def pixel_unshuffle(input, downscale_factor):
    """(*, C, H·r, W·r) -> (*, C·r², H, W) (the inverse of ``pixel_shuffle``)."""
    x, r = _tensor(input), _factor(downscale_factor, "pixel_unshuffle", "downscale_factor")
    if x.ndim < 3:
        raise RuntimeError(f"pixel_unshuffle expects input to have at least 3 dimensions, but "
                           f"got input with {x.ndim} dimension(s)")
    *lead, c, h, w = x.shape
    if r <= 0 or h % r or w % r:
        raise RuntimeError(f"pixel_unshuffle expects height and width to be divisible by "
                           f"downscale_factor, but got {h}x{w} and {r}")
    n = len(lead)
    y = x.reshape(*lead, c, h // r, r, w // r, r)
    y = y.permute(*range(n), n, n + 2, n + 4, n + 1, n + 3)
    return y.reshape(*lead, c * r * r, h // r, w // r)


def _windows(n_in, n_out):
    """(n_out, K) input indices of each adaptive window, padded by repeating its last index
    (a repeat does not change a max), and the window starts."""
    i = np.arange(n_out)
    start = (i * n_in) // n_out
    end = -((-(i + 1) * n_in) // n_out)
    k = int((end - start).max())
    idx = np.minimum(start[:, None] + np.arange(k)[None, :], (end - 1)[:, None])
    return idx


def _pair(v):
    return (v, v) if v is None or isinstance(v, numbers.Integral) else tuple(v)


def adaptive_max_pool2d(input, output_size, return_indices=False):
    """Max over the adaptive windows ``[floor(i·H/OH), ceil((i+1)·H/OH))`` (and the same in
    W); the gradient goes to the first maximum of each window (as PyTorch)."""
    x = _tensor(input)
    unbatched = x.ndim == 3
    if x.ndim not in (3, 4):
        raise RuntimeError(f"adaptive_max_pool2d(): Expected 3D or 4D tensor, but got "
                           f"{tuple(x.shape)}")
    if unbatched:
        x = x.unsqueeze(0)
    n, c, h, w = x.shape
    oh, ow = _pair(output_size)
    oh, ow = oh or h, ow or w
    if oh <= 0 or ow <= 0:
        raise RuntimeError(f"adaptive_max_pool2d: output_size must be positive, got "
                           f"{output_size!r}")
    ih, iw = _windows(h, oh), _windows(w, ow)
    kh, kw = ih.shape[1], iw.shape[1]
    g = x[:, :, ih][:, :, :, :, iw]                       # (N, C, OH, KH, OW, KW)
    g = g.permute(0, 1, 2, 4, 3, 5).reshape(n, c, oh, ow, kh * kw)
    values, arg = g.max(dim=-1)
    if unbatched:
        values = values.squeeze(0)
    if not return_indices:
        return values
    a = arg._data
    rows = np.take_along_axis(np.broadcast_to(ih[:, None, :], (oh, ow, kh))[None, None],
                              (a // kw)[..., None], -1)[..., 0]
    cols = np.take_along_axis(np.broadcast_to(iw[None, :, :], (oh, ow, kw))[None, None],
                              (a % kw)[..., None], -1)[..., 0]
    idx = Tensor((rows * w + cols).astype(np.int64))
    return values, (idx.squeeze(0) if unbatched else idx)


def adaptive_max_pool1d(input, output_size, return_indices=False):
    """``adaptive_max_pool2d`` over (N, C, L) or (C, L) input."""
    x = _tensor(input)
    if x.ndim not in (2, 3):
        raise RuntimeError(f"adaptive_max_pool1d(): Expected 2D or 3D tensor, but got "
                           f"{tuple(x.shape)}")
    size = output_size if isinstance(output_size, numbers.Integral) else output_size[0]
    out = adaptive_max_pool2d(x.unsqueeze(-2), (1, size), return_indices)
    if return_indices:
        return out[0].squeeze(-2), out[1].squeeze(-2)
    return out.squeeze(-2)


# ------------------------------------------------------------------ spatial transformers
def _base_coords(n, align_corners):
    """The normalised coordinates [-1, 1] of n pixel centres (or corners)."""
    if n <= 1:
        return np.zeros(max(n, 1))
    c = np.linspace(-1.0, 1.0, n)
    return c if align_corners else c * (n - 1) / n


def affine_grid(theta, size, align_corners=None):
    """The sampling grid ``(N, H, W, 2)`` of the affine maps ``theta`` ``(N, 2, 3)`` for an
    output of ``size`` ``(N, C, H, W)``: ``grid[n, i, j] = theta[n] @ (x_j, y_i, 1)``."""
    th = _tensor(theta)
    align_corners = _default_align(align_corners)
    if len(size) != 4:
        raise NotImplementedError(f"affine_grid only supports 4D sizes (2-D images), got "
                                  f"size {list(size)}")
    n, _, h, w = size
    if th.ndim != 3 or tuple(th.shape[1:]) != (2, 3) or th.shape[0] != n:
        raise ValueError(f"Expected a batch of 2D affine matrices of shape Nx2x3 for size "
                         f"{list(size)}. Got {list(th.shape)}.")
    xs, ys = _base_coords(w, align_corners), _base_coords(h, align_corners)
    base = np.stack([np.broadcast_to(xs[None, :], (h, w)), np.broadcast_to(ys[:, None], (h, w)),
                     np.ones((h, w))], -1).reshape(1, h * w, 3).astype(th.dtype)
    grid = Tensor(base) @ th.transpose(1, 2)                       # (N, H·W, 2)
    return grid.reshape(n, h, w, 2)


def _default_align(align_corners):
    if align_corners is None:
        warnings.warn("Default grid_sample and affine_grid behavior has changed to "
                      "align_corners=False since 1.3.0. Please specify align_corners=True if "
                      "the old behavior is desired. See the documentation of grid_sample for "
                      "details.", stacklevel=3)
        return False
    return bool(align_corners)


def _unnormalize(g, size, align_corners):
    if align_corners:
        return (g + 1.0) * ((size - 1) / 2.0)
    return ((g + 1.0) * size - 1.0) / 2.0


def _reflect(x, lo, hi):
    """Reflect coordinates into [lo, hi] (PyTorch's reflect_coordinates), as Tensor ops."""
    span = hi - lo
    if span <= 0:
        return x * 0.0
    d = (x - lo).abs()
    flips = np.floor(d._data / span)
    extra = d - Tensor((flips * span).astype(d.dtype))
    even = Tensor((flips % 2 == 0).astype(d.dtype))
    return (extra + lo) * even + (span - extra + lo) * (1.0 - even)


def _source(g, size, padding_mode, align_corners):
    x = _unnormalize(g, size, align_corners)
    if padding_mode == "border":
        x = x.clamp(0.0, size - 1.0)
    elif padding_mode == "reflection":
        x = _reflect(x, 0.0, float(size - 1)) if align_corners else \
            _reflect(x, -0.5, size - 0.5).clamp(0.0, size - 1.0)
    return x


def grid_sample(input, grid, mode="bilinear", padding_mode="zeros", align_corners=None):
    """Sample ``input`` (N, C, H, W) at the normalised positions ``grid`` (N, Ho, Wo, 2)
    (x then y, in [-1, 1]) by bilinear or nearest interpolation; differentiable with
    respect to both."""
    x, g = _tensor(input), _tensor(grid)
    align_corners = _default_align(align_corners)
    if mode not in ("bilinear", "nearest"):
        raise NotImplementedError(f"grid_sample: mode {mode!r} is not supported by ndgrad "
                                  f"(bilinear, nearest)")
    if padding_mode not in ("zeros", "border", "reflection"):
        raise ValueError(f"nn.functional.grid_sample(): expected padding_mode to be 'zeros', "
                         f"'border', or 'reflection', but got: '{padding_mode}'")
    if x.ndim != 4 or g.ndim != 4 or g.shape[-1] != 2 or g.shape[0] != x.shape[0]:
        raise RuntimeError(f"grid_sample(): expected 4D input (N, C, H, W) and grid "
                           f"(N, H_out, W_out, 2) with the same N, got input "
                           f"{tuple(x.shape)} and grid {tuple(g.shape)}")
    n, c, h, w = x.shape
    px = _source(g[..., 0], w, padding_mode, align_corners)       # (N, Ho, Wo)
    py = _source(g[..., 1], h, padding_mode, align_corners)
    table = x.permute(0, 2, 3, 1)                                   # (N, H, W, C)
    batch = np.arange(n)[:, None, None]

    def corner(ix, iy):
        valid = (ix >= 0) & (ix < w) & (iy >= 0) & (iy < h)
        vals = table[batch, np.clip(iy, 0, h - 1), np.clip(ix, 0, w - 1)]   # (N, Ho, Wo, C)
        return vals * Tensor(valid[..., None].astype(x.dtype))
    if mode == "nearest":
        out = corner(np.rint(px._data).astype(np.int64), np.rint(py._data).astype(np.int64))
        return out.permute(0, 3, 1, 2)
    x0, y0 = np.floor(px._data).astype(np.int64), np.floor(py._data).astype(np.int64)
    wx1 = (px - Tensor(x0.astype(x.dtype))).unsqueeze(-1)
    wy1 = (py - Tensor(y0.astype(x.dtype))).unsqueeze(-1)
    wx0, wy0 = 1.0 - wx1, 1.0 - wy1
    out = (corner(x0, y0) * (wx0 * wy0) + corner(x0 + 1, y0) * (wx1 * wy0)
           + corner(x0, y0 + 1) * (wx0 * wy1) + corner(x0 + 1, y0 + 1) * (wx1 * wy1))
    return out.permute(0, 3, 1, 2)
