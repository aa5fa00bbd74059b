"""``sfm-audio spectrum``: flatness, coding gain and entropy of a matrix's spectrum (.npy)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
import numpy as np

from .._errors import AudioFileError, ParameterError
from ..corpus.code import json_safe
from ._common import handle_errors, number_or_undefined


def _load_npy(path: Path, file: str) -> np.ndarray:
    """The array stored in a ``.npy`` file; any other file is said not to be one."""
    with path.open("rb") as handle:
        head = handle.read(len(np.lib.format.MAGIC_PREFIX))
    if head != np.lib.format.MAGIC_PREFIX:
        # np.load would take text, or an archive, for a pickle and talk about allow_pickle
        what = "a .npz archive, not" if head.startswith(b"PK") else "not"
        raise AudioFileError(f"{file}: {what} a .npy array (no \\x93NUMPY header); save "
                             "one matrix with numpy.save")
    try:
        return np.load(path, allow_pickle=False)
    except ValueError as exc:
        if "allow_pickle" in str(exc):
            raise AudioFileError(f"{file}: a .npy array of Python objects, not of numbers"
                                 ) from None
        raise AudioFileError(f"{file}: not a readable .npy array ({exc})") from None
    except OSError as exc:
        raise AudioFileError(f"{file}: not a readable .npy array ({exc})") from None


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
    M = _load_npy(path, file)
    if not isinstance(M, np.ndarray) or M.ndim != 2:
        raise ParameterError(f"{file}: expected a 2-D matrix, got shape {getattr(M, 'shape', '?')}")
    if not np.issubdtype(M.dtype, np.number) or np.iscomplexobj(M):
        raise ParameterError(f"{file}: expected a real numeric matrix, got dtype {M.dtype}")
    measures = json_safe(spectrum_measures(M, kind=kind))
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
            click.echo(f"  {key:<24} {number_or_undefined(value, '.6g')}")
    spec = measures["spectrum"]
    shown = ", ".join(f"{s:.4g}" for s in spec[:8]) + (", ..." if len(spec) > 8 else "")
    click.echo(f"  {'spectrum':<24} {shown}")
    sys.stdout.flush()
