"""Band layouts and flatness per frequency band: pure numpy on arrays.

Layouts: ``mpeg7`` (ISO/IEC 15938-4 AudioSpectrumFlatness, as the reference software
mpeg7ASF.m computes it), ``octave`` and ``third-octave`` (IEC 61260 base-10 nominal bands),
``mel:N`` and ``linear:N`` (N contiguous bands from 0 Hz to Nyquist) and
``edges:f0,f1,...`` (explicit band edges in Hz).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ._errors import ParameterError
from .stft import scratch
from .validate import positive_float, positive_int, validate_amin, validate_power

__all__ = [
    "BandLayout",
    "band_layout",
    "mpeg7_bands",
    "octave_bands",
    "mel_bands",
    "linear_bands",
    "edge_bands",
    "mel_frequencies",
    "band_flatness",
    "parse_band_spec",
    "BandReducer",
    "check_edges",
    "within",
    "LOG_RANGE",
]

#: a sum of logarithms is taken as the logarithm of a product when its magnitude stays below
#: this (float64 spans e**-708 to e**709.8; the margin keeps products out of subnormals)
LOG_RANGE = 690.0

_MPEG7_LOW_HZ = 250.0
_MPEG7_TOP_HZ = 16000.0
_MPEG7_WIDEN = 0.05


def _matlab_round(x: float) -> int:
    """Round half away from zero, as MATLAB's round (the reference software is MATLAB)."""
    return int(math.floor(abs(x) + 0.5)) * (1 if x >= 0 else -1)


@dataclass(frozen=True)
class BandLayout:
    """Frequency bands of one STFT geometry.

    Attributes
    ----------
    kind : str
        The layout specification it came from, e.g. ``"mpeg7"`` or ``"mel:40"``.
    lo_hz, hi_hz : np.ndarray [shape=(n_bands,)]
        Nominal band edges in Hz (they name the columns).
    bin_lo, bin_hi : np.ndarray [shape=(n_bands,)]
        First and last FFT bin of each band, both inclusive.
    group : np.ndarray [shape=(n_bands,)]
        Consecutive power bins summed into one coefficient before the means (MPEG-7 above
        1 kHz); 1 elsewhere.
    sr : float
    n_fft : int
    """

    kind: str
    lo_hz: np.ndarray
    hi_hz: np.ndarray
    bin_lo: np.ndarray
    bin_hi: np.ndarray
    group: np.ndarray
    sr: float
    n_fft: int

    def __post_init__(self) -> None:
        names = self.names
        if len(set(names)) != len(names):
            raise ParameterError(
                f"bands {self.kind!r}: band edges rounded to whole Hz collide; use fewer bands"
            )

    @property
    def n_bands(self) -> int:
        return len(self.lo_hz)

    @property
    def names(self) -> list[str]:
        """``"<lo>_<hi>"`` with the nominal edges rounded to whole Hz, e.g. ``"250_297"``."""
        pairs = zip(self.lo_hz, self.hi_hz)
        return [f"{_matlab_round(lo)}_{_matlab_round(hi)}" for lo, hi in pairs]

    @property
    def edges_hz(self) -> np.ndarray:
        """Nominal edges, shape (n_bands, 2)."""
        return np.stack([self.lo_hz, self.hi_hz], axis=-1)


def _validate_geometry(sr: float, n_fft: int) -> tuple[float, int]:
    return positive_float(sr, "sr"), positive_int(n_fft, "n_fft")


