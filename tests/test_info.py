"""autograd.info (show_config / python -m autograd.info) and autograd._blas.matmul."""
import os
import subprocess
import sys

import numpy as np
import pytest

import autograd
from autograd import _blas, info

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
AVX512 = {"avx", "avx2", "fma", "avx512f", "avx512vl", "avx512bw", "avx512dq", "avx512cd"}


def test_cpu_tier_and_best_kernel():
    assert info.cpu_tier(AVX512) == 3 and info.best_kernel(AVX512) == "SkylakeX"
    assert info.cpu_tier({"avx", "avx2", "fma"}) == 2
    assert info.best_kernel({"avx", "avx2", "fma"}) == "Haswell"
    assert info.cpu_tier({"avx"}) == 1 and info.cpu_tier(set()) == 0
    assert info.best_kernel(set()) is None


@pytest.mark.parametrize("kernel, flags, advice", [
    ("Haswell", AVX512, "SkylakeX"),        # AVX2 kernel on an AVX-512 CPU: upgrade
    ("Zen", AVX512, "SkylakeX"),
    ("SkylakeX", AVX512, None),             # already the best
    ("Cooperlake", AVX512, None),           # same float GEMM as SkylakeX
    ("Haswell", {"avx", "avx2", "fma"}, None),
    ("Sandybridge", {"avx", "avx2", "fma"}, "Haswell"),
    ("SomeArmCore", AVX512, None),          # unknown kernel names: no advice
    (None, AVX512, None),
])
def test_kernel_advice(kernel, flags, advice):
    assert info.kernel_advice(kernel, flags) == advice


def test_report_names_blas_kernel_threads_and_cpu():
    text = info.report(measure=False)
    assert "NumPy" in text and "CPU:" in text and "instruction sets:" in text
    blas = _blas.info()
    if blas["library"] is not None:
        assert f"kernel {blas['kernel']}" in text and f"{blas['threads']} threads" in text
        assert "Advice:" in text


def test_show_config_is_exported(capsys):
    autograd.show_config(measure=False)
    assert "BLAS" in capsys.readouterr().out


def test_advice_with_measured_speedup_for_an_old_kernel():
    """Force an AVX2 kernel: on an AVX-512 CPU the report must say how to set the better
    one and give a measured figure (its value is the machine's business)."""
    _, flags = info.cpu_features()
    if _blas.info()["library"] != "openblas" or info.cpu_tier(flags) < 3:
        pytest.skip("needs OpenBLAS on an AVX-512 CPU")
    env = dict(os.environ, OPENBLAS_CORETYPE="Haswell", PYTHONPATH=REPO)
    out = subprocess.run([sys.executable, "-m", "autograd.info"], env=env, cwd=REPO,
                         capture_output=True, text=True, timeout=300, check=True).stdout
    assert "kernel Haswell" in out
    assert "export OPENBLAS_CORETYPE=SkylakeX" in out
    assert "GFLOP/s" in out and "x." in out


def test_measure_speedup_returns_a_ratio():
    ratio, base, forced = info.measure_speedup(None, n=64, rounds=1, repeat=1)
    assert ratio > 0 and base > 0 and forced > 0


def test_cli_no_measure():
    out = subprocess.run([sys.executable, "-m", "autograd.info", "--no-measure"], cwd=REPO,
                         capture_output=True, text=True, timeout=120, check=True).stdout
    assert "CPU:" in out and "BLAS" in out


# ----------------------------------------------------------------------------- _blas.matmul
@pytest.mark.parametrize("shape_a, shape_b", [
    ((3, 4), (4, 5)),                      # tiny: one thread
    ((128, 300), (300, 200)),              # above the small-GEMM threshold
    ((2, 64, 200), (200, 170)),            # batched
])
def test_blas_matmul_equals_numpy_under_every_policy(shape_a, shape_b, monkeypatch):
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(shape_a), rng.standard_normal(shape_b)
    expected = np.matmul(a, b)
    for adaptive in (True, False):
        monkeypatch.setattr(_blas, "ADAPTIVE", adaptive)
        for _ in range(20):  # walks through both thread settings of its size class
            np.testing.assert_allclose(_blas.matmul(a, b), expected, rtol=1e-12)
    out = np.empty_like(expected)
    assert _blas.matmul(a, b, out=out) is out
    np.testing.assert_allclose(out, expected, rtol=1e-12)


