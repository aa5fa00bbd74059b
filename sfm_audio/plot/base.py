"""What every figure shares: the house style, argument checks, figure and axes set-up,
and writing a figure to a file."""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import matplotlib as mpl
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure, SubFigure

from .._errors import ParameterError
from .._files import atomic_path
from ..flatness import TONALITY_DB
from ..validate import positive_float, positive_int

__all__ = [
    "DB_RANGE",
    "FREQ_SCALES",
    "stacked",
    "check_cmap",
    "check_choice",
    "value_range",
    "output_format",
    "save",
    "styled",
    "root_figure",
    "check_ax",
    "check_axes",
    "single_axes",
    "new_figure",
    "set_title",
    "vector",
    "sizes",
    "matrix",
    "edges",
    "fmt_hz",
]

#: Default limits of the flatness-dB axis: Johnston tonality runs from 1 at -60 dB to 0 at 0 dB.
DB_RANGE = (TONALITY_DB, 0.0)
#: Frequency axes of the spectrogram.
FREQ_SCALES = ("log", "linear")
_CMAP_EXAMPLES = ("magma", "viridis", "inferno", "gray_r", "Greys")


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


def styled(func: _F) -> _F:
    """Run a figure function under the house style."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Figure:
        with mpl.rc_context(_STYLE):
            return func(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


# --------------------------------------------------------------------------- helpers


def root_figure(ax: Axes) -> Figure:
    """The top-level figure holding ``ax`` (through any subfigures)."""
    fig = ax.figure
    while isinstance(fig, SubFigure):
        fig = fig.figure
    return fig


def check_ax(ax: Any) -> Axes:
    """``ax`` if it is a matplotlib Axes, else a ParameterError."""
    if not isinstance(ax, Axes):
        raise ParameterError(f"ax={ax!r} must be a matplotlib Axes or None")
    return ax


def check_axes(axes: Any, n: int, func: str) -> list[Axes]:
    """The caller's ``n`` Axes of figure ``func`` as a list, checked."""
    if isinstance(axes, Axes) or not isinstance(axes, Sequence | np.ndarray):
        raise ParameterError(f"{func}: axes must be a sequence of {n} matplotlib Axes or None")
    axes = list(np.ravel(np.asarray(axes, dtype=object)))
    if len(axes) != n:
        raise ParameterError(f"{func}: axes has {len(axes)} Axes; this figure needs {n}")
    return [check_ax(a) for a in axes]


def single_axes(ax: Axes | None, figsize: tuple[float, float]) -> tuple[Figure, Axes]:
    """The caller's Axes and its figure, or a new constrained-layout figure with one Axes."""
    if ax is not None:
        ax = check_ax(ax)
        return root_figure(ax), ax
    fig = Figure(figsize=figsize, layout="constrained")
    return fig, fig.add_subplot()


def new_figure(subfigure: Any, figsize: tuple[float, float]) -> Figure | SubFigure:
    """A new constrained-layout figure, or the caller's (sub)figure to draw in."""
    if subfigure is None:
        return Figure(figsize=figsize, layout="constrained")
    if not isinstance(subfigure, Figure | SubFigure):
        raise ParameterError(f"subfigure={subfigure!r} must be a matplotlib Figure or SubFigure")
    return subfigure


def stacked(n: int, figsize: tuple[float, float]) -> tuple[Figure, list[Figure | SubFigure]]:
    """A new figure split into ``n`` rows, one (sub)figure each, to pass as ``subfigure=``.

    With ``n == 1`` the single row is the figure itself, so the result is the same figure a
    plain call draws.
    """
    n = positive_int(n, "n")
    fig = Figure(figsize=figsize, layout="constrained")
    if n == 1:
        return fig, [fig]
    return fig, list(np.ravel(fig.subfigures(n, 1)))


def check_choice(value: Any, name: str, choices: Sequence[str]) -> str:
    """``value`` stripped and lower-cased if it is one of ``choices``, else ParameterError."""
    text = str(value).strip().lower()
    if text not in choices:
        raise ParameterError(f"{name}={value!r} must be one of {', '.join(choices)}", param=name)
    return text


def value_range(value: Any, name: str) -> tuple[float, float]:
    """``value`` as a pair ``(low, high)`` of finite numbers with ``low < high``.

    Raises
    ------
    ParameterError
        Not two numbers, not finite, or ``low >= high``; the message names ``name``.
    """
    try:
        lo, hi = (float(v) for v in value)
    except (TypeError, ValueError):
        raise ParameterError(f"{name}={value!r} must be two numbers LOW,HIGH", param=name) from None
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise ParameterError(f"{name}={lo:g},{hi:g} must be finite with LOW < HIGH", param=name)
    return lo, hi


def check_cmap(name: Any) -> str:
    """``name`` if matplotlib's colour-map registry has it, else ParameterError naming a few."""
    if isinstance(name, str) and name in mpl.colormaps:
        return name
    known = sorted(n for n in mpl.colormaps if not n.endswith("_r"))
    raise ParameterError(
        f"cmap={name!r} is not a matplotlib colour map; e.g. {', '.join(_CMAP_EXAMPLES)} "
        f"({len(known)} names, each also reversed with _r)", param="cmap"
    )


def set_title(fig: Figure, axes: list[Axes], title: str, created: bool) -> None:
    """Title a multi-panel figure: suptitle on a figure we made, top panel on the caller's."""
    if created:
        fig.suptitle(title)
    else:
        axes[0].set_title(title)


def vector(name: str, x: Any, n: int | None = None, *, what: str = "") -> np.ndarray:
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


def sizes(name: str, x: Any, what: str) -> np.ndarray:
    """A non-empty 1-D array of finite, positive numbers (block sizes, prediction orders)."""
    a = vector(name, x)
    if a.shape[0] == 0 or not np.all(np.isfinite(a)) or np.any(a <= 0):
        raise ParameterError(f"{name} must be a non-empty array of positive {what}")
    return a


def matrix(name: str, x: Any) -> np.ndarray:
    """Validate a non-empty 2-D array of numbers (as float)."""
    try:
        a = np.asarray(x, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"{name} must be a 2-D array of numbers: {exc}") from None
    if a.ndim != 2 or 0 in a.shape:
        raise ParameterError(f"{name} must be a non-empty 2-D array; got shape {a.shape}")
    return a


def edges(name: str, x: np.ndarray, n: int, unit: str) -> np.ndarray:
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


def fmt_hz(f: float) -> str:
    """A frequency in Hz for a tick label: ``250``, ``1.41k``."""
    if abs(f) >= 1000.0:
        return f"{f / 1000.0:.3g}k"
    return f"{f:.3g}"




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
