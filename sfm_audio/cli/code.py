"""``sfm-audio code`` and ``sfm-audio spectrum``: transform-coding experiments."""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path

import click
import numpy as np

from .._errors import AudioFileError, ParameterError, SfmError
from .._files import atomic_path, check_output_dir
from ..glossary import glossary_text
from ._common import EXIT_FAILURE, EXIT_USAGE, handle_errors, split_list


def _fmt(x, spec: str = ".2f") -> str:
    return "undefined" if x is None else format(x, spec)


def _print_report(report: dict) -> None:
    echo = click.echo
    channels = report.get("channels", 1)
    echo(f"{report['file']}: {report['samples']} samples at {report['sr']} Hz, "
         f"{channels} channel{'s' if channels != 1 else ''}, variance {report['variance']:.4g}")
    echo(f"flatness: PSD {report['psd_sfm']:.4f} (long-term spectrum; coding-gain limit "
         f"{_fmt(report['gain_bound_db'])} dB), mean per-frame SFM "
         f"{_fmt(report.get('frame_sfm_mean'), '.4f')} (as `extract` reports it)")
    echo("  (the PSD is the spectrum averaged over the whole file; each frame's SFM sees only "
         "that frame: they can differ a lot either way)")
    for warning in report.get("warnings", []):
        echo(f"note: {warning}")
    for entry in report["blocks"]:
        n = entry["block"]
        echo("")
        echo(f"block N = {n} ({entry.get('blocks_count', report['samples'] // n)} blocks)")
        gains = []
        for t, v in entry["transforms"].items():
            held = v.get("heldout_coding_gain_db")
            held_out = held is not None and t == "klt"  # the DCT and PCM are not fitted
            gains.append(f"{t.upper()} {_fmt(v['coding_gain_db'])}"
                         + (f" (held out {held:.2f})" if held_out else ""))
        echo(f"  coding gain, dB: {'  '.join(gains)}  limit {_fmt(report['gain_bound_db'])}")
        transforms = list(entry["transforms"])
        head = f"  {'target':>6} |"
        for t in transforms:
            head += f" {t.upper() + ' bits':>9} {'SNR':>6} {'R_stat':>6} {'R_short':>7} |"
        echo(head)
        basis = set()
        for row in entry["rd"]:
            line = f"  {row['rate']:6.2f} |"
            for t in transforms:
                m = row["measured"][t]
                line += (f" {m['bits_per_sample']:9.3f} {_fmt(m['snr_db'], '6.2f')}"
                         f" {_fmt(m.get('stationary_rate'), '6.3f')}"
                         f" {_fmt(m.get('short_time_rate'), '7.3f')} |")
                if m.get("angle_bits") is not None:
                    basis.add((m["basis_bits_per_sample"], m["angle_bits"]))
            echo(line)
        echo("  bits: measured bits per sample, side information included; SNR in dB at the "
             "measured distortion; R_stat, R_short: Gaussian R(D) of the source (stationary, "
             "short-time) at that distortion")
        if basis:
            costs = ", ".join(f"{b:.3f} ({a}-bit angles)" for b, a in sorted(basis))
            echo(f"  KLT basis sent as Givens angles: {costs} bit/sample")
    _print_roads(report)
    ll = report["lossless"]
    echo("")
    width = f"{ll['pcm_bits']}-bit" + (" (quantized)" if ll.get("quantized") else "")
    echo(f"lossless ({width}): estimate {ll['estimate_bits_per_sample']:.3f} bit/sample "
         f"(Gaussian entropy rate from the short-time spectrum); FLAC spends "
         f"{ll['flac_bits_per_sample']:.3f} bit/sample")


def _print_roads(report: dict) -> None:
    """The prediction road to the same limit, and bits against flatness frame by frame."""
    echo = click.echo
    prediction = report.get("prediction") or []
    if prediction:
        echo("")
        gains = "  ".join(f"p={p['order']} {_fmt(p['gain_db'])}" for p in prediction)
        echo(f"linear prediction gain (dB): {gains}  (limit {_fmt(report['gain_bound_db'])})")
        flat = "  ".join(f"p={p['order']} {p['residual_sfm']:.3f}" for p in prediction)
        echo(f"  residual flatness: {flat}")
    d = report.get("duality")
    if d:
        echo("")
        echo(f"per-frame duality: {d['blocks']} DCT blocks of {d['block']}, one water level "
             f"(theta {d['theta']:.4g}) for {d['rate']:g} bit/sample of water-filling")
        echo(f"  adaptive coder: {d['bits_per_sample']:.3f} bit/sample (blocks spread "
             f"{d['bits_std']:.3f}), SNR {_fmt(d['snr_db'])} dB")
        r2 = _fmt(d["r2_predicted"], ".3f")
        echo(f"  R^2 of block bits against per-frame water-filling: {r2}")
        echo(f"  bits ~ {_fmt(d['intercept'])} + {_fmt(d['energy_coef'])} * 1/2 log2(E/theta) "
             f"+ {_fmt(d['flatness_coef'])} * 1/2 log2(SFM): R^2 {_fmt(d['r2_fit'], '.3f')} "
             "(SFM of the extractor's frame)")


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


def _code_file(path: str, options: dict, wav_prefix: str | None) -> dict:
    """The experiment on one file, its decoded WAVs written all or none; the JSON report."""
    from ..coding import run_experiment

    experiment = run_experiment(path, keep_decoded=wav_prefix is not None, **options)
    report = _json_safe(experiment.report)
    written: list[Path] = []
    try:
        if wav_prefix is not None:
            from .. import io

            for (b, t, r), y in experiment.decoded.items():
                target = _wav_name(wav_prefix, b, t, r)
                io.write_wav(target, np.clip(y, -1.0, 1.0 - 2.0**-15), report["sr"])
                written.append(target)
    except BaseException:
        for written_path in written:  # all or nothing
            with contextlib.suppress(FileNotFoundError):
                written_path.unlink()
        raise
    return report


