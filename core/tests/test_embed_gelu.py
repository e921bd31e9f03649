"""The float32 ``erf`` and exact GELU that the numpy BERT relies on, checked against ``math``."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mnemoweave.embed._gelu import erf, gelu, gelu_

ERF_TOLERANCE = 1.5e-7  # the issue asks for ~1e-7; Abramowitz-Stegun 7.1.26 would not pass


def _grid() -> np.ndarray:
    dense = np.linspace(-7.0, 7.0, 280_001)
    tiny = np.array([0.0, -0.0, 1e-30, -1e-30, 1e-8, -1e-8, 1e-4, -1e-4])
    return np.concatenate([dense, tiny]).astype(np.float32)


def _gelu_reference(x: np.ndarray) -> np.ndarray:
    """x * Phi(x) in float64 via erfc, which (unlike 1 + erf) keeps the negative tail exact."""
    return np.array([v * 0.5 * math.erfc(-v / math.sqrt(2.0)) for v in x.astype(np.float64)])


def test_erf_matches_math_erf_to_about_1e7() -> None:
    x = _grid()
    reference = np.array([math.erf(v) for v in x.astype(np.float64)])
    error = np.abs(erf(x).astype(np.float64) - reference)
    assert error.max() <= ERF_TOLERANCE, (
        f"max |erf - math.erf| = {error.max():.3g} at {x[error.argmax()]}"
    )


def test_erf_limits_symmetry_and_dtype() -> None:
    out = erf(np.array([np.inf, -np.inf, 50.0, -50.0, 0.0], dtype=np.float32))
    assert out.dtype == np.float32
    assert out.tolist() == [1.0, -1.0, 1.0, -1.0, 0.0]
    x = np.linspace(0.0, 5.0, 1001, dtype=np.float32)
    assert np.array_equal(erf(-x), -erf(x))
    assert np.isnan(erf(np.array([np.nan], dtype=np.float32)))[0]


def test_gelu_matches_exact_erf_form() -> None:
    x = np.concatenate([_grid(), np.linspace(-14, 14, 20_001, dtype=np.float32)])
    reference = _gelu_reference(x)
    error = np.abs(gelu(x).astype(np.float64) - reference)
    # Half an ulp of the largest outputs, and never more than 1.5e-7 relative to max(1, |x|).
    bound = 1.5e-7 * np.maximum(1.0, np.abs(x.astype(np.float64)))
    worst = int(np.argmax(error / bound))
    assert (error <= bound).all(), f"gelu({x[worst]}) off by {error[worst]:.3g}"


def test_gelu_is_not_the_tanh_approximation() -> None:
    """The tanh form differs from BERT's by ~1e-3 near |x| = 2; ours must not."""
    x = np.array([-2.0, -1.5, 1.5, 2.0], dtype=np.float32)
    tanh_form = 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))
    exact = _gelu_reference(x)
    assert np.abs(tanh_form - exact).max() > 1e-4
    assert np.abs(gelu(x) - exact).max() < 1e-6


def test_gelu_special_values() -> None:
    out = gelu(np.array([np.inf, -np.inf, 0.0, 1e30, -1e30, np.nan], dtype=np.float32))
    expected = np.array([np.inf, 0.0, 0.0, 1e30, 0.0], dtype=np.float32)
    np.testing.assert_array_equal(out[:5], expected)
    assert np.isnan(out[5])


def test_gelu_in_place_over_several_chunks() -> None:
    rng = np.random.default_rng(7)
    x = rng.normal(scale=3.0, size=(300, 1537)).astype(np.float32)  # > 1 chunk, ragged tail
    expected = gelu(x)
    same = gelu_(x)
    assert same is x
    np.testing.assert_array_equal(x, expected)


def test_gelu_with_bias_matches_adding_it_first() -> None:
    rng = np.random.default_rng(11)
    x = rng.normal(scale=2.0, size=(257, 1536)).astype(np.float32)  # rows span chunk edges
    bias = rng.normal(size=1536).astype(np.float32)
    np.testing.assert_array_equal(gelu_(x.copy(), bias), gelu(x + bias))
    with pytest.raises(ValueError):
        gelu_(x.copy(), bias[:10])


def test_gelu_in_place_rejects_unsupported_arrays() -> None:
    with pytest.raises(TypeError):
        gelu_(np.zeros(8, dtype=np.float64))
    with pytest.raises(TypeError):
        gelu_(np.zeros((8, 8), dtype=np.float32)[:, ::2])


@settings(max_examples=200, deadline=None)
@given(st.floats(min_value=-30.0, max_value=30.0, width=32))
def test_gelu_any_float32(value: float) -> None:
    x = np.array([value], dtype=np.float32)
    expected = _gelu_reference(x)[0]
    assert abs(float(gelu(x)[0]) - expected) <= 1.5e-7 * max(1.0, abs(value))
