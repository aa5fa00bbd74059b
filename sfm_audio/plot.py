"""Figures of the project's results: they draw arrays they are given, nothing more.

The only module that imports matplotlib. Figures are built with
:class:`matplotlib.figure.Figure` directly, so no pyplot state and no GUI backend is involved:
this works headless and leaves the backend of an interactive user untouched. Every function
takes arrays that are already computed (it never computes an STFT or anything costly), draws on
the caller's axes when given (``ax=`` or ``axes=``) or on a new figure, and returns the figure.
:func:`save` writes a figure completely or not at all.

Shapes follow the project's rule: time is the last axis.
"""

from __future__ import annotations

import contextlib
import functools
import math
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import matplotlib as mpl
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure, SubFigure
from matplotlib.ticker import FixedLocator, NullLocator

from ._errors import ParameterError
from ._files import atomic_path
from .coding.quantize import ECSQ_GAP_BITS
from .validate import finite_float, nonnegative_float, positive_float

__all__ = [
    "flatness", "bands", "eigen", "rd", "gain", "lossless",
    "save", "output_format", "ECSQ_GAP_BITS",
]


# One house style for every figure (applied while artists are created).
_STYLE: dict[str, Any] = {
    "font.size": 10.0,
    "axes.titlesize": 11.0,
    "axes.titleweight": "bold",
    "axes.labelsize": 10.0,
    "figure.titlesize": 12.0,
    "figure.titleweight": "bold",
    "legend.fontsize": 8.5,
    "legend.framealpha": 0.85,
    "xtick.labelsize": 9.0,
    "ytick.labelsize": 9.0,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "grid.linewidth": 0.6,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "lines.linewidth": 1.4,
    "lines.markersize": 5.0,
    "image.cmap": "viridis",
    "axes.prop_cycle": mpl.cycler(color=mpl.colormaps["tab10"].colors),
    # Same input -> same bytes out (SVG ids are otherwise salted at random).
    "svg.hashsalt": "sfm_audio",
    "pdf.compression": 6,
}

_F = TypeVar("_F", bound=Callable[..., Figure])


def _styled(func: _F) -> _F:
    """Run a figure function under the house style."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Figure:
        with mpl.rc_context(_STYLE):
            return func(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


# --------------------------------------------------------------------------- helpers


def _root_figure(ax: Axes) -> Figure:
    fig = ax.figure
    while isinstance(fig, SubFigure):
        fig = fig.figure
    return fig


def _check_ax(ax: Any) -> Axes:
    if not isinstance(ax, Axes):
        raise ParameterError(f"ax={ax!r} must be a matplotlib Axes or None")
    return ax


def _check_axes(axes: Any, n: int, func: str) -> list[Axes]:
    if isinstance(axes, Axes) or not isinstance(axes, Sequence | np.ndarray):
        raise ParameterError(f"{func}: axes must be a sequence of {n} matplotlib Axes or None")
    axes = list(np.ravel(np.asarray(axes, dtype=object)))
    if len(axes) != n:
        raise ParameterError(f"{func}: axes has {len(axes)} Axes; this figure needs {n}")
    return [_check_ax(a) for a in axes]


def _single_axes(ax: Axes | None, figsize: tuple[float, float]) -> tuple[Figure, Axes]:
    if ax is not None:
        ax = _check_ax(ax)
        return _root_figure(ax), ax
    fig = Figure(figsize=figsize, layout="constrained")
    return fig, fig.add_subplot()


def _set_title(fig: Figure, axes: list[Axes], title: str, created: bool) -> None:
    """Title a multi-panel figure: suptitle on a figure we made, top panel on the caller's."""
    if created:
        fig.suptitle(title)
    else:
        axes[0].set_title(title)


def _vector(name: str, x: Any, n: int | None = None, *, what: str = "") -> np.ndarray:
    """Validate a 1-D array (optionally of length ``n``); never copies needlessly, never writes."""
    try:
        a = np.asarray(x, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"{name} must be a 1-D array of numbers: {exc}") from None
    if a.ndim != 1:
        raise ParameterError(f"{name} must be 1-D; got shape {a.shape}")
    if n is not None and a.shape[0] != n:
        raise ParameterError(f"{name} has shape {a.shape}; expected ({n},){what}")
    return a


