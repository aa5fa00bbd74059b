"""Figures of the coding experiments that set what was measured beside what was predicted:
lossless coding against its estimate, prediction gain against the coding gains, the per-frame
duality, and the gains of real coders against the extractor's prediction."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, NullLocator

from .._errors import ParameterError
from ..flatness import flatness as spectrum_flatness
from ..validate import finite_float, positive_int
from .base import (
    check_axes,
    root_figure,
    set_title,
    single_axes,
    sizes,
    styled,
    vector,
)

__all__ = ["lossless", "prediction", "duality", "gains", "frame_gains"]


@styled
def lossless(
    estimate_bits: np.ndarray,
    flac_bits: np.ndarray,
    labels: Sequence[str] | None = None,
    *,
    title: str = "Lossless coding: FLAC against the Gaussian estimate",
    ax: Axes | None = None,
    figsize: tuple[float, float] = (6.0, 6.0),
) -> Figure:
    """FLAC's bits per sample against the lossless estimate, one point per file.

    The estimate is the Gaussian entropy rate of the integer samples from their short-time
    spectrum (:mod:`sfm_audio.coding.lossless`), not a bound: a file may sit on either side
    of the diagonal.

    Parameters
    ----------
    estimate_bits : np.ndarray [shape=(n_files,)]
        Lossless estimate in bit/sample of each file.
    flac_bits : np.ndarray [shape=(n_files,)]
        Bits per sample FLAC spends on each file.
    labels : sequence of str [length n_files], optional
        File names. Points are numbered and the legend gives each number's name, so names
        never overlap however close the points are (only the first 30 are listed).
    title : str
        Axes title.
    ax : Axes, optional
        Axes to draw on; by default a new figure is made.
    figsize : (float, float)
        Size in inches of a new figure; taller than wide, the names go below the axes.

    Returns
    -------
    fig : matplotlib.figure.Figure
    """
    x = vector("estimate_bits", estimate_bits)
    if x.shape[0] == 0:
        raise ParameterError("estimate_bits must not be empty")
    y = vector("flac_bits", flac_bits, x.shape[0], what=" like estimate_bits")
    if labels is not None:
        if isinstance(labels, str):
            raise ParameterError("labels must be a sequence of strings, one per file")
        labels = [str(s) for s in labels]
        if len(labels) != x.shape[0]:
            raise ParameterError(
                f"labels has {len(labels)} names; expected {x.shape[0]} like estimate_bits"
            )
    created = ax is None
    fig, ax = single_axes(ax, figsize)

    both = np.concatenate((x, y))
    both = both[np.isfinite(both)]
    lo, hi = (float(both.min()), float(both.max())) if both.size else (0.0, 1.0)
    pad = max(0.08 * (hi - lo), 0.25)
    lo, hi = max(0.0, lo - pad), hi + pad
    ax.plot([lo, hi], [lo, hi], "--", color="0.4", linewidth=1.0,
            label="FLAC = estimate")
    ax.plot(x, y, "o", linestyle="none", color="C0", markeredgecolor="k",
            markeredgewidth=0.5, label="files" if labels is None else None, zorder=3)
    if labels is not None:
        listed = min(len(labels), 30)
        # one number label per group of points that would overlap (within 2 % of the axis),
        # turning around the points so that neighbouring groups do not collide
        groups: list[list[int]] = []
        for i in range(listed):
            for g in groups:
                if abs(x[g[0]] - x[i]) < 0.02 * (hi - lo) and abs(y[g[0]] - y[i]) < 0.02 * (
                        hi - lo):
                    g.append(i)
                    break
            else:
                groups.append([i])
        offsets = [(5, 5), (5, -11), (-13, 5), (-13, -11)]
        for j, g in enumerate(groups):
            ax.annotate(", ".join(str(i + 1) for i in g), (x[g[0]], y[g[0]]),
                        xytext=offsets[j % 4], textcoords="offset points", fontsize=7.5)
        for i in range(listed):
            ax.plot([], [], linestyle="none", label=f"{i + 1}: {labels[i]}")
        if listed < len(labels):
            ax.plot([], [], linestyle="none", label=f"... {len(labels) - listed} more files")
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    ax.set_aspect("equal", adjustable="box")
    ax.set_xlabel("Lossless estimate: Gaussian entropy rate (bit/sample)")
    ax.set_ylabel("FLAC (bit/sample)")
    if created and labels is not None and figsize[1] > figsize[0]:
        fig.legend(loc="outside lower center", fontsize=7.5)  # below the axes of a tall one
    elif labels is None or len(labels) <= 3:
        # a few entries fit inside, above the diagonal's far end; beside the axes they left
        # a one-file figure 40 % empty
        ax.legend(loc="upper left", fontsize=7.5)
    else:  # the names beside the axes, where they cover no point
        ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=7.5)
    set_title(fig, [ax], title, created)  # over the figure: the legend widens it
    return fig


def _two_panels(axes: Sequence[Axes] | None, figsize: tuple[float, float],
                func: str) -> tuple[Figure, list[Axes], bool]:
    """Two panels: a new figure (side by side, or one above the other when the figure is
    taller than wide), or the caller's two Axes."""
    if axes is None:
        fig = Figure(figsize=figsize, layout="constrained")
        portrait = figsize[1] > figsize[0]
        return fig, list(fig.subplots(2, 1) if portrait else fig.subplots(1, 2)), True
    panels = check_axes(axes, 2, func)
    return root_figure(panels[0]), panels, False