def _code_job(job: tuple[str, dict, str | None]) -> tuple[str, dict | None, str | None, bool]:
    """One file of a multi-file run: ``(path, report, error, usage_error)``, never raising."""
    path, options, wav_prefix = job
    try:
        return path, _code_file(path, options, wav_prefix), None, False
    except ParameterError as exc:
        return path, None, str(exc), True
    except (SfmError, OSError) as exc:
        return path, None, str(exc), False


def _write_json(json_out: str, document: dict) -> None:
    with atomic_path(json_out, suffix=".json") as tmp:
        tmp.write_text(json.dumps(document, indent=1, allow_nan=False) + "\n")


@click.command()
@click.argument("inputs", nargs=-1, required=True)
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
              help="Write the decoded audio as PREFIX-N{block}-{transform}-{rate}bps.wav "
                   "(PREFIX-<file name>-N... with several inputs).")
@click.option("-j", "--jobs", type=int, default=None,
              help="With several inputs: files coded at once, one process each "
                   "(default: the number of cores).")
@click.option("--errors", "errors_out", type=click.Path(dir_okay=False),
              help="With several inputs: write the failed files to this CSV (file, error).")
@handle_errors
def code(inputs, blocks, rates, transforms, reconstruction, json_out, wav_prefix, jobs,
         errors_out):
    """Transform-coding experiment on INPUTS: KLT, DCT and PCM over blocks of N samples.

    Prints the file's two flatness numbers; per block size, the coding gain of each transform
    (the KLT's also held out) beside the PSD limit; per target rate, the bits per sample a real
    quantizer and range coder spend, the SNR they reach and two Gaussian R(D) at that SNR;
    then the lossless estimate beside FLAC. Stereo is mixed to mono (the report says so).

    With one input file the JSON is that file's report. Several inputs (files, folders or
    globs) are coded in parallel and reported in path order; the JSON is then
    {"files": [report, ...], "failed": [{"file", "error"}, ...]}, a failing file does not
    stop the others, and the run ends with "N ok, M failed".

    \b
    Examples:
      sfm-audio code data/arctic_a0007.wav
      sfm-audio code song.wav --block 8,16,32,64 --rates 1,2 --json report.json
      sfm-audio code corpus/ --block 32 --json corpus.json --jobs 2

    \b
    Glossary:
    {glossary}
    """
    from ..batch import Failure, default_jobs, expand_inputs, process_pool, write_errors
    from ..coding.experiment import validate_options

    blocks = split_list(blocks, int, "--block")
    rates = split_list(rates, float, "--rates")
    transforms = split_list(transforms, str.lower, "--transform")
    validate_options(blocks, rates, transforms, reconstruction)
    if jobs is not None and jobs < 1:
        raise ParameterError(f"--jobs={jobs} must be a positive integer")
    for target in (json_out, errors_out):
        if target is not None:
            check_output_dir(target)
    if wav_prefix is not None:
        check_output_dir(_wav_name(wav_prefix, 2, "klt", 1.0))
    options = {"blocks": blocks, "rates": rates, "transforms": transforms,
               "reconstruction": reconstruction}

    single = inputs[0]
    if len(inputs) == 1 and not Path(single).is_dir() and (
        Path(single).exists() or not set("*?[") & set(single)
    ):
        report = _code_file(single, options, wav_prefix)
        if json_out is not None:
            _write_json(json_out, report)
        _print_report(report)
        return

    paths, failures = expand_inputs(inputs)
    prefixes: dict[str, str | None] = {p: None for p in paths}
    if wav_prefix is not None:
        stems = [Path(p).stem for p in paths]
        clash = sorted({s for s in stems if stems.count(s) > 1})
        if clash:
            raise ParameterError(
                f"--write-wav: several inputs are named {clash[0]!r}; rename or code them apart")
        prefixes = {p: f"{wav_prefix}-{Path(p).stem}" for p in paths}
    work = [(p, options, prefixes[p]) for p in paths]
    n_jobs = min(jobs or default_jobs(), max(1, len(work)))
    if n_jobs == 1:
        results = [_code_job(job) for job in work]
    else:
        with process_pool(n_jobs) as pool:
            results = list(pool.map(_code_job, work))

    reports = []
    failed = [{"file": f.file, "error": f.error, "usage": f.usage} for f in failures]
    for path, report, error, usage in results:  # already in sorted path order
        if report is None:
            failed.append({"file": path, "error": error, "usage": usage})
        else:
            reports.append(report)
            _print_report(report)
            click.echo("")
    if json_out is not None and reports:
        _write_json(json_out, {"files": reports,
                               "failed": [{"file": f["file"], "error": f["error"]}
                                          for f in failed]})
    if errors_out is not None:
        write_errors(errors_out, [Failure(f["file"], f["error"], f["usage"]) for f in failed])
    else:
        for failure in failed:
            click.echo(f"Error: {failure['error']}", err=True)
    click.echo(f"{len(reports)} ok, {len(failed)} failed", err=True)
    if failed:
        all_usage = not reports and all(f["usage"] for f in failed)
        raise SystemExit(EXIT_USAGE if all_usage else EXIT_FAILURE)


code.help = code.help.replace("{glossary}", glossary_text())


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