def _matrix(name: str, x: Any) -> np.ndarray:
    try:
        a = np.asarray(x, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"{name} must be a 2-D array of numbers: {exc}") from None
    if a.ndim != 2 or 0 in a.shape:
        raise ParameterError(f"{name} must be a non-empty 2-D array; got shape {a.shape}")
    return a


def _edges(name: str, x: np.ndarray, n: int, unit: str) -> np.ndarray:
    """Cell edges from ``n`` cell centres or ``n + 1`` edges (strictly increasing)."""
    if x.shape[0] not in (n, n + 1):
        raise ParameterError(
            f"{name} has shape {x.shape}; expected ({n},) centres or ({n + 1},) edges"
        )
    if not np.all(np.isfinite(x)):
        raise ParameterError(f"{name} must be finite")
    if x.shape[0] > 1 and not np.all(np.diff(x) > 0):
        raise ParameterError(f"{name} must be strictly increasing ({unit})")
    if x.shape[0] == n + 1:
        return x.copy()
    if n == 1:
        return np.array([x[0] - 0.5, x[0] + 0.5])
    mid = 0.5 * (x[1:] + x[:-1])
    return np.concatenate(([x[0] - (mid[0] - x[0])], mid, [x[-1] + (x[-1] - mid[-1])]))


def _fmt_hz(f: float) -> str:
    if abs(f) >= 1000.0:
        return f"{f / 1000.0:.3g}k"
    return f"{f:.3g}"


# --------------------------------------------------------------------------- figures