@styled
def prediction(
    orders: np.ndarray | Sequence[int],
    gains_db: np.ndarray | Sequence[float],
    blocks: np.ndarray | Sequence[int],
    coding_gains_db: Mapping[str, np.ndarray],
    limit_db: float | None,
    freqs: np.ndarray,
    psd: np.ndarray,
    residual_psd: np.ndarray,
    *,
    residual_order: int,
    title: str = "Two roads to one limit",
    axes: Sequence[Axes] | None = None,
    figsize: tuple[float, float] = (11.0, 4.6),
) -> Figure:
    """Prediction gain against order beside coding gains against block size, and the spectra.

    Left: the linear-prediction gain ``10 log10(r0 / E_p)`` at each order ``p`` and the coding
    gain of each transform at each block size ``N``, on one log-2 axis, with the
    ``1/SFM`` limit of the PSD both approach. Right: the signal's PSD and the residual's,
    each divided by its mean (0 dB = the mean power), so a flat residual lies on 0 dB.

    Parameters
    ----------
    orders : np.ndarray [shape=(n_orders,)]
        Prediction orders (positive).
    gains_db : np.ndarray [shape=(n_orders,)]
        Prediction gain at each order, dB.
    blocks : np.ndarray [shape=(n_sizes,)]
        Block sizes N (positive).
    coding_gains_db : mapping str -> np.ndarray [shape=(n_sizes,)]
        Transform name -> coding gain in dB at each block size.
    limit_db : float or None
        ``10 log10(1/SFM)`` of the PSD; ``None`` omits the line.
    freqs : np.ndarray [shape=(n_freq,)]
        Frequencies in Hz of the spectra.
    psd, residual_psd : np.ndarray [shape=(n_freq,)]
        Power spectral densities (non-negative) of the signal and of the residual.
    residual_order : int
        Order of the predictor whose residual is drawn (named in the legend).
    title : str
        Figure title; the caller names the file.
    axes : sequence of two Axes, optional
        Where to draw; by default a new figure.
    figsize : (float, float)
        Size in inches of a new figure; taller than wide, the panels are stacked.

    Returns
    -------
    fig : matplotlib.figure.Figure
    """
    p = sizes("orders", orders, "prediction orders")
    g = vector("gains_db", gains_db, p.shape[0], what=" like orders")
    N = sizes("blocks", blocks, "block sizes")
    curves = {str(k): vector(f"coding_gains_db[{k!r}]", v, N.shape[0], what=" like blocks")
              for k, v in coding_gains_db.items()}
    if limit_db is not None:
        limit_db = finite_float(limit_db, "limit_db")
    f = vector("freqs", freqs)
    spectra = {}
    for name, x in (("psd", psd), ("residual_psd", residual_psd)):
        v = vector(name, x, f.shape[0], what=" like freqs")
        if not np.all(np.isfinite(v)) or np.any(v < 0) or not v.mean() > 0:
            raise ParameterError(f"{name} must be finite, non-negative and not all zero")
        spectra[name] = v
    order = positive_int(residual_order, "residual_order")
    fig, (ax_g, ax_s), created = _two_panels(axes, figsize, "prediction")

    ok = np.isfinite(g)
    ax_g.plot(p[ok], g[ok], "s-", color="k", label="linear prediction, order p")
    for i, (k, v) in enumerate(curves.items()):
        ax_g.plot(N, v, "o-", color=f"C{i % 10}", label=f"{k}, block N")
    if limit_db is not None:
        ax_g.axhline(limit_db, color="0.3", linestyle="--", linewidth=1.2,
                     label=f"1/SFM of the PSD ({limit_db:.2f} dB)")
    ticks = np.unique(np.concatenate([p, N]))
    ax_g.set_xscale("log", base=2)
    ax_g.xaxis.set_major_locator(FixedLocator(ticks))
    ax_g.xaxis.set_minor_locator(NullLocator())
    ax_g.set_xticklabels([f"{v:g}" for v in ticks])
    ax_g.set_xlabel("Prediction order p  /  block size N")
    ax_g.set_ylabel("Gain (dB)")
    ax_g.legend(loc="lower right")
    ax_g.set_title("Gain")

    for name, colour, label in (("psd", "C0", "signal"),
                                ("residual_psd", "C3", f"residual, order {order}")):
        v = spectra[name]
        sfm = float(spectrum_flatness(v))
        with np.errstate(divide="ignore"):
            ax_s.plot(f, 10 * np.log10(v / v.mean()), color=colour,
                      label=f"{label} (SFM {sfm:.3f})")
    ax_s.axhline(0.0, color="0.3", linewidth=0.8)
    ax_s.set_xlabel("Frequency (Hz)")
    ax_s.set_ylabel("PSD / mean power (dB)")
    ax_s.legend(loc="lower left")
    ax_s.set_title("Spectra: the residual is what becomes flat")
    set_title(fig, [ax_g, ax_s], title, created)
    return fig


