"""sfm_audio.coding.entropy: table models, batched columns and statistics agree with their peers.

The peers are constriction's parametric quantized models (what the coder used before the
tables), the per-column :meth:`CoefficientModel.encode`/``decode``, and statistics computed
directly from the whole array.
"""

from __future__ import annotations

import numpy as np
import pytest

from sfm_audio.coding.entropy import (
    HIST,
    CoefficientModel,
    ColumnModels,
    IndexStats,
    categorical_table,
    fit_models,
    high_part_mean,
    new_decoder,
    new_encoder,
    quantized_family,
)


@pytest.mark.parametrize("family", ["gaussian", "laplace"])
@pytest.mark.parametrize(("scale", "shift"), [(0.4, 0), (3.0, 0), (40.0, 0), (900.0, 3)])
def test_table_spends_what_the_parametric_model_spends(family, scale, shift):
    # the same symbols coded with the table and with constriction's parametric model of the
    # same parameters: both round the probabilities to 24-bit fixed point, so the code
    # lengths agree to within a few words per 50 000 symbols
    rng = np.random.default_rng(3)
    draw = rng.normal if family == "gaussian" else rng.laplace
    high = np.rint(draw(0.0, scale, 50_000) / 2**shift).astype(np.int64)
    lo, hi = int(high.min()), int(high.max())
    mean, s = high_part_mean(shift), scale / 2**shift
    table = categorical_table(family, lo, hi, mean=mean, scale=s)
    parametric = quantized_family(family, lo, hi, mean=mean, scale=s)
    words = {}
    for name, model, symbols in (("table", table, high - lo), ("parametric", parametric, high)):
        encoder = new_encoder()
        encoder.encode(symbols.astype(np.int32), model)
        words[name] = encoder.get_compressed()
        back = new_decoder(words[name]).decode(model, symbols.size)
        np.testing.assert_array_equal(back, symbols)
    assert abs(words["table"].size - words["parametric"].size) <= 3 + 1e-4 * words[
        "parametric"].size


def _models(rng):
    """A mix of every kind of model (shifted ones among them), each with indices in its
    range: the models and the indices, one row per model, shape (k, m)."""
    specs = [("gaussian", -7, 9, 2.5, 0), ("inactive", 0, 0, 1.0, 0), ("laplace", -40, 33, 6.0, 0),
             ("constant", 4, 4, 1.0, 0), ("gaussian", -9000, 8500, 2000.0, 2),
             ("laplace", -3, -3, 1.0, 0), ("gaussian", -5000, 5000, 700.0, 13)]
    models, rows = [], []
    for family, lo, hi, scale, shift in specs:
        if family in ("inactive", "constant"):
            models.append(CoefficientModel(family, lo, hi))
            rows.append(np.full(3000, lo))
            continue
        models.append(CoefficientModel(family, lo, hi, float(np.float32(scale)), shift))
        x = np.clip(np.rint(rng.normal(0, scale, 3000)), lo, hi).astype(np.int64)
        x[:2] = lo, hi
        rows.append(x)
    return models, np.vstack(rows)


def test_columns_code_the_same_words_as_each_model():
    models, indices = _models(np.random.default_rng(4))
    one_by_one = new_encoder()
    for model, row in zip(models, indices):
        model.encode(one_by_one, row)
    batched = new_encoder()
    columns = ColumnModels(models)
    columns.encode(batched, indices)
    words = batched.get_compressed()
    np.testing.assert_array_equal(words, one_by_one.get_compressed())
    back = columns.decode(new_decoder(words), indices.shape[1])
    assert back.shape == indices.shape
    np.testing.assert_array_equal(back, indices)
    # and what each model decodes on its own from the same words
    decoder = new_decoder(words)
    for model, row in zip(models, indices):
        np.testing.assert_array_equal(model.decode(decoder, indices.shape[1]), row)


def test_columns_round_trip_checks_what_the_decoder_reads():
    models, indices = _models(np.random.default_rng(6))
    columns = ColumnModels(models)
    reference = new_encoder()
    columns.encode(reference, indices)
    shifted = [j for j, m in enumerate(models) if m.shift]
    assert shifted  # high parts and low bits interleave in the code: decoded in that order
    for given in (indices, indices.astype(np.float64)):  # whole floats, as the coder has them
        words, same = columns.code(given)
        assert same
        np.testing.assert_array_equal(words, reference.get_compressed())
    # a row whose model sends nothing holds one index only: any other is reported
    wrong = indices.copy()
    constant = next(j for j, m in enumerate(models) if m.family == "constant")
    wrong[constant, 5] += 1
    assert not columns.code(wrong)[1]


def test_stats_by_columns_equal_stats_of_the_whole():
    rng = np.random.default_rng(5)
    scales = np.array([0.3, 4.0, 0.0, 900.0, 3000.0, 12.0])  # one inactive, one beyond HIST
    active = scales > 0
    scaled = rng.laplace(size=(5000, scales.size)) * scales
    indices = np.rint(scaled).astype(np.int64)
    whole = IndexStats(scales.size)
    parts = IndexStats(scales.size)
    for a in range(0, 5000, 700):  # uneven segments, as the coder's last one
        parts.update(scaled[a: a + 700], indices[a: a + 700], active)
    cols = np.flatnonzero(active)
    s, i = scaled[:, cols], indices[:, cols]
    np.testing.assert_array_equal(parts.lo[cols], i.min(axis=0))
    np.testing.assert_array_equal(parts.hi[cols], i.max(axis=0))
    np.testing.assert_allclose(parts.sum_sq[cols], (s * s).sum(axis=0), rtol=1e-12)
    np.testing.assert_allclose(parts.sum_abs[cols], np.abs(s).sum(axis=0), rtol=1e-12)
    gap = np.where(i != 0, np.abs(i) - np.abs(s), 0.0).sum(axis=0)
    np.testing.assert_allclose(parts.sum_gap[cols], gap, rtol=1e-9, atol=1e-9)
    np.testing.assert_array_equal(parts.nonzero[cols], (i != 0).sum(axis=0))
    for c, j in enumerate(cols):
        if i[:, c].min() >= -HIST and i[:, c].max() < HIST:  # the histogram is used
            expected = np.bincount(i[:, c] + HIST, minlength=2 * HIST)
            np.testing.assert_array_equal(parts.hist[j], expected)
    assert parts.count == 5000
    # the fitted models depend only on these statistics
    whole.update(scaled, indices, active)
    assert fit_models(parts, active) == fit_models(whole, active)


def test_stats_without_gaps_skip_them():
    stats = IndexStats(2, gaps=False)
    x = np.array([[0.7, -2.2], [1.4, 0.1]])
    stats.update(x, np.rint(x).astype(np.int64), np.array([True, True]))
    assert not stats.sum_gap.any() and not stats.nonzero.any()
    np.testing.assert_allclose(stats.sum_abs, np.abs(x).sum(axis=0))
