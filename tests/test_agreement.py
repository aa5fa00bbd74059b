"""Agreement against y = x, checked against the formula written out."""

import numpy as np
import pytest

from sfm_audio.agreement import agreement


def test_against_the_formula():
    rng = np.random.default_rng(0)
    y = rng.normal(size=50)
    p = 1.3 * y + 0.5  # a slope and an offset: correlated but off the line
    a = agreement(y, p)
    res = y - p
    assert a.mean_error == pytest.approx(res.mean())
    assert a.rms_error == pytest.approx(np.sqrt((res**2).mean()))
    assert a.r2 == pytest.approx(1 - (res**2).sum() / ((y - y.mean()) ** 2).sum())
    assert a.r2_correlation == pytest.approx(1.0)
    assert a.r2 < 0.9


def test_perfect_and_undefined():
    assert agreement([1, 2, 3], [1, 2, 3]).r2 == 1.0
    assert agreement([np.nan], [1.0]).n == 0
    assert np.isnan(agreement([2.0, 2.0], [1.0, 3.0]).r2)