@styled
def duality(
    predicted_bits: np.ndarray,
    bits: np.ndarray,
    energy_term: np.ndarray,
    flatness_term: np.ndarray,
    *,
    fit: Mapping[str, float],
    r2_predicted: float | None,
    title: str = "Bits against flatness, frame by frame",
    axes: Sequence[Axes] | None = None,
    figsize: tuple[float, float] = (11.0, 4.6),
) -> Figure:
    """Per-block bits of an adaptive coder against water-filling and against flatness.

    Left: measured bits per sample of each block against the bits per-frame reverse
    water-filling predicts, with the line ``y = x``. Right: measured bits against
    ``1/2 log2(SFM)`` of the frame, coloured by the energy term ``1/2 log2(E / theta)``.

    Parameters
    ----------
    predicted_bits, bits : np.ndarray [shape=(n_blocks,)]
        Bits per sample, predicted and measured.
    energy_term, flatness_term : np.ndarray [shape=(n_blocks,)]
        ``1/2 log2(E / theta)`` and ``1/2 log2(SFM)`` of each block (non-finite ones, blocks
        of zeros, are not drawn on the right).
    fit : mapping
        ``intercept``, ``energy_coef``, ``flatness_coef``, ``r2`` of the least-squares fit
        ``bits = c0 + c_E x_E + c_F x_F``; shown in the right panel's title.
    r2_predicted : float or None
        R² of the measured bits against the predicted bits.
    title : str
        Figure title; the caller names the file, block size and rate.
    axes : sequence of two Axes, optional
        Where to draw; by default a new figure.
    figsize : (float, float)
        Size in inches of a new figure; taller than wide, the panels are stacked.

    Returns
    -------
    fig : matplotlib.figure.Figure
    """
    pred = vector("predicted_bits", predicted_bits)
    n = pred.shape[0]
    if n == 0:
        raise ParameterError("duality needs at least one block")
    b = vector("bits", bits, n, what=" like predicted_bits")
    xe = vector("energy_term", energy_term, n, what=" like predicted_bits")
    xf = vector("flatness_term", flatness_term, n, what=" like predicted_bits")
    coef = {}
    for key in ("intercept", "energy_coef", "flatness_coef", "r2"):
        value = fit.get(key) if isinstance(fit, Mapping) else None
        coef[key] = float("nan") if value is None else finite_float(value, f"fit[{key!r}]")
    fig, (ax_p, ax_f), created = _two_panels(axes, figsize, "duality")

    top = float(max(np.nanmax(pred), np.nanmax(b), 0.0))
    ax_p.plot([0.0, top], [0.0, top], color="0.3", linestyle="--", linewidth=1.0,
              label="measured = predicted")
    label = "blocks" + ("" if r2_predicted is None else f" (R² = {r2_predicted:.3f})")
    ax_p.plot(pred, b, "o", color="C0", markersize=3.5, alpha=0.7, label=label)
    ax_p.set_xlabel("Predicted r = mean max(0, ½·log2(c²/θ)) (bit/sample)")
    ax_p.set_ylabel("Measured (bit/sample)")
    ax_p.legend(loc="upper left")
    ax_p.set_title("Measured against per-frame water-filling")

    ok = np.isfinite(xe) & np.isfinite(xf)
    points = ax_f.scatter(xf[ok], b[ok], c=xe[ok], s=12, cmap="viridis")
    root_figure(ax_f).colorbar(points, ax=ax_f, label="½·log2(E/θ) (bit)")
    ax_f.set_xlabel("½·log2(SFM) of the frame (bit)")
    ax_f.set_ylabel("Measured (bit/sample)")
    ax_f.set_title(
        f"bits ≈ {coef['intercept']:.2f} + {coef['energy_coef']:.2f}·½log2(E/θ) + "
        f"{coef['flatness_coef']:.2f}·½log2(SFM), R² = {coef['r2']:.3f}"
    )
    set_title(fig, [ax_p, ax_f], title, created)
    return fig


