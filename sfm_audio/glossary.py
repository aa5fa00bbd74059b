"""Plain-language glossary of the words in the coding report (``sfm-audio code``).

Kept free of imports so that ``--help`` can show it without loading the coding modules; the
Markdown report (:mod:`sfm_audio.coding.markdown`) prints the same entries.
"""

from __future__ import annotations

import textwrap

__all__ = ["CODING_GLOSSARY", "glossary_text"]

#: (term, explanation) in the order a reader meets them in the report
CODING_GLOSSARY: tuple[tuple[str, str], ...] = (
    ("block N", "the audio is cut into blocks of N consecutive samples; each block is "
                "transformed and coded on its own"),
    ("KLT, DCT, MDCT, PCM", "the transforms: KLT = the block covariance's eigenvectors "
                            "(fitted to this file, so its basis must be sent); DCT = the fixed "
                            "cosine transform of JPEG; MDCT = the overlapping cosine transform "
                            "of MP3/AAC/Opus (sine window, 50 % overlap); PCM = no transform"),
    ("coding gain", "how much a transform packs the energy into few coefficients: arithmetic "
                    "over geometric mean of its coefficient variances, in dB (0 dB for PCM)"),
    ("held-out gain", "the KLT fitted on one half of the file and measured on the other; the "
                      "in-sample gain flatters the KLT because it is fitted to the very blocks "
                      "it is measured on"),
    ("PSD flatness", "flatness (geometric / arithmetic mean) of the file's long-term average "
                     "spectrum; 1 / flatness is the largest coding gain any transform can "
                     "reach on a stationary model (Kolmogorov-Szego)"),
    ("mean per-frame SFM", "the flatness of each short frame's own spectrum, averaged over "
                           "frames, as `sfm-audio extract` reports it; it differs from the PSD "
                           "flatness because averaging spectra first blurs moving harmonics "
                           "and weights loud passages most"),
    ("rate, bits", "bits per sample; measured bits include everything a decoder needs"),
    ("distortion D, SNR", "mean squared error per sample between original and decoded audio; "
                          "SNR = 10 log10(variance / D) in dB"),
    ("theta (water level)", "the error every coded coefficient gets; coefficients quieter "
                            "than theta get no bits at all (reverse water-filling)"),
    ("R(D)", "rate-distortion function: the fewest bits per sample any coder needs for "
             "distortion D, here for a Gaussian model of the audio"),
    ("R_stat (stationary R(D))", "R(D) of one Gaussian model for the whole file (the block "
                                 "covariance); audio that changes over time can beat it"),
    ("R_short (short-time R(D))", "R(D) when every 8 blocks get their own spectrum, one water "
                                  "level for all: an oracle that knows those spectra for free "
                                  "(0.08 bit below the true R(D) on white noise), not a rate "
                                  "an adaptive coder reaches"),
    ("ECSQ gap", "1/2 log2(pi e / 6) = 0.2546 bit/sample (1.53 dB): what a uniform quantizer "
                 "with an ideal entropy coder spends above R(D) at high rate"),
    ("linear prediction gain", "10 log10(variance / prediction-error power) of a predictor "
                               "of order p; it rises toward the same 1/flatness limit as the "
                               "coding gain, and the residual's spectrum becomes flat"),
    ("per-frame duality", "each frame coded by an adaptive coder at one water level for the "
                          "whole file: its bits against per-frame water-filling and against "
                          "its energy E and the extractor's flatness SFM of that frame"),
    ("lossless estimate", "bits per sample a lossless coder needs if the integer samples are "
                          "locally Gaussian: their entropy rate estimated from the short-time "
                          "spectrum; FLAC's real size is printed beside it"),
)


def glossary_text(*, indent: int = 26, width: int = 79) -> str:
    """The glossary as plain text: each term, then its explanation wrapped beside it."""
    return "\n".join(
        textwrap.fill(text, width, initial_indent=f"{term:<{indent}}",
                      subsequent_indent=" " * indent)
        for term, text in CODING_GLOSSARY
    )
