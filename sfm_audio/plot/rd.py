"""Figures of the coding experiments' curves: KLT eigenvalues with water levels,
rate–distortion, and coding gain against block size."""

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
from ..validate import finite_float
from .base import (
    check_axes,
    root_figure,
    set_title,
    single_axes,
    sizes,
    styled,
    vector,
)

__all__ = ["eigen", "rd", "gain"]


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
