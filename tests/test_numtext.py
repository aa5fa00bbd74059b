"""numtext: every text is the bytes of Python's ``%`` (C's printf rules), the reference here."""

import io as stdio
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from sfm_audio import numtext
from sfm_audio.writers import frame_schema, open_writer


def _texts(x, fmt, **blank):
    slots = numtext.format_numbers(np.asarray(x, dtype=float), fmt, **blank)
    assert slots is not None
    return [bytes(c[c != 0]).decode("ascii") for c in slots.reshape(slots.shape[0], -1).T]


def _reference(x, fmt):
    return [fmt % v for v in np.asarray(x, dtype=float).ravel().tolist()]


# values printf rounds at a tie or across a power of ten: the arithmetic must leave them to %
TIES_G = [0.5, 1.5, 2.5, 12345675.0, 12345665.0, 2.0**-11, 2.0**-20, 999999.5, 9999999.5,
          99999995.0, 0.00099999995, 9.9999995e-5, 1e-4, 1e-5, 1e7, 1e16, 1e22, 1e23, 1e28,
          1e29, 1e-16, 1e-17, 123.0, 1e6, 0.1, 1 / 3, 5e-324, 2.2250738585072014e-308,
          1.7976931348623157e308, 0.0, -0.0, np.inf, -np.inf, np.nan]
TIES_F = [0.5e-6, 1.5e-6, 2.5e-6, 2.0**-20, 2.0**-21, 0.0000005, 0.0, -0.0, -1e-9, 1e9,
          9999999999.9999995, 2.0**43, 1.0 / 3, 2.5, np.inf, -np.inf, np.nan]
TIES_D = [0.0, -0.0, -0.5, 0.5, 3.7, -3.7, -1.0, 1e15, 2.0**53 - 1, 9e15]


def _near(values):
    """Each value and its float64 neighbours."""
    v = np.array(values, dtype=float)
    with np.errstate(over="ignore"):
        return np.concatenate([v, np.nextafter(v, np.inf), np.nextafter(v, -np.inf)])


def test_ties_at_every_exponent_are_printf():
    """Halfway between two 7-digit numbers, and their neighbours, at every exponent %.7g
    can take, including those beyond the exact powers of ten."""
    rng = np.random.default_rng(3)
    digits = np.concatenate([[1_000_000, 9_999_999, 1_234_567], rng.integers(10**6, 10**7, 30)])
    x = np.concatenate([(digits + 0.5) * 10.0**e for e in range(-30, 40)]
                       + [9_999_999.5 * 10.0 ** np.arange(-30, 40)])
    x = _near(x)
    assert _texts(x, "%.7g") == _reference(x, "%.7g")


@pytest.mark.parametrize("fmt, values", [("%.7g", TIES_G), ("%.6f", TIES_F),
                                         ("%d", TIES_D)])
def test_ties_and_edges_are_printf(fmt, values):
    x = _near(values)
    if fmt == "%.6f":
        x = x[~(np.abs(x) >= 1e10)]  # wider than the slots: covered below
    x = np.concatenate([x, -x])
    assert _texts(x, fmt) == _reference(x, fmt)


def test_float32_features_and_frame_times_are_printf():
    """What the writers format: float32 features (float32's 24 bits round to 7 digits near
    ties more often than float64's), frame times, frame numbers."""
    rng = np.random.default_rng(5)
    values = (rng.standard_normal(50_000) * 10.0 ** rng.integers(-8, 9, 50_000))
    values = values.astype(np.float32).astype(float)
    assert _texts(values, "%.7g") == _reference(values, "%.7g")
    frames = np.arange(200_000, dtype=float)
    times = frames * 512 / 44100
    assert _texts(times, "%.6f") == _reference(times, "%.6f")
    assert _texts(frames, "%d") == _reference(frames, "%d")


@settings(max_examples=300, deadline=None)
@given(hnp.arrays(np.float64, st.integers(1, 40),
                  elements=st.floats(allow_nan=True, allow_infinity=True)))
def test_any_float_is_printf(x):
    assert _texts(x, "%.7g") == _reference(x, "%.7g")
    fixed = numtext.format_numbers(x, "%.6f")
    if fixed is None:  # only where % writes more than 10 integer digits
        assert max(len(t) for t in _reference(x, "%.6f")) > numtext.FORMATS["%.6f"]
    else:
        assert _texts(x, "%.6f") == _reference(x, "%.6f")