@_styled
def flatness(
    spec_db: np.ndarray,
    freqs: np.ndarray,
    times: np.ndarray,
    sfm: np.ndarray,
    frame_times: np.ndarray,
    *,
    sfm_db: np.ndarray | None = None,
    tonality: np.ndarray | None = None,
    title: str = "Spectrogram and spectral flatness",
    top_db: float | None = 80.0,
    cmap: str = "magma",
    axes: Sequence[Axes] | None = None,
    figsize: tuple[float, float] = (10.0, 7.0),
) -> Figure:
    """Spectrogram in dB on a log-frequency axis, with the per-frame flatness beneath it.

    Parameters
    ----------
    spec_db : np.ndarray [shape=(n_freq, n_cols)]
        Power spectrogram in dB, already pooled to the picture's width by the caller.
    freqs : np.ndarray [shape=(n_freq,) or (n_freq + 1,)]
        Bin centre frequencies in Hz, or bin edges. A row whose centre is at or below 0 Hz
        (the DC bin) cannot sit on a log axis and is left out; a non-positive lowest *edge* is
        replaced by half the row's upper edge.
    times : np.ndarray [shape=(n_cols,) or (n_cols + 1,)]
        Column centre times in seconds, or column edges.
    sfm : np.ndarray [shape=(n_frames,)]
        Spectral flatness per frame, in [0, 1].
    frame_times : np.ndarray [shape=(n_frames,)]
        Time of each frame in seconds.
    sfm_db : np.ndarray [shape=(n_frames,)], optional
        Flatness in dB; drawn in a third panel.
    tonality : np.ndarray [shape=(n_frames,)], optional
        Johnston tonality in [0, 1]; drawn in the third panel (on a twin axis when ``sfm_db``
        is also given).
    title : str
        Figure title; the caller names the file and the key parameters.
    top_db : float or None
        Colour range: values more than ``top_db`` below the maximum show as the lowest colour
        (the data are not changed). ``None`` spans the full range.
    cmap : str
        Colour map of the spectrogram.
    axes : sequence of Axes, optional
        Two Axes (three when ``sfm_db`` or ``tonality`` is given) to draw on, top to bottom;
        their time axes are shared. By default a new figure is made.
    figsize : (float, float)
        Size in inches of a new figure.

    Returns
    -------
    fig : matplotlib.figure.Figure
    """
    S = _matrix("spec_db", spec_db)
    n_freq, n_cols = S.shape
    f = _vector("freqs", freqs)
    t = _vector("times", times)
    f_edges = _edges("freqs", f, n_freq, "Hz")
    t_edges = _edges("times", t, n_cols, "s")
    y = _vector("sfm", sfm)
    ft = _vector("frame_times", frame_times, y.shape[0], what=" like sfm")
    extra = {}
    for name, val in (("sfm_db", sfm_db), ("tonality", tonality)):
        if val is not None:
            extra[name] = _vector(name, val, y.shape[0], what=" like sfm")
    if top_db is not None:
        top_db = positive_float(top_db, "top_db")

    # Rows that fit a log-frequency axis.
    if f.shape[0] == n_freq:
        keep = f > 0
    else:
        keep = f_edges[1:] > 0
    if not keep.any():
        raise ParameterError("freqs has no positive frequency to draw on a log axis")
    first = int(np.argmax(keep))
    S_draw = S[first:]
    f_draw = f_edges[first:].copy()
    if f_draw[0] <= 0:
        f_draw[0] = 0.5 * f_draw[1]

    n_panels = 3 if extra else 2
    created = axes is None
    if created:
        fig = Figure(figsize=figsize, layout="constrained")
        ratios = [3.0, 1.2, 1.2][:n_panels]
        gs = fig.add_gridspec(n_panels, 2, height_ratios=ratios, width_ratios=[1.0, 0.022])
        ax0 = fig.add_subplot(gs[0, 0])
        panels = [ax0] + [fig.add_subplot(gs[i, 0], sharex=ax0) for i in range(1, n_panels)]
        cax = fig.add_subplot(gs[0, 1])
        for a in panels[:-1]:
            a.tick_params(labelbottom=False)
    else:
        panels = _check_axes(axes, n_panels, "flatness")
        fig = _root_figure(panels[0])
        cax = None
        for a in panels[1:]:
            if not a.get_shared_x_axes().joined(panels[0], a):
                with contextlib.suppress(ValueError):  # already shared elsewhere: leave it
                    a.sharex(panels[0])

    ax_spec, ax_sfm = panels[0], panels[1]
    finite = S_draw[np.isfinite(S_draw)]
    vmax = float(finite.max()) if finite.size else 0.0
    vmin = vmax - top_db if top_db is not None else (float(finite.min()) if finite.size else -1)
    mesh = ax_spec.pcolormesh(
        t_edges, f_draw, S_draw, cmap=cmap, vmin=vmin, vmax=vmax, shading="flat",
        rasterized=True,
    )
    ax_spec.set_yscale("log")
    ax_spec.set_ylim(f_draw[0], f_draw[-1])
    ax_spec.set_xlim(t_edges[0], t_edges[-1])
    ax_spec.set_ylabel("Frequency (Hz)")
    ax_spec.grid(False)
    if cax is not None:
        cbar = fig.colorbar(mesh, cax=cax)
    else:
        cbar = fig.colorbar(mesh, ax=ax_spec, fraction=0.03, pad=0.01)
    cbar.set_label("Power (dB)")

    ax_sfm.plot(ft, y, color="C0", label="SFM")
    ax_sfm.set_ylim(0.0, 1.0)
    ax_sfm.set_ylabel("SFM (ratio, 0–1)")

    bottom = ax_sfm
    if extra:
        ax3 = panels[2]
        bottom = ax3
        handles = []
        if "sfm_db" in extra:
            handles += ax3.plot(ft, extra["sfm_db"], color="C1", label="Flatness (dB)")
            ax3.set_ylabel("Flatness (dB)")
            ax_t = ax3.twinx() if "tonality" in extra else None
        else:
            ax_t = ax3
        if ax_t is not None:
            handles += ax_t.plot(ft, extra["tonality"], color="C2", label="Tonality")
            ax_t.set_ylim(0.0, 1.0)
            ax_t.set_ylabel("Tonality (Johnston, 0–1)")
            if ax_t is not ax3:
                ax_t.spines["right"].set_visible(True)
                ax_t.grid(False)
        ax3.legend(
            handles=handles, loc="lower right", bbox_to_anchor=(1.0, 1.0), ncols=len(handles),
            frameon=False, borderaxespad=0.1,
        )
    for a in panels:
        a.set_xlabel("")
    bottom.set_xlabel("Time (s)")
    _set_title(fig, panels, title, created)
    return fig


