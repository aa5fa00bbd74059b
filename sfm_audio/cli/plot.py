"""``sfm-audio plot`` and ``sfm-audio demo``: figures of the results, and the tour for newcomers.

matplotlib, :mod:`sfm_audio.plot` and :mod:`sfm_audio.coding` are imported inside the commands
only, so loading this module (for ``--help``) stays cheap and the extraction path never pays
for them.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from .._errors import AudioFileError, ParameterError
from ._common import EXIT_USAGE, fail, handle_errors, split_list

KINDS = ("flatness", "bands", "eigen", "rd", "gain", "lossless")
#: figure size in inches of each kind (the library's defaults); pixels = inches × dpi
_SIZES = {
    "flatness": (10.0, 7.0),
    "bands": (10.0, 5.0),
    "eigen": (8.0, 6.0),
    "rd": (7.0, 5.0),
    "gain": (7.0, 5.0),
    "lossless": (6.0, 6.0),
}
_DEFAULT_BLOCK = 32
_DEFAULT_GAIN_BLOCKS = (2, 4, 8, 16, 32, 64)
_DEFAULT_RATES = (0.5, 1.0, 2.0, 4.0)
_TRANSFORMS = ("klt", "dct", "pcm")


@dataclass(frozen=True)
class PlotOptions:
    """Everything a figure depends on besides its input files and output path."""

    start: float | None = None
    end: float | None = None
    n_fft: int = 2048
    hop_length: int = 512
    bands: str = "mpeg7"
    blocks: tuple[int, ...] | None = None
    rates: tuple[float, ...] = _DEFAULT_RATES
    dpi: float = 150.0
    width: int | None = None
    height: int | None = None


# --------------------------------------------------------------------------- checks


def _check_kind(kind: str) -> str:
    name = kind.strip().lower()
    if name not in KINDS:
        raise ParameterError(f"unknown kind {kind!r}; use one of {', '.join(KINDS)}")
    return name


def _check_inputs(kind: str, inputs: list[str], options: PlotOptions) -> list[str]:
    """The input files of a figure; folders and globs are expanded for ``lossless``."""
    if kind in ("eigen", "rd", "gain", "lossless") and (
        options.start is not None or options.end is not None
    ):
        raise ParameterError(
            f"--start/--end select the range of the flatness and bands figures; --kind {kind} "
            "uses the whole file"
        )
    if kind == "lossless":
        from ..batch import expand_inputs

        paths, failures = expand_inputs(inputs)
        if failures:
            raise AudioFileError(failures[0].error)
        return paths
    if len(inputs) != 1:
        raise ParameterError(
            f"--kind {kind} draws one file; got {len(inputs)} inputs "
            "(only --kind lossless takes several)"
        )
    return inputs


def check_output(path: str | Path) -> Path:
    """Refuse an output whose folder is missing or unwritable or whose format is unknown.

    Checked before any work, so a long file is not analysed for nothing; :func:`sfm_audio.plot.
    save` checks again and writes atomically.
    """
    from .. import plot as splot  # the project's only matplotlib user
    from .._files import check_output_dir

    path = check_output_dir(path)
    splot.output_format(path)
    return path


def _figsize(kind: str, options: PlotOptions) -> tuple[float, float]:
    w_in, h_in = _SIZES[kind]
    dpi = options.dpi
    if not (math.isfinite(dpi) and dpi > 0):
        raise ParameterError(f"dpi={dpi:g} must be a positive number")
    for name, value in (("width", options.width), ("height", options.height)):
        if value is not None and value < 50:
            raise ParameterError(f"{name}={value} pixels is too small; use at least 50")
    if options.width is not None:
        w_in = options.width / dpi
    if options.height is not None:
        h_in = options.height / dpi
    return w_in, h_in


def _params_text(options: PlotOptions) -> str:
    return f"n_fft {options.n_fft}, hop {options.hop_length}"


# --------------------------------------------------------------------------- figures


def _overview(path: str, options: PlotOptions, figsize, bands: str | None):
    """Stream the range into as many columns (and log-frequency rows) as the figure has pixels."""
    from ..overview import overview

    width, height = (max(1, round(v * options.dpi)) for v in figsize)
    return overview(path, start=options.start, end=options.end, width=width, height=height,
                    n_fft=options.n_fft, hop_length=options.hop_length, bands=bands)


def _range_text(ov) -> str:
    text = f"{ov.start:.2f}–{ov.end:.2f} s, sr {ov.sr:g} Hz"
    if ov.pooled:
        text += f", means of {ov.frames_per_column:.1f} frames per column"
    return text


def _fig_flatness(inputs, options: PlotOptions, figsize):
    from .. import plot as splot

    path = inputs[0]
    ov = _overview(path, options, figsize, None)
    title = (f"{Path(path).name}: spectrogram and spectral flatness\n"
             f"{_params_text(options)}, {_range_text(ov)}")
    # DC (row 0, centred at 0 Hz) has no place on a log-frequency axis: not drawn
    return splot.flatness(ov.spec_db[1:], ov.freq_edges[1:], ov.col_edges, ov.sfm, ov.times,
                          sfm_db=ov.sfm_db, tonality=ov.tonality, title=title, figsize=figsize)


def _fig_bands(inputs, options: PlotOptions, figsize):
    from .. import plot as splot

    path = inputs[0]
    if options.bands.strip().lower() == "none":
        raise ParameterError("--kind bands needs a band layout; --bands none gives none")
    ov = _overview(path, options, figsize, options.bands)
    title = (f"{Path(path).name}: band flatness ({ov.layout.kind}, {ov.layout.n_bands} bands)\n"
             f"{_params_text(options)}, {_range_text(ov)}")
    return splot.bands(ov.band_sfm, ov.layout.edges_hz, ov.col_edges, title=title, figsize=figsize)


def _report(path: str, blocks: tuple[int, ...], rates: tuple[float, ...]) -> dict:
    """The ``sfm-audio code`` JSON report of a file (:func:`sfm_audio.coding.run_experiment`)."""
    from ..coding import run_experiment

    return run_experiment(path, blocks=list(blocks), rates=list(rates),
                          transforms=list(_TRANSFORMS)).report


def _lossless(path: str) -> dict:
    """The ``lossless`` entry of a file's coding report, without running the coders."""
    from ..coding import lossless_file

    return lossless_file(path)