def gains(
    measured: Mapping[str, np.ndarray],
    predicted: Mapping[str, np.ndarray],
    *,
    title: str = "Coded gain over PCM: measured against predicted",
    ax: Axes | None = None,
    figsize: tuple[float, float] = (6.5, 6.0),
) -> Figure:
    """Measured gain over PCM against the gain predicted from the extractor, one point per
    file and coder, with the line y = x; the legend gives each coder's mean error (measured −
    predicted), RMS error and R² against y = x (:func:`sfm_audio.agreement.agreement`).

    Parameters
    ----------
    measured, predicted : mapping of str to np.ndarray [shape=(n_files,)]
        Per coder (e.g. ``"adaptive"``, ``"stationary"``), in dB; the same keys.
    title : str
    ax : Axes, optional
    figsize : (float, float)

    Returns
    -------
    fig : matplotlib.figure.Figure
    """
    from ..agreement import agreement

    if not measured or set(measured) != set(predicted):
        raise ParameterError("measured and predicted need the same, non-empty coders")
    created = ax is None
    fig, ax = single_axes(ax, figsize)
    pairs = []
    for name in measured:
        y = vector(f"measured[{name!r}]", measured[name])
        x = vector(f"predicted[{name!r}]", predicted[name], y.shape[0],
                   what=f" like measured[{name!r}]")
        pairs.append((name, x, y))
    both = np.concatenate([np.concatenate((x, y)) for _, x, y in pairs])
    both = both[np.isfinite(both)]
    lo, hi = (float(both.min()), float(both.max())) if both.size else (0.0, 1.0)
    # a few far points (a clip of a second: side bits make its gain -100 dB and lower) would
    # squeeze the rest into a corner: the axes end 3 IQR below the lower quartile and the far
    # points are counted in a note, with their error, never dropped from the statistics
    if both.size:
        q1, q3 = np.percentile(both, [25, 75])
        lo = max(lo, float(q1 - 3.0 * max(q3 - q1, 1.0)))
    pad = max(0.05 * (hi - lo), 0.5)
    lo, hi = lo - pad, hi + pad
    notes = []
    for i, (name, x, y) in enumerate(pairs):
        a = agreement(y, x)
        ax.plot(x, y, "o^sD"[i % 4], linestyle="none", color=f"C{i}", markeredgecolor="k",
                markeredgewidth=0.5, zorder=3, label=f"{name}: {a.label()}")
        far = np.isfinite(x) & np.isfinite(y) & (np.minimum(x, y) < lo)
        if far.any():
            notes.append(f"{name}: {int(far.sum())} below the axes (measured "
                         f"{y[far].min():.0f} to {y[far].max():.0f} dB, |error| at most "
                         f"{np.abs(y[far] - x[far]).max():.1f} dB)")
    if notes:
        ax.text(0.98, 0.02, "\n".join(notes), transform=ax.transAxes, ha="right",
                va="bottom", fontsize=7, color="0.25")
    ax.plot([lo, hi], [lo, hi], "--", color="0.4", linewidth=1.0, label="y = x", zorder=2)
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    ax.set_aspect("equal", adjustable="box")
    ax.set_xlabel("Predicted from the extractor's band levels (dB)")
    ax.set_ylabel("Measured: real coder against PCM at the same step (dB)")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper left", fontsize=7.5)
    set_title(fig, [ax], title, created)
    return fig