@_styled
def bands(
    band_sfm: np.ndarray,
    band_edges: np.ndarray,
    frame_times: np.ndarray,
    *,
    title: str = "Band flatness",
    cmap: str = "viridis",
    axes: Sequence[Axes] | None = None,
    figsize: tuple[float, float] = (10.0, 5.0),
) -> Figure:
    """Heat map of flatness per band over time, with the mean flatness of each band beside it.

    Parameters
    ----------
    band_sfm : np.ndarray [shape=(n_bands, n_frames)]
        Flatness of each band in each frame, in [0, 1].
    band_edges : np.ndarray [shape=(n_bands + 1,) or (n_bands, 2)]
        Band edges in Hz: contiguous edges, or a (low, high) pair per band (bands such as
        MPEG-7's widened ones may overlap). They label the band axis.
    frame_times : np.ndarray [shape=(n_frames,) or (n_frames + 1,)]
        Frame centre times in seconds, or frame edges.
    title : str
        Figure title; the caller names the file and the key parameters.
    cmap : str
        Colour map of the heat map (fixed to the range 0..1).
    axes : sequence of 2 Axes, optional
        Heat map axes and mean-flatness axes (their band axes are shared). By default a new
        figure is made.
    figsize : (float, float)
        Size in inches of a new figure.

    Returns
    -------
    fig : matplotlib.figure.Figure
    """
    B = _matrix("band_sfm", band_sfm)
    n_bands, n_frames = B.shape
    e = np.asarray(band_edges, dtype=float)
    if e.shape == (n_bands + 1,):
        lo, hi = e[:-1], e[1:]
    elif e.shape == (n_bands, 2):
        lo, hi = e[:, 0], e[:, 1]
    else:
        raise ParameterError(
            f"band_edges has shape {e.shape}; expected ({n_bands + 1},) or ({n_bands}, 2) "
            f"for band_sfm of shape {B.shape}"
        )
    if not (np.all(np.isfinite(e)) and np.all(hi > lo) and np.all(lo >= 0)):
        raise ParameterError("band_edges must be finite, non-negative and have high > low")
    t_edges = _edges("frame_times", _vector("frame_times", frame_times), n_frames, "s")

    created = axes is None
    if created:
        fig = Figure(figsize=figsize, layout="constrained")
        gs = fig.add_gridspec(1, 2, width_ratios=[5.0, 1.0])
        ax_map = fig.add_subplot(gs[0, 0])
        ax_mean = fig.add_subplot(gs[0, 1], sharey=ax_map)
        ax_mean.tick_params(labelleft=False)
    else:
        ax_map, ax_mean = _check_axes(axes, 2, "bands")
        fig = _root_figure(ax_map)
        if not ax_mean.get_shared_y_axes().joined(ax_map, ax_mean):
            with contextlib.suppress(ValueError):
                ax_mean.sharey(ax_map)

    rows = np.arange(n_bands + 1) - 0.5
    mesh = ax_map.pcolormesh(
        t_edges, rows, B, cmap=cmap, vmin=0.0, vmax=1.0, shading="flat", rasterized=True
    )
    ax_map.grid(False)
    ax_map.set_xlim(t_edges[0], t_edges[-1])
    ax_map.set_ylim(rows[0], rows[-1])
    step = max(1, math.ceil(n_bands / 16))
    ticks = np.arange(0, n_bands, step)
    ax_map.yaxis.set_major_locator(FixedLocator(ticks))
    ax_map.yaxis.set_minor_locator(NullLocator())
    ax_map.set_yticklabels([f"{_fmt_hz(lo[i])}–{_fmt_hz(hi[i])}" for i in ticks])
    ax_map.set_ylabel("Band (Hz)")
    ax_map.set_xlabel("Time (s)")

    with np.errstate(all="ignore"):
        mean = np.nanmean(B, axis=1) if np.isfinite(B).any() else np.full(n_bands, np.nan)
    ax_mean.barh(np.arange(n_bands), mean, height=0.8, color="C0")
    ax_mean.set_xlim(0.0, 1.0)
    ax_mean.set_xlabel("Mean SFM (0–1)")
    ax_mean.grid(True, axis="x")
    ax_mean.grid(False, axis="y")

    cbar = fig.colorbar(mesh, ax=[ax_map, ax_mean], fraction=0.04, pad=0.01)
    cbar.set_label("SFM (0–1)")
    _set_title(fig, [ax_map, ax_mean], title, created)
    return fig