def _single_block(options: PlotOptions, kind: str) -> int:
    if options.blocks is None:
        return _DEFAULT_BLOCK
    if len(options.blocks) != 1:
        raise ParameterError(f"--kind {kind} draws one block size; got --block "
                             f"{','.join(map(str, options.blocks))}")
    return options.blocks[0]


def _fig_eigen(inputs, options: PlotOptions, figsize, report=None):
    from .. import plot as splot

    n = _single_block(options, "eigen")
    report = report or _report(inputs[0], (n,), options.rates)
    block = _block_entry(report, n)
    lam = block["transforms"]["klt"]["variances"]
    thetas = [p["theta"] for p in block["rd"]]
    rates = [p["rate"] for p in block["rd"]]
    title = (f"{Path(inputs[0]).name}: KLT eigen-spectrum, N = {n}\n"
             f"water levels at {', '.join(f'{r:g}' for r in rates)} bit/sample")
    return splot.eigen(lam, thetas=thetas, rates=rates, block=n, title=title, figsize=figsize)


def _block_entry(report: dict, n: int) -> dict:
    for entry in report["blocks"]:
        if int(entry["block"]) == n:
            return entry
    raise ParameterError(f"the coding report has no block size {n}")


def _fig_rd(inputs, options: PlotOptions, figsize, report=None):
    from .. import plot as splot

    n = _single_block(options, "rd")
    report = report or _report(inputs[0], (n,), options.rates)
    block = _block_entry(report, n)
    theory = _theory_curves(report, block)
    measured = {}
    for name in _TRANSFORMS:
        pts = [p["measured"][name] for p in block["rd"] if name in p.get("measured", {})]
        pts = [q for q in pts if q["snr_db"] is not None]  # lossless: SNR infinite
        if pts:
            measured[name.upper()] = ([q["bits_per_sample"] for q in pts],
                                      [q["snr_db"] for q in pts])
    title = (f"{Path(inputs[0]).name}: rate–distortion, N = {n}\n"
             "Gaussian theory (lines), quantizer + range coder (markers)")
    return splot.rd(theory, measured, title=title, figsize=figsize)