@settings(max_examples=200, deadline=None)
@given(hnp.arrays(np.float64, st.integers(1, 40),
                  elements=st.floats(-2.0**53 + 1, 2.0**53 - 1)))
def test_any_integer_valued_float_is_printf_d(x):
    assert _texts(x, "%d") == _reference(x, "%d")


@pytest.mark.parametrize("bad, error", [(np.inf, OverflowError), (np.nan, ValueError)])
def test_d_of_inf_or_nan_raises_as_percent_does(bad, error):
    fmt = "%d"
    with pytest.raises(error):
        fmt % bad
    with pytest.raises(error):
        numtext.format_numbers(np.array([1.0, bad]), "%d")


def test_blank_numbers_and_shape():
    x = np.array([[1.5, np.nan], [np.inf, 2.0]])
    slots = numtext.format_numbers(x, "%.7g", blank=~np.isfinite(x), blank_text=b"null")
    assert slots.shape[1:] == (2, 2)
    assert _texts(x, "%.7g", blank=np.isnan(x)) == ["1.5", "", "inf", "2"]
    assert _texts(x, "%.7g", blank=~np.isfinite(x), blank_text=b"null") == \
        ["1.5", "null", "null", "2"]
    with pytest.raises(ValueError, match="fmt must be one of"):
        numtext.format_numbers(x, "%.3e")


def test_join_rows_lays_out_fields_and_literals():
    numbers = np.array([[1.0, -2.5, 3e-7], [10.0, 0.25, np.nan]])
    texts = numtext.format_numbers(numbers, "%.7g", blank=np.isnan(numbers))
    labels = numtext.text_slots(["mix", "été"])
    joined = numtext.join_rows([b"a,", (labels, b""), b",", (texts, b";"), b"\n"], 2)
    assert joined.decode() == "a,mix,1;-2.5;3e-07\na,été,10;0.25;\n"


def test_text_slots_refuses_what_utf8_cannot_write():
    assert numtext.text_slots(["mix", "\udc80"]) is None
    assert numtext.text_slots(["a\0b"]) is None
    slots = numtext.text_slots(["0", "10", "0"])
    assert [bytes(c[c != 0]) for c in slots.T] == [b"0", b"10", b"0"]


# ------------------------------------------------------------------------- the text writers


def _written(fmt, file, channel, numeric, schema, fast=True):
    buffer = stdio.StringIO()
    w = open_writer(fmt, buffer, schema, header=False)
    if not fast:  # the same writer, every block by %
        w._impl._texts = lambda *args: None
    w.write(file, channel, numeric)
    w.close()
    return buffer.getvalue()


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
@pytest.mark.parametrize("file", ["a.wav", 'dir/b "q", c.wav', "été 100%.wav", "\udc80.wav"])
def test_writer_is_the_bytes_of_percent(fmt, file):
    """The block formatter against the writer's % path, on rows with gaps in some rows,
    inf, -0.0, huge and tiny values, file names CSV quotes or JSON escapes (and one that
    is not UTF-8, which takes the % path)."""
    schema = frame_schema(["a", "b", "c", "d"])
    rng = np.random.default_rng(0)
    n = 300
    numeric = np.column_stack([np.arange(n), np.arange(n) * 0.011609977,
                               rng.standard_normal((n, 4)) * 10.0 ** rng.integers(-9, 9, (n, 4))])
    numeric[5, 2] = np.nan
    numeric[:, 5] = np.nan
    numeric[7, 3], numeric[8, 4], numeric[9, 2] = np.inf, -np.inf, -0.0
    channel = ["mix", "0", "1"] * (n // 3)
    fast = _written(fmt, file, channel, numeric, schema)
    assert fast == _written(fmt, file, channel, numeric, schema, fast=False)
    # a run of columns of one kind empty in every row (a live input's duration), one row
    numeric[:, 1] = np.nan
    for rows in (numeric, numeric[:1]):
        assert _written(fmt, file, channel[:len(rows)], rows, schema) == \
            _written(fmt, file, channel[:len(rows)], rows, schema, fast=False)
    if fmt == "jsonl":
        rows = [json.loads(line) for line in fast.splitlines()]
        assert rows[5]["a"] is None and rows[7]["b"] is None and rows[0]["d"] is None
