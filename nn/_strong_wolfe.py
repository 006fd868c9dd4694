"""The strong-Wolfe line search of ``LBFGS(line_search_fn='strong_wolfe')`` (the algorithm
of PyTorch's, itself from torch7's ``lswolfe.lua``), on flat NumPy vectors.

Phase 1 brackets a step length satisfying the strong Wolfe conditions (sufficient decrease
``f(t) <= f + c1·t·g'd`` and curvature ``|g(t)'d| <= -c2·g'd``), growing the step by cubic
extrapolation; phase 2 ("zoom") shrinks the bracket by cubic interpolation, stepping away
from its ends when progress stalls.
"""
import math


def cubic_interpolate(x1, f1, g1, x2, f2, g2, bounds=None):
    """Minimiser of the cubic through (x1, f1, f1') and (x2, f2, f2'), clipped to
    ``bounds`` (default: between the points); their midpoint if the cubic has none."""
    lo, hi = bounds if bounds is not None else ((x1, x2) if x1 <= x2 else (x2, x1))
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    d2_square = d1 ** 2 - g1 * g2
    if d2_square < 0:
        return (lo + hi) / 2.0
    d2 = math.sqrt(d2_square)
    if x1 <= x2:
        t = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
    else:
        t = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
    return min(max(t, lo), hi)


class _Bracket:
    """Step lengths with their losses, gradients and directional derivatives."""

    def __init__(self, points):
        self.t = [p[0] for p in points]
        self.f = [p[1] for p in points]
        self.g = [p[2] for p in points]
        self.gtd = [p[3] if len(p) > 3 else None for p in points]

    def set(self, i, t, f, g, gtd):
        self.t[i], self.f[i], self.g[i], self.gtd[i] = t, f, g, gtd

    def order(self):
        """(index of the lower loss, index of the higher)."""
        return (0, 1) if self.f[0] <= self.f[-1] else (1, 0)


def _bracket_phase(obj_func, x, t, d, f, g, gtd, c1, c2, max_ls):
    f_new, g_new = obj_func(x, t, d)
    evals, gtd_new = 1, float(g_new @ d)
    t_prev, f_prev, g_prev, gtd_prev = 0, f, g, gtd
    ls_iter = 0
    while ls_iter < max_ls:
        if f_new > f + c1 * t * gtd or (ls_iter > 1 and f_new >= f_prev):
            return _Bracket([(t_prev, f_prev, g_prev, gtd_prev),
                             (t, f_new, g_new.copy(), gtd_new)]), False, ls_iter, evals
        if abs(gtd_new) <= -c2 * gtd:
            return _Bracket([(t, f_new, g_new)]), True, ls_iter, evals
        if gtd_new >= 0:
            return _Bracket([(t_prev, f_prev, g_prev, gtd_prev),
                             (t, f_new, g_new.copy(), gtd_new)]), False, ls_iter, evals
        # extrapolate
        t_next = cubic_interpolate(t_prev, f_prev, gtd_prev, t, f_new, gtd_new,
                                   bounds=(t + 0.01 * (t - t_prev), t * 10))
        t_prev, f_prev, g_prev, gtd_prev = t, f_new, g_new.copy(), gtd_new
        t = t_next
        f_new, g_new = obj_func(x, t, d)
        evals += 1
        gtd_new = float(g_new @ d)
        ls_iter += 1
    return _Bracket([(0, f, g), (t, f_new, g_new)]), False, ls_iter, evals


def strong_wolfe(obj_func, x, t, d, f, g, gtd, c1=1e-4, c2=0.9, tolerance_change=1e-9,
                 max_ls=25):
    """Returns ``(loss, flat gradient, step length, number of evaluations)``;
    ``obj_func(x, t, d)`` evaluates the loss and gradient at ``x + t·d``."""
    d_norm = float(abs(d).max())
    g = g.copy()
    br, done, ls_iter, evals = _bracket_phase(obj_func, x, t, d, f, g, gtd, c1, c2, max_ls)
    insuf_progress = False
    low, high = br.order()
    while not done and ls_iter < max_ls:
        if abs(br.t[1] - br.t[0]) * d_norm < tolerance_change:
            break
        t = cubic_interpolate(br.t[0], br.f[0], br.gtd[0], br.t[1], br.f[1], br.gtd[1])
        hi_t, lo_t = max(br.t), min(br.t)
        eps = 0.1 * (hi_t - lo_t)
        if min(hi_t - t, t - lo_t) < eps:       # too close to an end of the bracket
            if insuf_progress or t >= hi_t or t <= lo_t:
                t = hi_t - eps if abs(t - hi_t) < abs(t - lo_t) else lo_t + eps
                insuf_progress = False
            else:
                insuf_progress = True
        else:
            insuf_progress = False
        f_new, g_new = obj_func(x, t, d)
        evals += 1
        gtd_new = float(g_new @ d)
        ls_iter += 1
        if f_new > f + c1 * t * gtd or f_new >= br.f[low]:
            br.set(high, t, f_new, g_new.copy(), gtd_new)
            low, high = br.order()
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True
            elif gtd_new * (br.t[high] - br.t[low]) >= 0:
                br.set(high, br.t[low], br.f[low], br.g[low], br.gtd[low])
            br.set(low, t, f_new, g_new.copy(), gtd_new)
    return br.f[low], br.g[low], br.t[low], evals