def _theory_curves(report: dict, block: dict) -> dict:
    """Gaussian R(D) of each transform's coefficient variances: SNR against rate, smooth."""
    import numpy as np

    from ..coding import reverse_waterfill

    variance = float(report["variance"])
    top = max(max(p["rate"] for p in block["rd"]) * 1.15, 0.5)
    grid = np.linspace(0.02, top, 60)
    curves = {}
    for name, entry in block["transforms"].items():
        v = np.asarray(entry["variances"], dtype=float)
        if not np.any(v > 0):
            continue
        snr = []
        for r in grid:
            d = reverse_waterfill(v, rate=float(r)).distortion
            snr.append(10.0 * math.log10(variance / d) if d > 0 else math.inf)
        curves[name.upper()] = (grid, np.asarray(snr))
    return curves


def _fig_gain(inputs, options: PlotOptions, figsize, report=None):
    from .. import plot as splot

    blocks = tuple(options.blocks) if options.blocks else _DEFAULT_GAIN_BLOCKS
    if len(blocks) < 2:
        raise ParameterError("--kind gain draws gain against block size; give at least two "
                             "block sizes, e.g. --block 2,4,8,16,32")
    report = report or _report(inputs[0], blocks, options.rates[:1])
    entries = [_block_entry(report, n) for n in blocks]
    gains = {
        name.upper(): [e["transforms"][name]["coding_gain_db"] for e in entries]
        for name in _TRANSFORMS if name in entries[0]["transforms"]
    }
    bound = report.get("gain_bound_db")
    title = f"{Path(inputs[0]).name}: coding gain against block size"
    if bound is not None:
        title += f"\nPSD bound 1/SFM = {bound:.2f} dB"
    return splot.gain(list(blocks), gains, bound, title=title, figsize=figsize)


def _fig_lossless(inputs, options: PlotOptions, figsize, reports=None):
    from .. import plot as splot

    bound, flac = [], []
    for i, path in enumerate(inputs):
        result = reports[i]["lossless"] if reports else _lossless(path)
        bound.append(result["bound_bits_per_sample"])
        flac.append(result["flac_bits_per_sample"])
    names = [Path(p).name for p in inputs]
    what = names[0] if len(names) == 1 else f"{len(names)} files"
    title = f"Lossless coding of {what}\nFLAC against the flatness bound"
    return splot.lossless(bound, flac, names, title=title, figsize=figsize)


_FIGURES = {
    "flatness": _fig_flatness,
    "bands": _fig_bands,
    "eigen": _fig_eigen,
    "rd": _fig_rd,
    "gain": _fig_gain,
    "lossless": _fig_lossless,
}


def render(kind: str, inputs, output, options: PlotOptions, **precomputed: Any) -> Path:
    """Draw figure ``kind`` of ``inputs`` and write it to ``output`` (atomically)."""
    from .. import plot as splot

    kind = _check_kind(kind)
    inputs = _check_inputs(kind, [str(p) for p in inputs], options)
    output = check_output(output)
    figsize = _figsize(kind, options)
    fig = _FIGURES[kind](inputs, options, figsize, **precomputed)
    return splot.save(fig, output, dpi=options.dpi)


# --------------------------------------------------------------------------- commands


@click.command()
@click.argument("inputs", nargs=-1, required=True)
@click.option("-o", "--output", required=True,
              help="Figure file; the format follows the extension (.png, .pdf, .svg, ...).")
@click.option("--kind", default="flatness", show_default=True,
              help="flatness, bands, eigen, rd, gain or lossless.")
@click.option("--start", type=float, default=None, help="Start of the range in seconds.")
@click.option("--end", type=float, default=None, help="End of the range in seconds.")
@click.option("--n-fft", type=int, default=2048, show_default=True, help="FFT length.")
@click.option("--hop-length", type=int, default=512, show_default=True,
              help="Samples between frames.")
@click.option("--bands", default="mpeg7", show_default=True,
              help="Band layout for --kind bands: mpeg7, octave, third-octave, mel:N, linear:N, "
                   "edges:f0,f1,...")