@_styled
def eigen(
    eigenvalues: np.ndarray,
    *,
    thetas: np.ndarray | Sequence[float] | None = None,
    rates: np.ndarray | Sequence[float] | None = None,
    block: int | None = None,
    title: str | None = None,
    axes: Sequence[Axes] | None = None,
    figsize: tuple[float, float] = (8.0, 6.0),
) -> Figure:
    """KLT eigenvalues on a log scale with reverse water-filling levels and bit allocation.

    Component ``i`` receives ``b_i = max(0, ½·log2(λ_i / θ))`` bits at water level ``θ``;
    zero eigenvalues receive none.

    Parameters
    ----------
    eigenvalues : np.ndarray [shape=(n_components,)]
        Covariance eigenvalues (variances of the KLT coefficients), non-negative; drawn sorted
        in descending order. Zero values cannot show on the log axis and are left out there.
    thetas : np.ndarray [shape=(n_levels,)], optional
        Water levels, positive, one per chosen rate; each is drawn as a horizontal line.
    rates : np.ndarray [shape=(n_levels,)], optional
        The rate (bit/sample) each water level achieves; labels the lines. Needs ``thetas``.
    block : int, optional
        Block size N; must equal ``n_components``. Named in the default title.
    title : str, optional
        Figure title; by default ``"KLT eigen-spectrum"`` with the block size.
    axes : sequence of Axes, optional
        Two Axes (one when ``thetas`` is None): eigenvalues, then bits per component; their
        component axes are shared. By default a new figure is made.
    figsize : (float, float)
        Size in inches of a new figure.

    Returns
    -------
    fig : matplotlib.figure.Figure
    """
    lam = _vector("eigenvalues", eigenvalues)
    n = lam.shape[0]
    if n == 0:
        raise ParameterError("eigenvalues must not be empty")
    if not np.all(np.isfinite(lam)) or np.any(lam < 0):
        raise ParameterError("eigenvalues must be finite and non-negative")
    if block is not None and (isinstance(block, bool) or block != n):
        raise ParameterError(f"{block=} does not match the {n} eigenvalues given")
    if thetas is None:
        if rates is not None:
            raise ParameterError("rates given without thetas: give one water level per rate")
        th = np.empty(0)
        r = None
    else:
        th = _vector("thetas", thetas)
        if not np.all(np.isfinite(th)) or np.any(th <= 0):
            raise ParameterError("thetas must be positive finite water levels")
        r = None if rates is None else _vector("rates", rates, th.shape[0], what=" like thetas")
    if title is None:
        title = "KLT eigen-spectrum" + (f", N = {block}" if block is not None else "")

    n_panels = 2 if th.size else 1
    created = axes is None
    if created:
        fig = Figure(figsize=figsize, layout="constrained")
        if n_panels == 2:
            ax_l, ax_b = fig.subplots(2, 1, sharex=True, height_ratios=[2.0, 1.3])
            panels = [ax_l, ax_b]
        else:
            panels = [fig.add_subplot()]
    else:
        panels = _check_axes(axes, n_panels, "eigen")
        fig = _root_figure(panels[0])
        if n_panels == 2 and not panels[1].get_shared_x_axes().joined(*panels):
            with contextlib.suppress(ValueError):
                panels[1].sharex(panels[0])

    idx = np.arange(1, n + 1)
    lam_sorted = np.sort(lam)[::-1]
    ax_l = panels[0]
    pos = lam_sorted > 0
    ax_l.plot(idx[pos], lam_sorted[pos], "o-", color="k", label="Eigenvalues λᵢ", zorder=3)
    ax_l.set_yscale("log")
    shown = np.concatenate((lam_sorted[pos], th))
    # Nothing to show, or a single value: give the log axis a decade each way.
    if shown.size == 0 or shown.max() <= shown.min() * (1.0 + 1e-9):
        centre = shown[0] if shown.size else 1.0
        ax_l.set_ylim(centre / 10.0, centre * 10.0)
    ax_l.set_ylabel("Eigenvalue λᵢ (sample units²)")
    colours = [f"C{j % 10}" for j in range(th.size)]
    for j, theta in enumerate(th):
        label = f"θ = {theta:.3g}"
        if r is not None:
            label += f" (R = {r[j]:g} bit/sample)"
        ax_l.axhline(theta, color=colours[j], linestyle="--", linewidth=1.2, label=label)
    ax_l.legend(loc="upper right")

    if n_panels == 2:
        ax_b = panels[1]
        width = 0.8 / th.size
        safe = np.where(lam_sorted > 0, lam_sorted, 1.0)
        for j, theta in enumerate(th):
            with np.errstate(divide="ignore", under="ignore"):
                b = np.maximum(0.0, 0.5 * np.log2(safe / theta))
            bits = np.where(lam_sorted > 0, b, 0.0)
            label = f"R = {r[j]:g} bit/sample" if r is not None else f"θ = {theta:.3g}"
            offset = (j - (th.size - 1) / 2.0) * width
            ax_b.bar(idx + offset, bits, width=width, color=colours[j], label=label)
        ax_b.set_ylabel("Bits bᵢ (bit/coefficient)")
        ax_b.grid(False, axis="x")
        ax_b.legend(loc="upper right")
    bottom = panels[-1]
    bottom.set_xlabel("Component index i (descending variance)")
    if n <= 32:
        bottom.set_xticks(idx if n <= 16 else idx[::2])
    _set_title(fig, panels, title, created)
    return fig