def test_blas_matmul_restores_the_thread_count():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    before = _blas.info()["threads"]
    a = np.ones((256, 256), np.float32)
    for _ in range(20):
        _blas.matmul(a, a)
    assert _blas.info()["threads"] == before
    with threadpoolctl.threadpool_limits(1, user_api="blas"):  # the user's limit rules
        _blas.matmul(a, a)
        assert _blas.info()["threads"] == 1


# ----------------------------------------------------------------------------- _malloc
@pytest.mark.parametrize("env, expected", [("1", "True"), ("0", "False")])
def test_malloc_tuning_on_import_and_opt_out(env, expected):
    if not sys.platform.startswith("linux") or os.confstr("CS_GNU_LIBC_VERSION") is None:
        pytest.skip("glibc only")
    code = "import autograd._malloc as m, autograd; print(m.TUNED)"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                         env=dict(os.environ, NDGRAD_MALLOC_TUNING=env), timeout=120,
                         check=True).stdout
    assert out.strip() == expected


def test_blas_matmul_follows_the_faster_thread_setting(monkeypatch):
    """With fake timings: the faster setting is used, the other retried after its wait,
    and the choice flips when the machine's load does."""
    if (_blas._controller() is None or _blas.info()["threads"] is None
            or _blas.info()["threads"] < 2):
        pytest.skip("needs a BLAS with at least two threads and threadpoolctl")
    clock = {"now": 0.0}
    cost = {1: 1e-3, "many": 3e-3}      # one thread faster at first
    used = []

    def fake_timed(a, b, out, threads, many):
        key = 1 if threads == 1 else "many"
        used.append(key)
        clock["now"] += cost[key]
        return np.matmul(a, b), cost[key]

    class FakeTime:
        @staticmethod
        def perf_counter():
            return clock["now"]
    monkeypatch.setattr(_blas, "_timed", fake_timed)
    monkeypatch.setattr(_blas, "time", FakeTime)
    monkeypatch.setattr(_blas, "_CLASSES", {})
    a = np.ones((256, 256), np.float32)
    for _ in range(50):
        _blas.matmul(a, a)
    assert used[:2] == [1, "many"] and used[-20:].count(1) == 20   # settled on one thread
    cost[1], cost["many"] = 4e-3, 1e-3                            # the other core frees up
    clock["now"] += 10.0                                           # past any wait
    used.clear()
    for _ in range(50):
        _blas.matmul(a, a)
    assert used[-20:].count("many") == 20


class _FakeBlas:
    def __init__(self, filepath, version):
        self.filepath, self.version = filepath, version


def test_numpy_blas_is_found_among_other_loaded_blas_libraries():
    site = os.path.dirname(os.path.dirname(os.path.realpath(np.__file__)))
    scipy_own = _FakeBlas(os.path.join(site, "scipy.libs", "libscipy_openblas.so"), "0.1")
    numpy_own = _FakeBlas(os.path.join(site, "numpy.libs", "libscipy_openblas64_.so"), "0.2")
    system = _FakeBlas("/usr/lib/x86_64-linux-gnu/libopenblas.so.0", "0.3")
    # NumPy's own copy, wherever it stands in threadpoolctl's list
    assert _blas._numpy_blas([scipy_own, numpy_own]) is numpy_own
    assert _blas._numpy_blas([numpy_own, scipy_own]) is numpy_own
    # outside NumPy's install: the one of the version NumPy was built against, else the first
    built = np.__config__.CONFIG["Build Dependencies"]["blas"].get("version")
    linked = _FakeBlas("/opt/blas/libblas.so", built)
    assert _blas._numpy_blas([system, linked]) is (linked if built else system)
    assert _blas._numpy_blas([system]) is system and _blas._numpy_blas([]) is None


def test_blas_info_names_numpys_library_when_scipy_loaded_its_own_first():
    pytest.importorskip("scipy.sparse.linalg",
                        reason="needs SciPy, which loads an OpenBLAS of its own")
    # (after scipy.sparse.linalg, threadpoolctl lists SciPy's OpenBLAS before NumPy's here)
    code = ("import scipy.sparse.linalg, numpy, os\n"
            "from autograd import _blas\n"
            "site = os.path.dirname(os.path.dirname(os.path.realpath(numpy.__file__)))\n"
            "path = os.path.realpath(_blas.info()['path'])\n"
            "print(path.startswith((os.path.join(site, 'numpy'), os.path.join(site, 'numpy.libs'))))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "True"
