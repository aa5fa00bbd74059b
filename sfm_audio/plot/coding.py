"""Figures of the coding experiments: eigenvalues and water levels, rate-distortion,
coding gain, lossless coding, prediction and the per-frame duality."""


from __future__ import annotations

import contextlib
import textwrap
from collections.abc import Mapping, Sequence
from typing import Any

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

__all__ = ["eigen", "rd", "gain", "lossless", "prediction", "duality"]


@styled
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
    lam = vector("eigenvalues", eigenvalues)
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
        th = vector("thetas", thetas)
        if not np.all(np.isfinite(th)) or np.any(th <= 0):
            raise ParameterError("thetas must be positive finite water levels")
        r = None if rates is None else vector("rates", rates, th.shape[0], what=" like thetas")
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
        panels = check_axes(axes, n_panels, "eigen")
        fig = root_figure(panels[0])
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
    set_title(fig, panels, title, created)
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
        xa = vector(f"{name}[{key!r}][0]", x)
        ya = vector(f"{name}[{key!r}][1]", y, xa.shape[0], what=f" like {name}[{key!r}][0]")
        out[str(key)] = (xa, ya)
    return out


@styled
def rd(
    theory: Mapping[str, tuple[np.ndarray, np.ndarray]],
    measured: Mapping[str, tuple[np.ndarray, np.ndarray]] | None = None,
    *,
    caption: str | None = None,
    title: str = "Rate–distortion",
    ax: Axes | None = None,
    figsize: tuple[float, float] = (7.0, 5.0),
) -> Figure:
    """Rate–distortion: SNR against bits per sample, theory as lines, measurements as marks.

    Parameters
    ----------
    theory : mapping str -> (np.ndarray [shape=(n,)], np.ndarray [shape=(n,)])
        Line name -> (rate in bit/sample, SNR in dB), e.g. the stationary and short-time
        Gaussian R(D) of the source (:func:`sfm_audio.coding.theory.rd_curves`); each line
        gets its own style, in grey tones, so it is not mistaken for a transform.
    measured : mapping str -> (np.ndarray [shape=(m,)], np.ndarray [shape=(m,)]), optional
        Transform name -> (measured bit/sample, measured SNR in dB) of the operational coder,
        each point at the rate it spent and the SNR it reached; drawn as coloured markers.
    caption : str, optional
        A sentence or two under the axes (only on a figure this function makes, at least
        4 x 3 inches), e.g. why points may sit left of a line.
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
    created = ax is None
    fig, ax = single_axes(ax, figsize)

    styles = [("-", "0.15"), ("-.", "0.35"), ("--", "0.55"), (":", "0.3")]
    for i, (k, (x, y)) in enumerate(th.items()):
        style, grey = styles[i % len(styles)]
        ax.plot(x, y, style, color=grey, linewidth=1.6, label=k)
    markers = "osD^vP*X"
    for i, (k, (x, y)) in enumerate(ms.items()):
        ax.plot(
            x, y, markers[i % len(markers)], linestyle="none", color=f"C{i % 10}",
            markeredgecolor="k", markeredgewidth=0.5, label=f"{k} measured", zorder=3,
        )
    ax.set_xlabel("Rate (bit/sample)")
    ax.set_ylabel("SNR (dB)")
    ax.set_xlim(left=0.0)
    if created and fig.get_size_inches()[0] >= 5.5:
        # below the axes in columns: inside, eight entries hide the points at mid rates, and
        # beside them they took a third of the width at the demo's size
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), fontsize=7.5,
                  ncols=2 if fig.get_size_inches()[0] < 9.0 else 3, frameon=False)
    else:
        ax.legend(loc="lower right")
    ax.set_title(title)
    width, height = fig.get_size_inches()
    if caption and created and width >= 4.0 and height >= 3.0:  # no room on a thumbnail
        fig.supxlabel(textwrap.fill(caption, int(14 * width)), fontsize=7.5, ha="left", x=0.02)
    return fig


@styled
def gain(
    blocks: np.ndarray | Sequence[int],
    gains_db: Mapping[str, np.ndarray],
    limit_db: float | None,
    *,
    heldout_db: Mapping[str, np.ndarray] | None = None,
    title: str = "Coding gain",
    ax: Axes | None = None,
    figsize: tuple[float, float] = (7.0, 5.0),
) -> Figure:
    """Coding gain against block size for each transform, with the 1/SFM limit of the PSD.

    ``1/SFM`` bounds the gain of the true covariance; measured gains can cross it (the
    in-sample KLT overfits, and the PSD is itself an estimate).

    Parameters
    ----------
    blocks : np.ndarray [shape=(n_sizes,)]
        Block sizes N (positive); the x axis is logarithmic in base 2.
    gains_db : mapping str -> np.ndarray [shape=(n_sizes,)]
        Transform name (e.g. KLT, DCT, PCM) -> in-sample coding gain in dB at each block
        size (NaN or inf where undefined: not drawn).
    limit_db : float or None
        ``10·log10(1/SFM)`` of the power spectral density, the limit of the gain as N grows;
        drawn as a horizontal line. ``None`` omits it.
    heldout_db : mapping str -> np.ndarray [shape=(n_sizes,)], optional
        Transform name -> held-out gain (fitted on one half of the blocks, measured on the
        other), drawn dashed in the colour of the same transform (NaN where none).
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
    N = sizes("blocks", blocks, "block sizes")
    if not isinstance(gains_db, Mapping) or not gains_db:
        raise ParameterError("gains_db must be a non-empty mapping name -> gains in dB")

    def _curves(name: str, mapping: Mapping[str, Any]) -> dict[str, np.ndarray]:
        return {
            str(k): vector(f"{name}[{k!r}]", np.asarray(v, dtype=float), N.shape[0],
                            what=" like blocks")
            for k, v in mapping.items()
        }

    curves = _curves("gains_db", gains_db)
    if heldout_db is not None and not isinstance(heldout_db, Mapping):
        raise ParameterError("heldout_db must be a mapping name -> gains in dB, or None")
    held = _curves("heldout_db", heldout_db or {})
    if limit_db is not None:
        limit_db = finite_float(limit_db, "limit_db")
    fig, ax = single_axes(ax, figsize)

    colour = {k: f"C{i % 10}" for i, k in enumerate(list(curves) + [
        k for k in held if k not in curves])}
    for k, g in curves.items():
        label = f"{k} (in-sample)" if k in held else k
        ax.plot(N, np.where(np.isfinite(g), g, np.nan), "o-", color=colour[k], label=label)
    for k, g in held.items():
        ax.plot(N, np.where(np.isfinite(g), g, np.nan), "s--", color=colour[k],
                markerfacecolor="white", label=f"{k} held out (other half)")
    if limit_db is not None:
        ax.axhline(
            limit_db, color="0.3", linestyle="--", linewidth=1.2,
            label=f"1/SFM limit ({limit_db:.2f} dB)",
        )
    values = np.concatenate([g[np.isfinite(g)] for g in [*curves.values(), *held.values()]] + [
        np.array([0.0] if limit_db is None else [0.0, limit_db])
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
    every = []
    for i, name in enumerate(measured):
        y = vector(f"measured[{name!r}]", measured[name])
        x = vector(f"predicted[{name!r}]", predicted[name], y.shape[0],
                   what=f" like measured[{name!r}]")
        a = agreement(y, x)
        ax.plot(x, y, "o^sD"[i % 4], linestyle="none", color=f"C{i}", markeredgecolor="k",
                markeredgewidth=0.5, zorder=3, label=f"{name}: {a.label()}")
        every.append(np.concatenate((x, y)))
    both = np.concatenate(every)
    both = both[np.isfinite(both)]
    lo, hi = (float(both.min()), float(both.max())) if both.size else (0.0, 1.0)
    pad = max(0.05 * (hi - lo), 0.5)
    lo, hi = lo - pad, hi + pad
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