def _pairs(name: str, mapping: Mapping[str, Any] | None) -> dict[str, tuple[np.ndarray, ...]]:
    """Validate ``{label: (x, y)}`` with 1-D x and y of one length."""
    if mapping is None:
        return {}
    if not isinstance(mapping, Mapping):
        raise ParameterError(f"{name} must be a mapping name -> (x, y)")
    out = {}
    for key, val in mapping.items():
        try:
            x, y = val
        except (TypeError, ValueError):
            raise ParameterError(f"{name}[{key!r}] must be a pair (x, y) of arrays") from None
        xa = _vector(f"{name}[{key!r}][0]", x)
        ya = _vector(f"{name}[{key!r}][1]", y, xa.shape[0], what=f" like {name}[{key!r}][0]")
        out[str(key)] = (xa, ya)
    return out


@_styled
def rd(
    theory: Mapping[str, tuple[np.ndarray, np.ndarray]],
    measured: Mapping[str, tuple[np.ndarray, np.ndarray]] | None = None,
    *,
    ecsq_gap_bits: float | None = ECSQ_GAP_BITS,
    ecsq_reference: str | None = None,
    title: str = "Rate–distortion",
    ax: Axes | None = None,
    figsize: tuple[float, float] = (7.0, 5.0),
) -> Figure:
    """Rate–distortion curves: SNR against bits per sample, theory as lines, measurements as marks.

    Parameters
    ----------
    theory : mapping str -> (np.ndarray [shape=(n,)], np.ndarray [shape=(n,)])
        Transform name -> (rate in bit/sample, SNR in dB) of the Gaussian theory.
    measured : mapping str -> (np.ndarray [shape=(m,)], np.ndarray [shape=(m,)]), optional
        Transform name -> (measured bit/sample, measured SNR in dB) of the operational coder;
        drawn as markers in the colour of the same transform's theory line.
    ecsq_gap_bits : float or None
        The reference theory curve is drawn again shifted right by this many bits (dashed):
        where entropy-coded scalar quantization lands at high rate. ``None`` or 0 omits it.
    ecsq_reference : str, optional
        Theory curve to shift; by default the one named ``KLT`` (any case), else the first.
    title : str
        Axes title; the caller names the file and the key parameters.
    ax : Axes, optional
        Axes to draw on; by default a new figure is made.
    figsize : (float, float)
        Size in inches of a new figure.

    Returns
    -------
    fig : matplotlib.figure.Figure
    """
    th = _pairs("theory", theory)
    ms = _pairs("measured", measured)
    if not th and not ms:
        raise ParameterError("rd needs at least one theory or measured curve")
    if ecsq_gap_bits is not None:
        ecsq_gap_bits = nonnegative_float(ecsq_gap_bits, "ecsq_gap_bits")
    if ecsq_reference is not None and ecsq_reference not in th:
        raise ParameterError(f"{ecsq_reference=} is not one of the theory curves {list(th)}")
    fig, ax = _single_axes(ax, figsize)

    names = list(th) + [k for k in ms if k not in th]
    colour = {k: f"C{i % 10}" for i, k in enumerate(names)}
    for k, (x, y) in th.items():
        ax.plot(x, y, "-", color=colour[k], label=f"{k} theory")
    if ecsq_gap_bits and th:
        ref = ecsq_reference
        if ref is None:
            ref = next((k for k in th if k.lower() == "klt"), next(iter(th)))
        x, y = th[ref]
        ax.plot(
            x + ecsq_gap_bits, y, "--", color=colour[ref],
            label=f"{ref} theory, ECSQ +{ecsq_gap_bits:.4f} bit",
        )
    for k, (x, y) in ms.items():
        ax.plot(
            x, y, "o", linestyle="none", color=colour[k], markeredgecolor="k",
            markeredgewidth=0.5, label=f"{k} measured", zorder=3,
        )
    ax.set_xlabel("Rate (bit/sample)")
    ax.set_ylabel("SNR (dB)")
    ax.set_xlim(left=0.0)
    ax.legend(loc="lower right")
    ax.set_title(title)
    return fig