@click.option("--block", default=None,
              help="Block size N (eigen, rd; default 32) or sizes N,N,... (gain; default "
                   "2,4,8,16,32,64).")
@click.option("--rates", default=None,
              help="Rates in bit/sample for eigen and rd (default 0.5,1,2,4).")
@click.option("--dpi", type=float, default=150.0, show_default=True, help="Resolution.")
@click.option("--width", type=int, default=None,
              help="Figure width in pixels (default: the figure's inches × dpi). The "
                   "spectrogram is pooled to this many columns while streaming.")
@click.option("--height", type=int, default=None, help="Figure height in pixels.")
@handle_errors
def plot(inputs, output, kind, start, end, n_fft, hop_length, bands, block, rates, dpi, width,
         height):
    """Draw a figure of one audio file (several for --kind lossless).

    \b
    flatness  spectrogram (log frequency, dB) with the SFM, its dB and tonality beneath
    bands     band-flatness heat map with the mean flatness of each band
    eigen     KLT eigenvalues with the water level of each rate and the bits per component
    rd        SNR against bits/sample: Gaussian theory (lines) and the real coder (markers)
    gain      coding gain of KLT, DCT and PCM against block size, with the PSD bound
    lossless  FLAC bits/sample against the flatness bound, one point per file
              (INPUT may also be folders or globs)

    A long recording is streamed: the spectrogram is pooled to the figure's pixel width, so
    memory stays bounded whatever the length.
    """
    blocks = split_list(block, int, "--block")
    rate_list = split_list(rates, float, "--rates")
    options = PlotOptions(
        start=start, end=end, n_fft=n_fft, hop_length=hop_length, bands=bands,
        blocks=tuple(blocks) if blocks else None,
        rates=tuple(rate_list) if rate_list else _DEFAULT_RATES,
        dpi=dpi, width=width, height=height,
    )
    path = render(kind, inputs, output, options)
    click.echo(f"wrote {path}")


# --------------------------------------------------------------------------- demo


def default_data_dir() -> Path:
    """The bundled recordings: ``data/`` beside the package."""
    import sfm_audio

    return Path(sfm_audio.__file__).resolve().parent.parent / "data"


def _markdown_table(report: dict) -> str:
    """The transform-coding report as Markdown: gains per block size, R(D), lossless."""
    lines = [f"# Transform coding of `{Path(report['file']).name}`", ""]
    lines += [
        f"sr {report['sr']:g} Hz, {report['samples']} samples, variance "
        f"{report['variance']:.4g}, PSD flatness {report['psd_sfm']:.4g} "
        f"(gain bound {report['gain_bound_db']:.2f} dB)",
        "",
        "## Coding gain (dB)",
        "",
        "| N | " + " | ".join(t.upper() for t in _TRANSFORMS) + " | eigen SFM |",
        "|---:|" + "---:|" * (len(_TRANSFORMS) + 1),
    ]
    for entry in report["blocks"]:
        tr = entry["transforms"]
        gains = " | ".join(
            f"{tr[t]['coding_gain_db']:.2f}" if t in tr and tr[t]["coding_gain_db"] is not None
            else "–" for t in _TRANSFORMS
        )
        eig = tr.get("klt", {}).get("eigen_sfm")
        lines.append(f"| {entry['block']} | {gains} | "
                     f"{'–' if eig is None else f'{eig:.4f}'} |")
    for entry in report["blocks"]:
        lines += [
            "",
            f"## Rate–distortion, N = {entry['block']}",
            "",
            "| rate (bit/sample) | θ | SNR theory (dB) | "
            + " | ".join(f"{t.upper()} bits / SNR (dB)" for t in _TRANSFORMS) + " |",
            "|---:|---:|---:|" + "---:|" * len(_TRANSFORMS),
        ]
        for p in entry["rd"]:
            cells = []
            for t in _TRANSFORMS:
                m = p.get("measured", {}).get(t)
                cells.append("–" if m is None else
                             f"{m['bits_per_sample']:.3f} / {m['snr_db']:.2f}")
            lines.append(f"| {p['rate']:g} | {p['theta']:.4g} | {p['snr_db']:.2f} | "
                         + " | ".join(cells) + " |")
    ll = report.get("lossless")
    if ll:
        lines += [
            "",
            "## Lossless (bit/sample)",
            "",
            "| bound | bound + ECSQ gap | FLAC |",
            "|---:|---:|---:|",
            f"| {ll['bound_bits_per_sample']:.3f} | {ll['bound_ecsq_bits_per_sample']:.3f} | "
            f"{ll['flac_bits_per_sample']:.3f} |",
        ]
    return "\n".join(lines) + "\n"