def frame_gains(
    measured: np.ndarray,
    predicted: np.ndarray,
    energy_only: np.ndarray,
    *,
    title: str = "Bits of each frame: measured against predicted from the extractor",
    figsize: tuple[float, float] = (11.0, 5.0),
) -> Figure:
    """The per-frame duality, judged against y = x in two panels.

    Left: each frame's measured bits against the bits predicted from its band levels.
    Right: the flatness effect as a partial residual — measured minus the energy-only
    prediction (the frame's spectrum made flat at its energy) against predicted minus the
    same; points on y = x mean the bits saved by the frame's spectral shape are the ones its
    flatness predicts. Legends: mean error, RMS and R² against y = x.

    Parameters
    ----------
    measured, predicted, energy_only : np.ndarray [shape=(n_frames,)]
        Bits per sample of each frame.
    title : str
    figsize : (float, float)

    Returns
    -------
    fig : matplotlib.figure.Figure
    """
    from ..agreement import agreement

    y = vector("measured", measured)
    if y.shape[0] == 0:
        raise ParameterError("measured must not be empty")
    x = vector("predicted", predicted, y.shape[0], what=" like measured")
    e = vector("energy_only", energy_only, y.shape[0], what=" like measured")
    fig = Figure(figsize=figsize, layout="constrained")
    axes = fig.subplots(1, 2)
    panels = ((x, y, "predicted from the band levels (bit/sample)",
               "measured (bit/sample)", "bits of each frame"),
              (x - e, y - e, "predicted − energy-only (bit/sample)",
               "measured − energy-only (bit/sample)",
               "flatness effect: partial residual after energy"))
    for ax, (px, py, xl, yl, name) in zip(axes, panels):
        a = agreement(py, px)
        both = np.concatenate((px, py))
        both = both[np.isfinite(both)]
        lo, hi = (float(both.min()), float(both.max())) if both.size else (0.0, 1.0)
        pad = max(0.05 * (hi - lo), 0.05)
        lo, hi = lo - pad, hi + pad
        ax.plot([lo, hi], [lo, hi], "--", color="0.4", linewidth=1.0, label="y = x")
        ax.plot(px, py, ".", color="C0", alpha=0.6, label=a.label("bit"))
        ax.set_xlim(lo, hi)
        ax.set_ylim(lo, hi)
        ax.set_aspect("equal", adjustable="box")
        ax.set_xlabel(xl)
        ax.set_ylabel(yl)
        ax.set_title(name, fontsize=10)
        ax.grid(True, alpha=0.3)
        ax.legend(loc="upper left", fontsize=7.5)
    set_title(fig, list(axes), title, True)
    return fig