@_styled
def gain(
    blocks: np.ndarray | Sequence[int],
    gains_db: Mapping[str, np.ndarray],
    bound_db: float | None,
    *,
    title: str = "Coding gain",
    ax: Axes | None = None,
    figsize: tuple[float, float] = (7.0, 5.0),
) -> Figure:
    """Coding gain against block size for each transform, with the 1/SFM bound of the PSD.

    Parameters
    ----------
    blocks : np.ndarray [shape=(n_sizes,)]
        Block sizes N (positive); the x axis is logarithmic in base 2.
    gains_db : mapping str -> np.ndarray [shape=(n_sizes,)]
        Transform name (e.g. KLT, DCT, PCM) -> coding gain in dB at each block size.
    bound_db : float or None
        ``10·log10(1/SFM)`` of the power spectral density, the limit of the gain as N grows;
        drawn as a horizontal line. ``None`` omits it.
    title : str
        Axes title; the caller names the file and the key parameters.
    ax : Axes, optional
        Axes to draw on; by default a new figure is made.
    figsize : (float, float)
        Size in inches of a new figure.

    Returns
    -------
    fig : matplotlib.figure.Figure
    """
    N = _vector("blocks", blocks)
    if N.shape[0] == 0 or not np.all(np.isfinite(N)) or np.any(N <= 0):
        raise ParameterError("blocks must be a non-empty array of positive block sizes")
    if not isinstance(gains_db, Mapping) or not gains_db:
        raise ParameterError("gains_db must be a non-empty mapping name -> gains in dB")
    curves = {
        str(k): _vector(f"gains_db[{k!r}]", v, N.shape[0], what=" like blocks")
        for k, v in gains_db.items()
    }
    if bound_db is not None:
        bound_db = finite_float(bound_db, "bound_db")
    fig, ax = _single_axes(ax, figsize)

    for i, (k, g) in enumerate(curves.items()):
        ax.plot(N, g, "o-", color=f"C{i % 10}", label=k)
    if bound_db is not None:
        ax.axhline(
            bound_db, color="0.3", linestyle="--", linewidth=1.2,
            label=f"1/SFM bound ({bound_db:.2f} dB)",
        )
    values = np.concatenate([g[np.isfinite(g)] for g in curves.values()] + [
        np.array([0.0] if bound_db is None else [0.0, bound_db])
    ])
    lo, hi = float(values.min()), float(values.max())
    pad = 0.08 * (hi - lo) if hi > lo else 1.0
    ax.set_ylim(lo - pad, hi + pad)
    ax.set_xscale("log", base=2)
    ax.xaxis.set_major_locator(FixedLocator(N))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xticklabels([f"{v:g}" for v in N])
    ax.set_xlabel("Block size N (samples)")
    ax.set_ylabel("Coding gain (dB)")
    ax.legend(loc="best")
    ax.set_title(title)
    return fig