def _write_text(path: Path, text: str) -> None:
    from .._files import atomic_path

    with atomic_path(path, suffix=path.suffix) as tmp:
        tmp.write_text(text, encoding="utf-8")


@click.command()
@click.argument("outdir", default="sfm_demo", required=False)
@click.option("--data", "data_dir", default=None,
              help="Folder of recordings to use instead of the bundled data/.")
@click.option("--block", "block", type=int, default=_DEFAULT_BLOCK, show_default=True,
              help="Block size of the eigen and rate–distortion figures.")
@handle_errors
def demo(outdir, data_dir, block):
    """Run the whole project on the bundled recordings and write every result to OUTDIR.

    Writes the frame table and per-file summary (CSV), every figure (PNG), and the
    transform-coding report (JSON and a Markdown table), then lists what it wrote.
    """
    from ..batch import expand_inputs, extract_files
    from ..features import ExtractOptions

    t0 = time.perf_counter()
    data = Path(data_dir) if data_dir is not None else default_data_dir()
    if not data.is_dir():
        fail(f"data folder {str(data)!r} does not exist", status=EXIT_USAGE)
    inputs, failures = expand_inputs([str(data)])
    if not inputs:
        fail(failures[0].error if failures else f"{data}: no audio files")
    out = Path(outdir)
    if out.exists() and not out.is_dir():
        fail(f"{str(out)!r} exists and is not a folder", status=EXIT_USAGE)
    out.mkdir(parents=True, exist_ok=True)
    written: list[tuple[Path, str]] = []

    options = ExtractOptions()
    for name, summary, what in (("frames.csv", False, "frame table (one row per frame)"),
                                ("summary.csv", True, "summary (one row per file)")):
        report = extract_files(inputs, out / name, options, summary=summary)
        for f in report.failed:
            click.echo(f"skipped: {f.error}", err=True)
        if not report.output_written:
            fail(f"no file in {data} could be read")
        written.append((out / name, what))

    main_file = inputs[0]
    rates = _DEFAULT_RATES
    blocks = tuple(sorted(set(_DEFAULT_GAIN_BLOCKS) | {block}))
    reports = [_report(path, blocks, rates) for path in inputs]
    main_report = reports[0]
    json_path, md_path = out / "coding.json", out / "coding.md"
    _write_text(json_path, json.dumps(main_report, indent=2, allow_nan=False) + "\n")
    written.append((json_path, f"transform-coding report of {Path(main_file).name} (JSON)"))
    _write_text(md_path, _markdown_table(main_report))
    written.append((md_path, "the same report as Markdown tables"))

    base = PlotOptions(dpi=100.0)
    figures = [
        ("flatness", [main_file], base, {}, "spectrogram with SFM, dB and tonality"),
        ("bands", [main_file], base, {}, "MPEG-7 band flatness heat map"),
        ("eigen", [main_file], PlotOptions(dpi=100.0, blocks=(block,)),
         {"report": main_report}, f"KLT eigenvalues and water levels, N = {block}"),
        ("rd", [main_file], PlotOptions(dpi=100.0, blocks=(block,)),
         {"report": main_report}, "rate–distortion, theory and measured"),
        ("gain", [main_file], PlotOptions(dpi=100.0, blocks=blocks),
         {"report": main_report}, "coding gain against block size"),
        ("lossless", inputs, base, {"reports": reports}, "FLAC against the flatness bound"),
    ]
    for kind, files, opts, pre, what in figures:
        path = render(kind, files, out / f"{kind}.png", opts, **pre)
        written.append((path, what))

    click.echo(f"sfm-audio demo on {len(inputs)} recording(s) from {data}:")
    for path, what in written:
        click.echo(f"  {path}  {what}")
    click.echo(f"done in {time.perf_counter() - t0:.1f} s; open {out / 'flatness.png'} first.")
