"""Transform-coding experiments: KLT/DCT/MDCT/PCM, reverse water-filling, real bits, prediction.

Pure numpy/scipy plus ``constriction`` for range coding; files are read only through
:mod:`sfm_audio.io` (in :func:`run_experiment`).
"""

from __future__ import annotations

from .coder import BlockCoder, CodingResult, code_signal, run_coders
from .duality import FrameDuality, duality_file, duality_signal, write_frames
from .entropy import CoefficientModel
from .experiment import (
    Experiment,
    frame_sfm_mean,
    lossless_file,
    prefix_curve,
    run_experiment,
)
from .givens import SentBasis, basis_from_angles, givens_angles, send_klt_basis
from .lossless import (
    LosslessEstimate,
    LosslessResult,
    exponential_log_bias,
    lossless_estimate,
    pcm_width,
    periodogram,
    spectral_rate,
    to_pcm,
)
from .mdct import imdct, mdct, mdct_matrix, mdct_variances, run_mdct_coders
from .prediction import Prediction, levinson, lpc, predict, prediction_residual
from .quantize import (
    ECSQ_GAP_BITS,
    dequantize,
    quantize,
    step_for_theta,
    uniform_quantizer_entropy,
)
from .records import CodingReport
from .shorttime import ShortTimeRD
from .spectra import (
    WelchPSD,
    coding_gain,
    coding_gain_db,
    coding_rate,
    eigen_flatness,
    gaussian_entropy,
    heldout_coding_gain_db,
    log_spectrum_variance,
    psd_flatness,
    singular_value_flatness,
    spectrum_measures,
    welch_psd,
)
from .transforms import (
    TRANSFORMS,
    BlockCovariance,
    ar1_covariance,
    ar1_psd,
    block_covariance,
    coefficient_variances,
    dct_matrix,
    klt,
    transform_matrix,
)
from .waterfill import WaterFilling, reverse_waterfill

__all__ = [
    "FrameDuality",
    "duality_file",
    "duality_signal",
    "write_frames",
    "mdct",
    "imdct",
    "mdct_matrix",
    "mdct_variances",
    "run_mdct_coders",
    "Prediction",
    "levinson",
    "lpc",
    "predict",
    "prediction_residual",
    "TRANSFORMS",
    "ECSQ_GAP_BITS",
    "ar1_covariance",
    "ar1_psd",
    "block_covariance",
    "BlockCovariance",
    "klt",
    "dct_matrix",
    "transform_matrix",
    "coefficient_variances",
    "coding_gain",
    "coding_gain_db",
    "reverse_waterfill",
    "WaterFilling",
    "psd_flatness",
    "welch_psd",
    "WelchPSD",
    "eigen_flatness",
    "singular_value_flatness",
    "log_spectrum_variance",
    "gaussian_entropy",
    "coding_rate",
    "spectrum_measures",
    "step_for_theta",
    "quantize",
    "dequantize",
    "uniform_quantizer_entropy",
    "CoefficientModel",
    "BlockCoder",
    "CodingResult",
    "code_signal",
    "run_coders",
    "lossless_estimate",
    "LosslessEstimate",
    "LosslessResult",
    "exponential_log_bias",
    "pcm_width",
    "periodogram",
    "spectral_rate",
    "to_pcm",
    "heldout_coding_gain_db",
    "ShortTimeRD",
    "SentBasis",
    "send_klt_basis",
    "givens_angles",
    "basis_from_angles",
    "frame_sfm_mean",
    "prefix_curve",
    "run_experiment",
    "lossless_file",
    "Experiment",
    "CodingReport",
]
