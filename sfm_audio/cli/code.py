"""``sfm-audio code`` and ``sfm-audio spectrum``: transform-coding experiments."""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path

import click
import numpy as np

from .._errors import AudioFileError, ParameterError
from .._files import atomic_path, check_output_dir
from ._common import handle_errors, split_list


def _fmt(x, spec: str = ".2f") -> str:
    return "undefined" if x is None else format(x, spec)


def _print_report(report: dict) -> None:
    echo = click.echo
    echo(f"{report['file']}: {report['samples']} samples at {report['sr']} Hz, "
         f"variance {report['variance']:.4g}")
    echo(f"PSD flatness {report['psd_sfm']:.4f}  ->  coding-gain bound "
         f"{_fmt(report['gain_bound_db'])} dB (Kolmogorov-Szego)")
    for entry in report["blocks"]:
        n = entry["block"]
        echo("")
        echo(f"block N = {n}")
        gains = "  ".join(
            f"{t.upper()} {_fmt(v['coding_gain_db'])} dB" for t, v in entry["transforms"].items()
        )
        echo(f"  coding gain: {gains}  (bound {_fmt(report['gain_bound_db'])} dB)")
        transforms = list(entry["transforms"])
        head = f"  {'rate':>5} {'theta':>10} {'R(D)':>6} {'SNR':>6} |"
        for t in transforms:
            head += f" {t.upper() + ' bits':>9} {'SNR':>6} |"
        echo(head)
        for row in entry["rd"]:
            line = (f"  {row['rate']:5.2f} {row['theta']:10.4g} {row['rate']:6.3f} "
                    f"{_fmt(row['snr_db'], '6.2f')} |")
            for t in transforms:
                m = row["measured"][t]
                line += f" {m['bits_per_sample']:9.3f} {_fmt(m['snr_db'], '6.2f')} |"
            echo(line)
        echo("  (theory: KLT water-filling on the block covariance; measured: range-coded bits "
             "per sample, side information included; SNR in dB)")
    ll = report["lossless"]
    echo("")
    echo(f"lossless: bound {ll['bound_bits_per_sample']:.3f} bit/sample, with ECSQ gap "
         f"{ll['bound_ecsq_bits_per_sample']:.3f}; FLAC spends "
         f"{ll['flac_bits_per_sample']:.3f} bit/sample")


def _json_safe(value):
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, (float, np.floating)):
        return float(value) if np.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def _wav_name(prefix: str, block: int, transform: str, rate: float) -> Path:
    return Path(f"{prefix}-N{block}-{transform}-{rate:g}bps.wav")


@click.command()
@click.argument("input", type=click.Path(dir_okay=True))
@click.option("--block", "blocks", default="32", show_default=True,
              help="Block size(s) N, comma separated.")
@click.option("--rates", default="0.5,1,2,4", show_default=True,
              help="Target rates in bits per sample, comma separated, each in (0, 16].")
@click.option("--transform", "transforms", default="klt,dct,pcm", show_default=True,
              help="Transforms: klt, dct, pcm (comma separated).")
@click.option("--reconstruction", type=click.Choice(["midpoint", "centroid"]),
              default="midpoint", show_default=True,
              help="Decoder's value for each cell: its midpoint, or a per-coefficient "
                   "centroid offset (sent with 8 bits).")
@click.option("--json", "json_out", type=click.Path(dir_okay=False),
              help="Write the full report as JSON to this file.")
@click.option("--write-wav", "wav_prefix",
              help="Write the decoded audio as PREFIX-N{block}-{transform}-{rate}bps.wav.")
@handle_errors
def code(input, blocks, rates, transforms, reconstruction, json_out, wav_prefix):
    """Transform-coding experiment on INPUT: KLT, DCT and PCM over blocks of N samples.

    Prints, per block size, the coding gain of each transform beside the PSD bound; per rate,
    the theoretical water level, rate and SNR beside the bits per sample a real quantizer and
    range coder spend and the SNR they reach; then the lossless bound beside FLAC.

    \b
    Examples:
      sfm-audio code data/arctic_a0007.wav
      sfm-audio code song.wav --block 8,16,32,64 --rates 1,2 --json report.json
    """
    from ..coding import run_experiment
    from ..coding.experiment import validate_options

    blocks = split_list(blocks, int, "--block")
    rates = split_list(rates, float, "--rates")
    transforms = split_list(transforms, str.lower, "--transform")
    validate_options(blocks, rates, transforms, reconstruction)
    if json_out is not None:
        check_output_dir(json_out)
    if wav_prefix is not None:
        check_output_dir(_wav_name(wav_prefix, 2, "klt", 1.0))
    if Path(input).is_dir():
        raise AudioFileError(f"{input}: is a folder, not an audio file")
    experiment = run_experiment(
        input, blocks=blocks, rates=rates, transforms=transforms,
        reconstruction=reconstruction, keep_decoded=wav_prefix is not None,
    )
    report = _json_safe(experiment.report)
    written: list[Path] = []
    try:
        if wav_prefix is not None:
            from .. import io

            for (b, t, r), y in experiment.decoded.items():
                target = _wav_name(wav_prefix, b, t, r)
                io.write_wav(target, np.clip(y, -1.0, 1.0 - 2.0**-15), report["sr"])
                written.append(target)
        if json_out is not None:
            with atomic_path(json_out, suffix=".json") as tmp:
                tmp.write_text(json.dumps(report, indent=1, allow_nan=False) + "\n")
    except BaseException:
        for path in written:  # all or nothing
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        raise
    _print_report(report)


@click.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--kind", type=click.Choice(["covariance", "matrix", "samples"]),
              default="covariance", show_default=True,
              help="covariance: eigenvalues; matrix: singular values of a weight matrix; "
                   "samples: eigenvalues of the covariance of the rows.")
@click.option("--json", "as_json", is_flag=True, help="Print the measures as JSON.")
@handle_errors
def spectrum(file, kind, as_json):
    """Spectrum measures of a matrix stored in FILE.npy.

    Flatness (SFM) of the spectrum, coding gain, variance of the log spectrum, Gaussian
    entropy.
    """
    from ..coding import spectrum_measures

    path = Path(file)
    if not path.exists():
        raise AudioFileError(f"{file}: no such file")
    try:
        M = np.load(path, allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise AudioFileError(f"{file}: not a readable .npy array ({exc})") from None
    if not isinstance(M, np.ndarray) or M.ndim != 2:
        raise ParameterError(f"{file}: expected a 2-D matrix, got shape {getattr(M, 'shape', '?')}")
    if not np.issubdtype(M.dtype, np.number) or np.iscomplexobj(M):
        raise ParameterError(f"{file}: expected a real numeric matrix, got dtype {M.dtype}")
    measures = _json_safe(spectrum_measures(M, kind=kind))
    if as_json:
        click.echo(json.dumps(measures, allow_nan=False))
        return
    click.echo(f"{file}: {kind}, n = {measures['n']}")
    for key in ("sfm", "sfm_db", "coding_gain_db", "log_spectrum_variance",
                "gaussian_entropy_bits"):
        if key == "coding_gain_db" and kind == "matrix":
            continue  # a KLT gain belongs to covariance spectra, not to singular values
        if key in measures:
            value = measures[key]
            click.echo(f"  {key:<24} {_fmt(value, '.6g')}")
    spec = measures["spectrum"]
    shown = ", ".join(f"{s:.4g}" for s in spec[:8]) + (", ..." if len(spec) > 8 else "")
    click.echo(f"  {'spectrum':<24} {shown}")
    sys.stdout.flush()