@_styled
def lossless(
    bound_bits: np.ndarray,
    flac_bits: np.ndarray,
    labels: Sequence[str] | None = None,
    *,
    title: str = "Lossless coding: FLAC against the flatness bound",
    ax: Axes | None = None,
    figsize: tuple[float, float] = (6.0, 6.0),
) -> Figure:
    """FLAC's bits per sample against the flatness-based lower bound, one point per file.

    Parameters
    ----------
    bound_bits : np.ndarray [shape=(n_files,)]
        Predicted lower bound in bit/sample of each file.
    flac_bits : np.ndarray [shape=(n_files,)]
        Bits per sample FLAC spends on each file.
    labels : sequence of str [length n_files], optional
        Names annotating the points (e.g. file names).
    title : str
        Axes title.
    ax : Axes, optional
        Axes to draw on; by default a new figure is made.
    figsize : (float, float)
        Size in inches of a new figure.

    Returns
    -------
    fig : matplotlib.figure.Figure
    """
    x = _vector("bound_bits", bound_bits)
    if x.shape[0] == 0:
        raise ParameterError("bound_bits must not be empty")
    y = _vector("flac_bits", flac_bits, x.shape[0], what=" like bound_bits")
    if labels is not None:
        if isinstance(labels, str):
            raise ParameterError("labels must be a sequence of strings, one per file")
        labels = [str(s) for s in labels]
        if len(labels) != x.shape[0]:
            raise ParameterError(
                f"labels has {len(labels)} names; expected {x.shape[0]} like bound_bits"
            )
    fig, ax = _single_axes(ax, figsize)

    both = np.concatenate((x, y))
    both = both[np.isfinite(both)]
    lo, hi = (float(both.min()), float(both.max())) if both.size else (0.0, 1.0)
    pad = max(0.08 * (hi - lo), 0.25)
    lo, hi = max(0.0, lo - pad), hi + pad
    ax.plot([lo, hi], [lo, hi], "--", color="0.4", linewidth=1.0, label="y = x (FLAC = bound)")
    ax.plot(x, y, "o", linestyle="none", color="C0", markeredgecolor="k",
            markeredgewidth=0.5, label="files", zorder=3)
    if labels is not None:
        for xi, yi, s in zip(x, y, labels, strict=True):
            ax.annotate(s, (xi, yi), xytext=(4, 4), textcoords="offset points", fontsize=8)
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    ax.set_aspect("equal", adjustable="box")
    ax.set_xlabel("Flatness bound (bit/sample)")
    ax.set_ylabel("FLAC (bit/sample)")
    ax.legend(loc="upper left")
    ax.set_title(title)
    return fig


# --------------------------------------------------------------------------- output


def output_format(path: str | os.PathLike) -> str:
    """The format matplotlib writes for ``path``'s extension (e.g. ``"png"``).

    Raises
    ------
    ParameterError
        For a missing extension or one matplotlib cannot write, naming the ones it can.
    """
    path = Path(path)
    ext = path.suffix[1:].lower()
    supported = sorted(Figure().canvas.get_supported_filetypes())
    if not ext:
        raise ParameterError(
            f"output {str(path)!r} has no extension; use one of "
            f"{', '.join('.' + e for e in supported)}"
        )
    if ext not in supported:
        raise ParameterError(
            f"matplotlib cannot write {path.suffix!r} files ({str(path)!r}); "
            f"use one of {', '.join('.' + e for e in supported)}"
        )
    return ext


def save(fig: Figure, path: str | os.PathLike, *, dpi: float = 150.0) -> Path:
    """Write ``fig`` to ``path`` completely or not at all; the format follows the extension.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    path : str or os.PathLike
        Output file: ``.png``, ``.pdf``, ``.svg`` or any other format matplotlib can write.
        Its folder must exist and be writable.
    dpi : float
        Resolution; a PNG is ``figsize × dpi`` pixels.

    Returns
    -------
    path : pathlib.Path

    Raises
    ------
    ParameterError
        For an extension matplotlib cannot write, a missing or unwritable folder, or a bad dpi.
        No file is left behind.
    """
    if not isinstance(fig, Figure):
        raise ParameterError(f"fig={fig!r} must be a matplotlib Figure")
    dpi = positive_float(dpi, "dpi")
    path = Path(path)
    ext = output_format(path)
    # Fixed metadata so the same figure gives the same bytes.
    metadata = {"pdf": {"CreationDate": None}, "svg": {"Date": None}}.get(ext)
    with mpl.rc_context({"svg.hashsalt": _STYLE["svg.hashsalt"]}):
        with atomic_path(path, suffix=path.suffix) as tmp:
            fig.savefig(tmp, format=ext, dpi=dpi, metadata=metadata)
    return path