def mpeg7_bands(*, sr: float, n_fft: int) -> BandLayout:
    """MPEG-7 AudioSpectrumFlatness quarter-octave bands, by the reference software's rules.

    Nominal edges ``250·2^((k-1)/4)`` to ``250·2^(k/4)`` Hz, each widened to 0.95·lo … 1.05·hi;
    FFT bins ``round(f / (sr/n_fft))``, both ends inclusive; bands stop when the nominal low
    edge reaches 16 kHz or the widened high edge passes Nyquist. From 1 kHz up,
    ``2^floor(log2(lo/500))`` consecutive power bins are summed into one coefficient and the
    band's bin count is rounded to a whole number of groups, as mpeg7ASF.m does.

    A band with fewer than two coefficients (at a coarse bin spacing, e.g. ``sr=8000,
    n_fft=64``) is left out, as the octave layouts leave out bands narrower than two bins:
    the flatness of a single coefficient is 1 whatever the signal.
    """
    sr, n_fft = _validate_geometry(sr, n_fft)
    df = sr / n_fft
    top_bin = n_fft // 2
    rows = []
    k = 1
    while True:
        lo = _MPEG7_LOW_HZ * 2.0 ** ((k - 1) / 4)
        hi = _MPEG7_LOW_HZ * 2.0 ** (k / 4)
        if lo >= _MPEG7_TOP_HZ or hi * (1 + _MPEG7_WIDEN) > sr / 2:
            break
        i_lo = _matlab_round(lo * (1 - _MPEG7_WIDEN) / df)
        i_hi = _matlab_round(hi * (1 + _MPEG7_WIDEN) / df)
        group = 1
        if k >= 9:  # nominal low edge >= 1 kHz; integer form of 2^floor(log2(lo/500))
            group = 2 ** ((k - 5) // 4)
            n_groups = max(1, _matlab_round((i_hi - i_lo + 1) / group))
            # rounding up must not reach past the Nyquist bin
            while n_groups > 1 and i_lo + n_groups * group - 1 > top_bin:
                n_groups -= 1
            i_hi = i_lo + n_groups * group - 1
        if i_hi > top_bin:
            break
        if (i_hi - i_lo + 1) // group >= 2:  # one coefficient is trivially flat
            rows.append((lo, hi, i_lo, i_hi, group))
        k += 1
    if not rows:
        raise ParameterError(
            f"bands 'mpeg7': no band of two or more coefficients fits at sr={sr:g} and "
            f"{n_fft=} (they need sr > {2 * 1.05 * 250 * 2 ** 0.25:.0f} Hz and bins at most "
            "about 25 Hz apart at 250 Hz)")
    lo, hi, b_lo, b_hi, group = (np.array(col) for col in zip(*rows))
    return BandLayout("mpeg7", lo.astype(float), hi.astype(float), b_lo.astype(np.intp),
                      b_hi.astype(np.intp), group.astype(np.intp), sr, n_fft)


def _contiguous(kind: str, lo: np.ndarray, hi: np.ndarray, sr: float, n_fft: int) -> BandLayout:
    """Bands holding the bins with ``lo <= f < hi`` (the top band includes Nyquist)."""
    df = sr / n_fft
    top_bin = n_fft // 2
    eps = 1e-9
    b_lo = np.ceil(lo / df - eps).astype(np.intp)
    b_hi = np.ceil(hi / df - eps).astype(np.intp) - 1
    b_hi = np.where(hi >= sr / 2 - eps * df, top_bin, np.minimum(b_hi, top_bin))
    empty = np.flatnonzero(b_hi < b_lo)
    if empty.size:
        i = empty[0]
        raise ParameterError(
            f"bands {kind!r}: band {lo[i]:g}-{hi[i]:g} Hz holds no FFT bin at {n_fft=} and "
            f"sr={sr:g} (bins are {df:g} Hz apart); use a larger n_fft or fewer bands"
        )
    ones = np.ones(len(lo), dtype=np.intp)
    return BandLayout(kind, lo.astype(float), hi.astype(float), b_lo, b_hi, ones, sr, n_fft)


def octave_bands(*, sr: float, n_fft: int, fraction: int = 1) -> BandLayout:
    """IEC 61260-1 base-10 octave (``fraction=1``) or third-octave (``fraction=3``) bands.

    Mid-band frequencies ``1000 · 10^(3x / (10·fraction))`` Hz with edges at
    ``10^(±3 / (20·fraction))`` around them, from the 16 Hz band up to the last band whose
    upper edge is at or below Nyquist; low bands narrower than two FFT bins are left out
    (one bin is trivially flat).
    """
    sr, n_fft = _validate_geometry(sr, n_fft)
    if fraction not in (1, 3):
        raise ParameterError(f"{fraction=} must be 1 (octave) or 3 (third-octave)")
    ratio = 10.0 ** (3.0 / 10.0)  # the base-10 octave ratio G
    df = sr / n_fft
    x = np.arange(-6 * fraction, 12 * fraction + 1)
    mid = 1000.0 * ratio ** (x / fraction)
    lo = mid * ratio ** (-0.5 / fraction)
    hi = mid * ratio ** (0.5 / fraction)
    # a band must span two bins: the flatness of a single bin is 1 whatever the signal
    keep = (hi <= sr / 2) & (hi - lo >= 2 * df)
    if not keep.any():
        raise ParameterError(f"no {'octave' if fraction == 1 else 'third-octave'} band fits "
                             f"between the bin spacing {df:g} Hz and Nyquist {sr / 2:g} Hz")
    kind = "octave" if fraction == 1 else "third-octave"
    return _contiguous(kind, lo[keep], hi[keep], sr, n_fft)


def mel_frequencies(n: int, *, fmin: float = 0.0, fmax: float = 11025.0) -> np.ndarray:
    """``n`` frequencies equally spaced on the Slaney mel scale (``librosa.mel_frequencies``)."""
    f_sp = 200.0 / 3
    min_log_hz, min_log_mel, logstep = 1000.0, 1000.0 / f_sp, np.log(6.4) / 27.0

    def to_mel(f: float) -> float:
        return f / f_sp if f < min_log_hz else min_log_mel + np.log(f / min_log_hz) / logstep

    mels = np.linspace(to_mel(fmin), to_mel(fmax), n)
    hz = f_sp * mels
    log_part = mels >= min_log_mel
    hz[log_part] = min_log_hz * np.exp(logstep * (mels[log_part] - min_log_mel))
    return hz


def _positive_count(kind: str, n: int) -> int:
    try:
        return positive_int(n, "n")
    except ParameterError:
        raise ParameterError(
            f"bands {kind!r}: the number of bands must be a positive integer", param="bands"
        ) from None


def check_edges(edges: Sequence[float], spec: str) -> np.ndarray:
    """Band edges in Hz as an array: at least two, finite, >= 0 and strictly increasing.

    ``spec`` names the layout in the error message.
    """
    e = np.asarray(edges, dtype=float)
    if e.ndim != 1 or e.size < 2:
        raise ParameterError(f"bands {spec!r}: give at least two edges", param="bands")
    if not np.isfinite(e).all() or (e < 0).any():
        raise ParameterError(f"bands {spec!r}: edges must be finite and >= 0 Hz", param="bands")
    if (np.diff(e) <= 0).any():
        raise ParameterError(f"bands {spec!r}: edges must be strictly increasing", param="bands")
    return e


def mel_bands(n: int, *, sr: float, n_fft: int, fmin: float = 0.0,
              fmax: float | None = None) -> BandLayout:
    """``n`` contiguous bands between ``n + 1`` Slaney-mel-spaced edges from ``fmin`` to
    ``fmax`` (default: 0 Hz to Nyquist)."""
    sr, n_fft = _validate_geometry(sr, n_fft)
    n = _positive_count(f"mel:{n}", n)
    edges = mel_frequencies(n + 1, fmin=fmin, fmax=sr / 2 if fmax is None else fmax)
    return _contiguous(f"mel:{n}", edges[:-1], edges[1:], sr, n_fft)


def linear_bands(n: int, *, sr: float, n_fft: int, fmin: float = 0.0,
                 fmax: float | None = None) -> BandLayout:
    """``n`` contiguous bands of equal width from ``fmin`` to ``fmax`` (default: 0 Hz to
    Nyquist)."""
    sr, n_fft = _validate_geometry(sr, n_fft)
    n = _positive_count(f"linear:{n}", n)
    edges = np.linspace(fmin, sr / 2 if fmax is None else fmax, n + 1)
    return _contiguous(f"linear:{n}", edges[:-1], edges[1:], sr, n_fft)


def within(layout: BandLayout, *, fmin: float = 0.0, fmax: float | None = None) -> BandLayout:
    """The bands of ``layout`` whose nominal edges lie inside ``[fmin, fmax]`` Hz.

    A band that straddles a limit is left out (its flatness would mix bins inside and outside
    the range). Raises :class:`ParameterError` when no band is left.
    """
    fmax = layout.sr / 2 if fmax is None else fmax
    slack = 1e-9 * max(fmax, 1.0)
    keep = (layout.lo_hz >= fmin - slack) & (layout.hi_hz <= fmax + slack)
    if not keep.any():
        raise ParameterError(
            f"bands {layout.kind!r}: no band lies inside {fmin:g}-{fmax:g} Hz", param="bands")
    if keep.all():
        return layout
    return BandLayout(layout.kind, layout.lo_hz[keep], layout.hi_hz[keep], layout.bin_lo[keep],
                      layout.bin_hi[keep], layout.group[keep], layout.sr, layout.n_fft)


def edge_bands(edges: Sequence[float], *, sr: float, n_fft: int) -> BandLayout:
    """Contiguous bands between explicit edges in Hz (at least two, increasing, <= Nyquist)."""
    sr, n_fft = _validate_geometry(sr, n_fft)
    e = np.asarray(edges, dtype=float)
    kind = "edges:" + ",".join(f"{v:g}" for v in e.ravel())
    e = check_edges(e, kind)
    if e[-1] > sr / 2:
        raise ParameterError(f"bands {kind!r}: edge {e[-1]:g} Hz is above Nyquist ({sr / 2:g} Hz)")
    return _contiguous(kind, e[:-1], e[1:], sr, n_fft)


def band_layout(
    spec: str | Sequence[float] | BandLayout | None, *, sr: float, n_fft: int,
    fmin: float | None = None, fmax: float | None = None,
) -> BandLayout | None:
    """Build a layout from its specification, optionally inside a frequency range.

    Parameters
    ----------
    spec : str, sequence of float, BandLayout or None
        ``"none"``/None, ``"mpeg7"``, ``"octave"``, ``"third-octave"``, ``"mel:N"``,
        ``"linear:N"``, ``"edges:f0,f1,..."`` or a sequence of edges in Hz.
    sr : float
    n_fft : int
    fmin, fmax : float or None
        Frequency range in Hz (at most Nyquist; see :func:`sfm_audio.stft.bin_range`). ``mel:N``
        and ``linear:N`` spread their N bands over the range; the other layouts keep the bands
        lying inside it (:func:`within`).
    """
    if spec is None:
        return None
    lo = 0.0 if fmin is None else float(fmin)
    hi = sr / 2 if fmax is None else float(fmax)
    ranged = fmin is not None or fmax is not None
    if isinstance(spec, BandLayout):
        return within(spec, fmin=lo, fmax=hi) if ranged else spec
    if not isinstance(spec, str):
        layout = edge_bands(spec, sr=sr, n_fft=n_fft)
    else:
        name, arg = parse_band_spec(spec)
        if name == "none":
            return None
        if name == "mpeg7":
            layout = mpeg7_bands(sr=sr, n_fft=n_fft)
        elif name in ("octave", "third-octave"):
            layout = octave_bands(sr=sr, n_fft=n_fft, fraction=1 if name == "octave" else 3)
        elif name == "mel":
            return mel_bands(arg, sr=sr, n_fft=n_fft, fmin=lo, fmax=hi)
        elif name == "linear":
            return linear_bands(arg, sr=sr, n_fft=n_fft, fmin=lo, fmax=hi)
        else:
            layout = edge_bands(arg, sr=sr, n_fft=n_fft)
    return within(layout, fmin=lo, fmax=hi) if ranged else layout


def parse_band_spec(spec: str) -> tuple[str, object]:
    """Check the spelling of a layout specification without building it.

    Returns ``(name, argument)``: the count for mel/linear, the edge list for edges (checked
    to be increasing and non-negative), None otherwise.
    """
    name, _, arg = str(spec).strip().partition(":")
    name = name.lower().replace("_", "-")
    if name in ("none", "mpeg7", "octave", "third-octave") and not arg:
        return name, None
    if name in ("mel", "linear") and arg:
        try:
            count = int(arg)
        except ValueError:
            count = 0
        if count <= 0:
            raise ParameterError(f"bands {spec!r}: {arg!r} must be a positive whole number",
                                 param="bands")
        return name, count
    if name == "edges" and arg:
        try:
            edges = [float(v) for v in arg.split(",")]
        except ValueError:
            raise ParameterError(f"bands {spec!r}: {arg!r} is not a list of numbers",
                                 param="bands") from None
        check_edges(edges, spec)
        return name, edges
    raise ParameterError(
        f"unknown bands {spec!r}; use none, mpeg7, octave, third-octave, mel:N, linear:N "
        "or edges:f0,f1,...", param="bands"
    )


#: rows (frames times channels) a band reduction takes at least; see BandReducer.__call__
_MIN_ROWS = 8


class BandReducer:
    """Band flatness and crest of floored power frames with frequency on the last axis.

    Built once per layout. Every band is a run of *units*: single bins, or (MPEG-7 above
    1 kHz) sums of ``g`` consecutive bins. The bins the bands span are transposed once
    (frequency first), so that every statistic of a band is a reduction over whole rows
    (contiguous, vectorised): the sums of ``g`` bins, then per band the sum, the maximum and
    the product of its units. The log-mean of a band is the logarithm of that product (one
    logarithm per band and frame instead of one per unit) when the smallest bin and the
    largest unit keep every partial product inside float64's normal range; otherwise the
    logarithms of the units are summed.

    The arrays passed in have at least ``n_fft // 2 + 1`` columns (the bins; extra trailing
    columns are ignored).
    """

    def __init__(self, layout: BandLayout):
        self.layout = layout
        lo, hi, group = layout.bin_lo, layout.bin_hi, layout.group
        counts = (hi - lo + 1) // group
        self._lo, self._hi = int(lo.min()), int(hi.max()) + 1
        # per band: group size, first bin (relative to _lo), number of units
        self._bands = [(int(g), int(a) - self._lo, int(c)) for g, a, c in zip(group, lo, counts)]
        self._n = counts.astype(float)[:, np.newaxis]
        self._group = group.astype(float)[:, np.newaxis]
        #: bins each band's mean power is taken over
        self.n_bins = counts * group
        self._max_count = int(counts.max())

    def _units(self, bins_t: np.ndarray, band: int) -> np.ndarray:
        g, first, count = self._bands[band]
        units = bins_t[first : first + count * g]
        return units if g == 1 else units.reshape(count, g, -1).sum(axis=1)

    def __call__(
        self, Pf: np.ndarray, work: dict | None = None, *, floor: float | None = None,
        means: bool = False,
    ) -> tuple[np.ndarray, ...]:
        """Return ``(sfm, crest)``, each of shape ``Pf.shape[:-1] + (n_bands,)``; with
        ``means``, also the mean floored power *per bin* of each band (same shape).

        ``work`` is an optional dict of scratch arrays of the calling thread (chunks of a few
        MB allocated afresh page-fault their memory in every time); ``floor`` a lower bound
        of the values when known (the ``amin`` they were floored at).
        """
        lead = Pf.shape[:-1]
        rows = Pf.reshape(-1, Pf.shape[-1])
        n_rows = rows.shape[0]
        if n_rows < _MIN_ROWS:
            # numpy reduces an array of one to three columns in another order (pairwise along
            # the reduced axis): without these copies of the last row a frame's band values
            # would change, by an ulp, with the number of frames sharing its chunk (a live
            # input's small chunks, a file's last one)
            rows = np.concatenate([rows, np.repeat(rows[-1:], _MIN_ROWS - n_rows, axis=0)])
        m, nb = rows.shape[0], self.layout.n_bands
        bins_t = scratch(work, "band_bins_t", (self._hi - self._lo, m))
        np.copyto(bins_t, rows[:, self._lo : self._hi].T)
        stats = np.empty((3, nb, m))
        total, peak, prod = stats
        grouped = scratch(work, "band_units_t", (self._max_count, m))
        add, maximum, multiply = np.add.reduce, np.maximum.reduce, np.multiply.reduce
        with np.errstate(over="ignore", under="ignore"):  # products out of range: see below
            for b, (g, first, count) in enumerate(self._bands):
                if g == 1:
                    units = bins_t[first : first + count]
                else:
                    units = add(bins_t[first : first + count * g].reshape(count, g, m), axis=1,
                                out=grouped[:count])
                add(units, axis=0, out=total[b])
                maximum(units, axis=0, out=peak[b])
                multiply(units, axis=0, out=prod[b])
        smallest = float(bins_t.min(initial=np.inf)) if floor is None else float(floor)
        largest = float(peak.max(initial=0.0))
        if 0.0 < smallest and largest < np.inf and self._max_count * max(
                abs(math.log(smallest)), abs(math.log(largest))) < LOG_RANGE:
            # every unit lies in [smallest, largest]: so does each partial product's j-th root
            logs = np.log(prod, out=prod)
        else:
            logs = prod
            for b in range(nb):
                logs[b] = np.log(self._units(bins_t, b)).sum(axis=0)
        amean = total[:, :n_rows] / self._n
        sfm = np.exp(logs[:, :n_rows] / self._n) / amean
        crest = peak[:, :n_rows] / amean
        out = (sfm.T.reshape(lead + (nb,)), crest.T.reshape(lead + (nb,)))
        if means:
            per_bin = amean / self._group
            out += (per_bin.T.reshape(lead + (nb,)),)
        return out


def band_flatness(
    S: np.ndarray,
    layout: BandLayout,
    *,
    amin: float = 1e-10,
    power: float = 2.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Flatness and crest factor per band and frame.

    Parameters
    ----------
    S : np.ndarray [shape=(..., n_freq, n_frames)]
        Magnitude spectrogram with ``n_freq = layout.n_fft // 2 + 1``.
    layout : BandLayout
    amin, power
        As in :func:`sfm_audio.flatness.spectral_flatness`: the floor applies to each power
        bin before bins are grouped or averaged.

    Returns
    -------
    sfm, crest : np.ndarray [shape=(..., n_bands, n_frames)]
    """

    amin, power = validate_amin(amin), validate_power(power)
    S = np.asarray(S, dtype=np.float64)
    n_freq = layout.n_fft // 2 + 1
    if S.ndim < 2 or S.shape[-2] != n_freq:
        raise ParameterError(
            f"S has shape {S.shape}; expected (..., {n_freq}, n_frames) for n_fft={layout.n_fft}"
        )
    Pf = np.maximum(np.swapaxes(S, -1, -2) ** power, amin)
    sfm, crest = BandReducer(layout)(Pf, floor=amin)
    return np.swapaxes(sfm, -1, -2), np.swapaxes(crest, -1, -2)
