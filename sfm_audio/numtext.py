"""Numbers as text, an array at a time, byte for byte as ``printf`` writes them.

The CSV and JSON Lines writers format every number of a table, and Python's ``%`` takes
about 0.2 µs a number: most of what a CSV table costs beyond extraction. Here a number's
digits come from integer arithmetic on the whole array and its layout from masks (which
digits stand before the point, which trailing zeros ``%g`` drops), a few array operations a
block. Where the arithmetic cannot be sure of printf's rounding (a value within a rounding
error of a tie or of a power of ten, an exponent beyond the exact powers of ten, inf, NaN),
the number is formatted by ``%`` itself: every text is the bytes of ``format % value``.

A text is a column of *slots*, ASCII codes with zero bytes where a slot is unused (no text
holds a zero byte): ``(slots, n)`` arrays, which :func:`join_rows` lays out in rows, dropping
the zeros.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["FORMATS", "format_numbers", "join_rows", "text_slots"]

#: the formats written here, as ``%`` spells them, and their most slots: room for every text
#: the arithmetic writes and for those ``%`` writes in its place (``-1.234567e+308``)
FORMATS = {"%.7g": 20, "%.6f": 18, "%d": 17}

_EXACT = np.array([10.0**k for k in range(23)])  # the powers of ten float64 holds exactly


def _packed_digits(count: int) -> np.ndarray:
    """The ``count`` ASCII digits of every integer below ``10**count``, packed into a uint32
    with the first digit in the lowest byte."""
    i = np.arange(10**count, dtype=np.uint32)
    packed = np.zeros_like(i)
    for k in range(count):
        digit = i // np.uint32(10 ** (count - 1 - k)) % np.uint32(10)
        packed |= (digit + np.uint32(ord("0"))) << np.uint32(8 * k)
    return packed


_DIGITS3 = _packed_digits(3)
_DIGITS4 = _packed_digits(4)
_SLOT7 = np.arange(7, dtype=np.int8)[:, None]
_SLOT3 = np.arange(3, dtype=np.int8)[:, None]
_ZERO, _POINT, _MINUS, _PLUS, _E = b"0.-+e"


def _unpack(packed: np.ndarray, out: np.ndarray, skip: int = 0) -> None:
    """ASCII digits packed by ``_DIGITS3``/``_DIGITS4`` into the rows of ``out``, the first
    ``skip`` digits left out."""
    for k in range(out.shape[0]):
        out[k] = packed >> np.uint32(8 * (k + skip))  # the cast keeps the lowest byte


def _digits(m: np.ndarray, count: int) -> np.ndarray:
    """The ``count`` decimal digits of the non-negative integers ``m`` below ``10**count``,
    most significant first, as ASCII codes: ``(count, len(m))``."""
    out = np.empty((count, m.size), dtype=np.uint8)
    end = count
    while end > 4:
        m, low = np.divmod(m, 1000)
        _unpack(_DIGITS3[low], out[end - 3 : end])
        end -= 3
    _unpack(_DIGITS4[m], out[:end], skip=4 - end)
    return out


def _digit_count(top: float) -> int:
    """Digits of the integers up to ``top`` (and of ``top`` rounded up: a tie carries)."""
    return len(str(int(top) + 1)) if top < 1e17 else 18


def _g7(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """%.7g in 20 slots: sign, 7 integer digits (below 1: ``0.`` and the zeros after the
    point), point, 7 digits after the point, ``e±XX``; and the numbers it could not be sure
    of (left to ``%``)."""
    n = x.size
    a = np.abs(x)
    zero = a == 0
    finite = np.isfinite(a) & ~zero
    top, bottom = 10.0**7 - 0.5, 10.0**6 - 0.5  # the 7-digit integers round from these
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        guess = np.floor(np.log10(np.where(finite, a, 1.0))).astype(np.int16)
        y = a * _EXACT[np.clip(6 - guess, 0, 22)]
        big = np.flatnonzero(guess > 6)  # 8 digits or more: divided by an exact power
        y[big] = a[big] / _EXACT[np.clip(guess[big] - 6, 0, 22)]
        # a guess one off (log10 near a power of ten, a rounding that carries into an 8th
        # digit): scaled again, by one exact operation; every other y is in [bottom, top)
        up, down = y >= top, y < bottom
        exponent = guess + up - down
        again = np.flatnonzero(up | down)
        ya = y[again]
        doubtful = (np.abs(ya - top) < 1e-6) | (np.abs(ya - bottom) < 1e-6)
        p = 6 - exponent[again].astype(np.int64)
        power = _EXACT[np.clip(np.abs(p), 0, 22)]
        y[again] = ya = np.where(p >= 0, a[again] * power, a[again] / power)
        doubtful |= ~(ya >= bottom) | ~(ya < top)
        # y is within 1e-9 of the exact scaled value: a tie within 1e-8 is left to %
        m = np.rint(y)
        unsure = np.abs(y - m) > 0.5 - 1e-8
    unsure[again] |= doubtful
    unsure |= np.abs(exponent - 6) > 22  # beyond the exact powers of ten
    unsure |= ~finite
    unsure[zero] = False
    odd = np.flatnonzero(unsure | zero)
    exponent[odd] = 0
    m[odd] = 0
    digits = _digits(m.astype(np.int32), 7)
    kept = digits != _ZERO  # digits up to the last non-zero one: %g drops trailing zeros
    for k in range(5, -1, -1):
        kept[k] |= kept[k + 1]
    sci = (exponent < -4) | (exponent >= 7)
    small = ~sci & (exponent < 0)
    # the last digit before the point (-1: "0." then every digit)
    last = np.where(sci, 0, np.where(small, -1, exponent)).astype(np.int8)
    out = np.zeros((20, n), dtype=np.uint8)
    out[0] = np.signbit(x).view(np.uint8) * _MINUS
    np.multiply(_SLOT7 <= last, digits, out=out[1:8])
    # below 1: "0." and the leading zeros in the integer digits' slots, which they leave
    # empty, and the point's own slot unused
    out[1] |= (small | zero).view(np.uint8) * _ZERO
    out[2] |= small.view(np.uint8) * _POINT
    np.multiply((_SLOT7 > last) & kept, digits, out=out[9:16])
    out[8] = (out[9:16].any(axis=0) & ~small).view(np.uint8) * _POINT
    # the few numbers below 0.01 or in e-notation, by index
    tiny = np.flatnonzero(small & (exponent < -1))
    out[3:6, tiny] = (_SLOT3 < -1 - exponent[tiny]) * _ZERO
    e = np.flatnonzero(sci)
    size = np.abs(exponent[e])
    out[16, e] = _E
    out[17, e] = np.where(exponent[e] < 0, _MINUS, _PLUS)
    out[18, e] = _ZERO + size // 10
    out[19, e] = _ZERO + size % 10
    return out, unsure


def _fixed(x: np.ndarray, decimals: int) -> tuple[np.ndarray, np.ndarray]:
    """%.6f (``decimals`` 6: sign, up to 10 integer digits, point, 6 decimals) or %d (0:
    sign, up to 16 digits), as many digits as the largest number needs; and the numbers it
    could not be sure of (left to ``%``, which raises for ``%d`` of inf or NaN)."""
    a = np.abs(x)
    with np.errstate(invalid="ignore", over="ignore"):
        if decimals:
            y = a * _EXACT[decimals]
            # within y's rounding error of a tie: printf's exact decimal decides
            large = ~(y < 2.0**43)
            unsure = large | (np.abs(y - np.floor(y) - 0.5) <= y * 4.5e-16)
            m = np.rint(np.where(large, 0.0, y)).astype(np.int64)
            negative = np.signbit(x)
        else:
            unsure = ~(a < 2.0**53)
            m = np.trunc(np.where(unsure, 0.0, a)).astype(np.int64)  # %d of a float: int()
            negative = (m > 0) & (x < 0)
    # as many digits as the largest finite number needs (those left to % included), up to
    # 16 (%.6f: 10 before the point)
    top = float(np.max(y if decimals else a, where=np.isfinite(a), initial=0.0))
    width = max(decimals + 1, min(_digit_count(top), 16))
    digits = _digits(m, width)
    out = np.empty((1 + width + (decimals > 0), x.size), dtype=np.uint8)
    out[0] = negative.view(np.uint8) * _MINUS
    whole = width - decimals
    lead = digits[:whole] != _ZERO  # leading zeros dropped, but a 0 before the point
    lead[-1] = True
    for k in range(1, whole):
        lead[k] |= lead[k - 1]
    np.multiply(lead, digits[:whole], out=out[1 : 1 + whole])
    if decimals:
        out[1 + whole] = _POINT
        out[2 + whole :] = digits[whole:]
    return out, unsure


def format_numbers(x: np.ndarray, fmt: str, *, blank: np.ndarray | None = None,
                   blank_text: bytes = b"") -> np.ndarray | None:
    """Every number of ``x`` as ``fmt % number`` writes it.

    Parameters
    ----------
    x : np.ndarray [shape=(...)], float64
    fmt : {"%.7g", "%.6f", "%d"}
    blank : np.ndarray [shape=x.shape], bool, optional
        Numbers written as ``blank_text`` instead (a CSV's empty field, JSON's ``null``).
    blank_text : bytes

    Returns
    -------
    texts : np.ndarray [shape=(slots, *x.shape)], uint8, or None
        ASCII codes, zero where a slot is unused; slots unused by every number are left out.
        None where a text ``%`` writes (of inf, or of a number too large for ``%.6f``'s 10
        integer digits) does not fit the slots. ``%d`` of inf or NaN raises as ``%`` does.
    """
    x = np.asarray(x, dtype=np.float64)
    flat = x.ravel()
    if fmt == "%.7g":
        texts, unsure = _g7(flat)
    elif fmt == "%.6f":
        texts, unsure = _fixed(flat, 6)
    elif fmt == "%d":
        texts, unsure = _fixed(flat, 0)
    else:
        raise ValueError(f"fmt must be one of {', '.join(FORMATS)}, not {fmt!r}")
    blank = np.zeros(flat.size, dtype=bool) if blank is None else np.ravel(blank)
    slots = texts.shape[0]
    for i in np.flatnonzero(unsure | blank):
        text = blank_text if blank[i] else (fmt % float(flat[i])).encode("ascii")
        if len(text) > slots:
            return None
        texts[:, i] = 0
        texts[: len(text), i] = np.frombuffer(text, dtype=np.uint8)
    texts = texts[texts.any(axis=1)]
    return texts.reshape(texts.shape[0], *x.shape)


def text_slots(labels: Sequence[str]) -> np.ndarray | None:
    """Strings as slots, ``(slots, len(labels))``: UTF-8, None if one cannot be written so
    (an unpaired surrogate, a zero byte)."""
    position = {label: j for j, label in enumerate(dict.fromkeys(labels))}
    if len(position) == 1:  # one channel (a mix): no index to look up
        index = np.zeros(len(labels), dtype=np.intp)
    else:
        index = np.array([position[label] for label in labels], dtype=np.intp)
    try:
        encoded = [str(label).encode("utf-8") for label in position]
    except UnicodeEncodeError:
        return None
    if any(b"\0" in e for e in encoded):
        return None
    table = np.zeros((max(map(len, encoded), default=0), len(encoded)), dtype=np.uint8)
    for j, e in enumerate(encoded):
        table[: len(e), j] = np.frombuffer(e, dtype=np.uint8)
    return table[:, index]


def join_rows(pieces: Sequence[bytes | tuple[np.ndarray, bytes]], rows: int) -> bytes:
    """Rows laid out from ``pieces``, their zero slots dropped.

    Each piece is the same bytes in every row, or ``(texts, sep)``: ``texts`` of shape
    ``(slots, rows)`` (one field) or ``(slots, rows, k)`` (``k`` fields, ``sep`` between them).
    """
    layout = []
    for piece in pieces:
        if isinstance(piece, bytes):
            layout.append((piece, len(piece)))
        else:
            texts, sep = piece
            texts = texts.reshape(texts.shape[0], rows, 1 if texts.ndim == 2 else texts.shape[2])
            layout.append(((texts, sep), texts.shape[2] * (texts.shape[0] + len(sep))))
    out = np.empty((rows, sum(w for _, w in layout)), dtype=np.uint8)
    at = 0
    for item, w in layout:
        if isinstance(item, bytes):
            out[:, at : at + w] = np.frombuffer(item, dtype=np.uint8)
        else:
            texts, sep = item
            slots, _, k = texts.shape
            fields = out[:, at : at + w].reshape(rows, k, slots + len(sep))
            fields[:, :, :slots] = texts.transpose(1, 2, 0)
            fields[:, :, slots:] = np.frombuffer(sep, dtype=np.uint8)
            fields[:, -1, slots:] = 0  # no separator after the last field
        at += w
    return out.tobytes().translate(None, b"\0")  # faster than out[out != 0]
