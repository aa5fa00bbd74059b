"""Tests of sfm_audio.plot: the matplotlib objects carry the given data, files are real images."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from matplotlib.collections import QuadMesh
from matplotlib.container import BarContainer
from matplotlib.figure import Figure

from sfm_audio import plot
from sfm_audio._errors import ParameterError

DPI = 40  # small pictures keep the suite fast; sizes are figsize * DPI


def _ro(*arrays: np.ndarray) -> tuple[np.ndarray, ...]:
    """Read-only copies: any in-place write by the plotting code raises."""
    out = []
    for a in arrays:
        a = np.array(a, dtype=float)
        a.flags.writeable = False
        out.append(a)
    return tuple(out)


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG file"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def _save_png(fig: Figure, tmp_path: Path, name: str) -> Path:
    path = plot.save(fig, tmp_path / f"{name}.png", dpi=DPI)
    assert path == tmp_path / f"{name}.png"
    w, h = fig.get_size_inches()
    assert _png_size(path) == (round(w * DPI), round(h * DPI))
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{name}.png"]  # no temp file left
    return path


def _meshes(ax) -> list[QuadMesh]:
    return [c for c in ax.collections if isinstance(c, QuadMesh)]


def _line(ax, label: str):
    lines = [ln for ln in ax.get_lines() if ln.get_label() == label]
    assert len(lines) == 1, [ln.get_label() for ln in ax.get_lines()]
    return lines[0]


def _colorbar_axes(fig: Figure) -> list:
    return [a for a in fig.axes if a.get_label() == "<colorbar>" or hasattr(a, "_colorbar")]


# --------------------------------------------------------------------------- data


@pytest.fixture
def spectrogram():
    rng = np.random.default_rng(1)
    sr, n_fft = 8000, 64
    freqs = np.arange(n_fft // 2 + 1) * sr / n_fft  # starts at 0 Hz
    times = np.arange(20) * 0.1
    spec_db = rng.normal(-40.0, 10.0, (freqs.size, times.size))
    frame_times = np.arange(40) * 0.05
    sfm = rng.uniform(0.01, 0.9, frame_times.size)
    sfm_db = 10 * np.log10(sfm)
    tonality = np.minimum(sfm_db / -60.0, 1.0)
    return _ro(spec_db, freqs, times, sfm, frame_times, sfm_db, tonality)


# --------------------------------------------------------------------------- flatness


def test_flatness_two_panels(spectrogram, tmp_path):
    spec_db, freqs, times, sfm, frame_times, _, _ = spectrogram
    before = [a.copy() for a in spectrogram]
    fig = plot.flatness(spec_db, freqs, times, sfm, frame_times, title="a.wav, n_fft=64")
    assert isinstance(fig, Figure)
    assert fig.get_suptitle() == "a.wav, n_fft=64"
    assert len(fig.axes) == 3  # spectrogram, SFM, colour bar
    ax_spec, ax_sfm, cax = fig.axes
    assert ax_spec.get_yscale() == "log"
    assert ax_spec.get_ylabel() == "Frequency (Hz)"
    assert ax_sfm.get_xlabel() == "Time (s)"
    assert "SFM" in ax_sfm.get_ylabel()
    assert cax.get_ylabel() == "Power (dB)"
    assert ax_spec.get_shared_x_axes().joined(ax_spec, ax_sfm)
    (mesh,) = _meshes(ax_spec)
    # The 0 Hz row cannot sit on a log axis; every other row is drawn unchanged.
    np.testing.assert_array_equal(np.asarray(mesh.get_array()), spec_db[1:])
    assert mesh.colorbar is not None
    ylo, yhi = ax_spec.get_ylim()
    assert ylo == pytest.approx(freqs[1] / 2) and yhi == pytest.approx(freqs[-1] + 62.5)
    assert ax_spec.get_xlim() == pytest.approx((times[0] - 0.05, times[-1] + 0.05))
    line = _line(ax_sfm, "SFM")
    np.testing.assert_array_equal(line.get_xdata(), frame_times)
    np.testing.assert_array_equal(line.get_ydata(), sfm)
    assert ax_sfm.get_ylim() == (0.0, 1.0)
    _save_png(fig, tmp_path, "flatness")
    for a, b in zip(spectrogram, before, strict=True):
        np.testing.assert_array_equal(a, b)


def test_flatness_db_and_tonality_panel(spectrogram, tmp_path):
    spec_db, freqs, times, sfm, frame_times, sfm_db, tonality = spectrogram
    fig = plot.flatness(spec_db, freqs, times, sfm, frame_times, sfm_db=sfm_db, tonality=tonality)
    assert fig.get_suptitle()  # a default title
    assert len(fig.axes) == 5  # three panels, colour bar, tonality twin axis
    ax3 = fig.axes[2]
    twin = fig.axes[-1]
    assert ax3.get_ylabel() == "SFM (dB)"
    assert ax3.get_ylim() == plot.DB_RANGE == (-60.0, 0.0)  # the range of Johnston tonality
    assert ax3.get_xlabel() == "Time (s)"
    assert fig.axes[1].get_xlabel() == ""
    assert "Tonality" in twin.get_ylabel()
    np.testing.assert_array_equal(_line(ax3, "Flatness (dB)").get_ydata(), sfm_db)
    np.testing.assert_array_equal(_line(twin, "Tonality").get_ydata(), tonality)
    assert ax3.get_shared_x_axes().joined(fig.axes[0], ax3)
    _save_png(fig, tmp_path, "flatness3")


def test_flatness_tonality_only(spectrogram):
    spec_db, freqs, times, sfm, frame_times, _, tonality = spectrogram
    fig = plot.flatness(spec_db, freqs, times, sfm, frame_times, tonality=tonality)
    assert len(fig.axes) == 4
    assert "Tonality" in fig.axes[2].get_ylabel()


def test_flatness_edges_and_caller_axes(spectrogram):
    spec_db, _, _, sfm, frame_times, _, _ = spectrogram
    f_edges = np.linspace(0.0, 4000.0, spec_db.shape[0] + 1)
    t_edges = np.linspace(0.0, 2.0, spec_db.shape[1] + 1)
    fig = Figure()
    axes = fig.subplots(2, 1)
    out = plot.flatness(spec_db, f_edges, t_edges, sfm, frame_times, title="T", axes=axes)
    assert out is fig
    assert axes[0].get_title() == "T"
    (mesh,) = _meshes(axes[0])
    np.testing.assert_array_equal(np.asarray(mesh.get_array()), spec_db)  # no row lost
    assert axes[0].get_ylim() == pytest.approx((f_edges[1] / 2, 4000.0))
    assert axes[0].get_shared_x_axes().joined(axes[0], axes[1])
    assert len(_colorbar_axes(fig)) == 1


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"spec_db": np.zeros(5)}, "spec_db must be a non-empty 2-D"),
        ({"freqs": np.arange(7.0)}, "freqs has shape"),
        ({"times": np.arange(3.0)}, "times has shape"),
        ({"frame_times": np.arange(3.0)}, "frame_times has shape"),
        ({"sfm_db": np.zeros(3)}, "sfm_db has shape"),
        ({"tonality": np.zeros((2, 40))}, "tonality must be 1-D"),
        ({"freqs": -np.arange(33.0)}, "strictly increasing"),
        ({"top_db": -1.0}, "top_db"),
        ({"axes": [None, None]}, "Axes"),
    ],
)
def test_flatness_bad_input(spectrogram, change, match):
    spec_db, freqs, times, sfm, frame_times, _, _ = spectrogram
    args = {"spec_db": spec_db, "freqs": freqs, "times": times, "sfm": sfm,
            "frame_times": frame_times}
    args.update(change)
    with pytest.raises(ParameterError, match=match):
        plot.flatness(**args)


def test_flatness_wrong_number_of_axes(spectrogram):
    spec_db, freqs, times, sfm, frame_times, sfm_db, _ = spectrogram
    axes = Figure().subplots(2, 1)
    with pytest.raises(ParameterError, match="needs 3"):
        plot.flatness(spec_db, freqs, times, sfm, frame_times, sfm_db=sfm_db, axes=axes)


# --------------------------------------------------------------------------- bands


def test_bands(tmp_path):
    rng = np.random.default_rng(2)
    band_sfm, edges, frame_times = _ro(
        rng.uniform(0, 1, (3, 30)), [100.0, 200.0, 400.0, 2000.0], np.arange(30) * 0.02
    )
    fig = plot.bands(band_sfm, edges, frame_times, title="b.wav, octave bands")
    assert fig.get_suptitle() == "b.wav, octave bands"
    assert len(fig.axes) == 3
    ax_map, ax_mean, cax = fig.axes
    assert ax_map.get_xlabel() == "Time (s)"
    assert ax_map.get_ylabel() == "Band (Hz)"
    assert [t.get_text() for t in ax_map.get_yticklabels()] == ["100–200", "200–400", "400–2k"]
    assert ax_mean.get_xlabel() == "Mean SFM (0–1)"
    assert "SFM" in cax.get_ylabel()
    (mesh,) = _meshes(ax_map)
    np.testing.assert_array_equal(np.asarray(mesh.get_array()), band_sfm)
    assert mesh.get_clim() == (0.0, 1.0)
    assert mesh.colorbar is not None
    (bars,) = [c for c in ax_mean.containers if isinstance(c, BarContainer)]
    np.testing.assert_allclose([b.get_width() for b in bars], band_sfm.mean(axis=1))
    assert ax_map.get_shared_y_axes().joined(ax_map, ax_mean)
    _save_png(fig, tmp_path, "bands")


def test_bands_pairs_and_caller_axes():
    band_sfm = np.full((2, 4), 0.5)
    pairs = np.array([[237.5, 312.0], [282.0, 371.0]])  # overlapping (MPEG-7 widened) bands
    fig = Figure()
    axes = fig.subplots(1, 2)
    assert plot.bands(band_sfm, pairs, np.arange(4.0), title="T", axes=axes) is fig
    assert axes[0].get_title() == "T"
    assert [t.get_text() for t in axes[0].get_yticklabels()] == ["238–312", "282–371"]


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ((np.zeros((3, 4)), np.arange(3.0), np.arange(4.0)), "band_edges has shape"),
        ((np.zeros((3, 4)), np.arange(4.0), np.arange(5.0) * 0 + 1), "strictly increasing"),
        ((np.zeros((3, 4)), np.arange(4.0), np.arange(7.0)), "frame_times has shape"),
        ((np.zeros((3, 4)), [1.0, 3.0, 2.0, 4.0], np.arange(4.0)), "high > low"),
        ((np.zeros(4), np.arange(4.0), np.arange(4.0)), "2-D"),
    ],
)
def test_bands_bad_input(args, match):
    with pytest.raises(ParameterError, match=match):
        plot.bands(*args)


# --------------------------------------------------------------------------- eigen

# AR(1) rho=0.9, N=4 eigenvalues (docs/definitions.md, anchor table: scipy eigh of the Toeplitz
# matrix rho**|i-j|), given in ascending order.
LAM4 = np.array([0.06136, 0.10236, 0.30964, 3.52664])


def _bits(lam: np.ndarray, theta: float) -> np.ndarray:
    with np.errstate(divide="ignore", under="ignore"):
        return np.where(lam > 0, np.maximum(0.0, 0.5 * np.log2(lam / theta)), 0.0)


def test_eigen(tmp_path):
    (lam,) = _ro(LAM4)
    thetas, rates = [0.2, 0.05], [0.5, 1.5]
    fig = plot.eigen(lam, thetas=thetas, rates=rates, block=4)
    assert fig.get_suptitle() == "KLT eigen-spectrum, N = 4"
    assert len(fig.axes) == 2
    ax_l, ax_b = fig.axes
    assert ax_l.get_yscale() == "log"
    assert "λ" in ax_l.get_ylabel() and "(" in ax_l.get_ylabel()
    assert ax_b.get_ylabel() == "Bits bᵢ (bit/coefficient)"
    assert ax_b.get_xlabel().startswith("Component index")
    assert ax_l.get_shared_x_axes().joined(ax_l, ax_b)
    desc = np.sort(LAM4)[::-1]
    eig = _line(ax_l, "Eigenvalues λᵢ")
    np.testing.assert_array_equal(eig.get_ydata(), desc)
    np.testing.assert_array_equal(eig.get_xdata(), [1, 2, 3, 4])
    for theta, rate in zip(thetas, rates, strict=True):
        level = _line(ax_l, f"θ = {theta:.3g} (R = {rate:g} bit/sample)")
        np.testing.assert_array_equal(level.get_ydata(), [theta, theta])
    groups = [c for c in ax_b.containers if isinstance(c, BarContainer)]
    assert [g.get_label() for g in groups] == ["R = 0.5 bit/sample", "R = 1.5 bit/sample"]
    for group, theta in zip(groups, thetas, strict=True):
        np.testing.assert_allclose([b.get_height() for b in group], _bits(desc, theta))
    _save_png(fig, tmp_path, "eigen")


def test_eigen_without_levels_and_zero_eigenvalue():
    fig = plot.eigen(np.array([0.0, 2.0, 1.0]), title="E")
    assert len(fig.axes) == 1
    assert fig.axes[0].get_title() == "" and fig.get_suptitle() == "E"
    np.testing.assert_array_equal(_line(fig.axes[0], "Eigenvalues λᵢ").get_ydata(), [2.0, 1.0])


@settings(max_examples=15, deadline=None)
@given(
    lam=hnp.arrays(float, st.integers(1, 12), elements=st.floats(0.0, 1e3)),
    theta=st.floats(1e-3, 10.0),
)
def test_eigen_bits_property(lam, theta):
    lam.flags.writeable = False
    fig = plot.eigen(lam, thetas=[theta], rates=[1.0])
    (group,) = [c for c in fig.axes[1].containers if isinstance(c, BarContainer)]
    heights = np.array([b.get_height() for b in group])
    assert np.all(heights >= 0)
    np.testing.assert_allclose(heights, _bits(np.sort(lam)[::-1], theta))
    assert np.all(heights[lam[np.argsort(lam)[::-1]] <= theta] == 0)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"rates": [1.0]}, "rates given without thetas"),
        ({"thetas": [0.1, 0.2], "rates": [1.0]}, "rates has shape"),
        ({"thetas": [0.0]}, "thetas must be positive"),
        ({"block": 8}, "block=8 does not match"),
        ({"axes": Figure().subplots(1, 1)}, "sequence"),
    ],
)
def test_eigen_bad_input(kwargs, match):
    with pytest.raises(ParameterError, match=match):
        plot.eigen(LAM4, **kwargs)


@pytest.mark.parametrize("lam", [np.array([1.0, -1.0]), np.array([]), np.array([np.nan])])
def test_eigen_bad_eigenvalues(lam):
    with pytest.raises(ParameterError, match="eigenvalues"):
        plot.eigen(lam)


# --------------------------------------------------------------------------- rd


def test_rd(tmp_path):
    rates, stationary, short, mb, ms = _ro(
        np.linspace(0.1, 4, 9), 6.02 * np.linspace(0.1, 4, 9) + 6.3,
        6.02 * np.linspace(0.1, 4, 9) + 12.0, [1.3, 2.3], [10.0, 16.0],
    )
    fig = plot.rd(
        {"stationary Gaussian R(D)": (rates, stationary), "short-time Gaussian R(D)":
         (rates, short)},
        {"KLT": (mb, ms), "DCT": (mb, ms + 1)}, caption="why points sit left", title="c.wav",
    )
    (ax,) = fig.axes
    assert ax.get_title() == "c.wav"
    assert ax.get_xlabel() == "Rate (bit/sample)"
    assert ax.get_ylabel() == "SNR (dB)"
    line = _line(ax, "stationary Gaussian R(D)")
    np.testing.assert_array_equal(line.get_xdata(), rates)
    np.testing.assert_array_equal(line.get_ydata(), stationary)
    assert _line(ax, "short-time Gaussian R(D)").get_linestyle() != line.get_linestyle()
    meas = _line(ax, "KLT measured")
    np.testing.assert_array_equal(meas.get_xdata(), mb)
    np.testing.assert_array_equal(meas.get_ydata(), ms)
    assert meas.get_linestyle() == "None"
    assert meas.get_color() != _line(ax, "DCT measured").get_color()
    assert "why points sit left" in fig.get_supxlabel()
    assert ax.get_legend() is not None
    _save_png(fig, tmp_path, "rd")


def test_rd_options():
    r = np.array([0.0, 1.0])
    fig = plot.rd({}, {"KLT": (r, r)})  # measured only
    assert [ln.get_label() for ln in fig.axes[0].get_lines()] == ["KLT measured"]
    ax = Figure().add_subplot()
    plot.rd({"A": (r, r)}, ax=ax, caption="not on a caller's figure")
    assert ax.figure.get_supxlabel() == ""


@pytest.mark.parametrize(
    ("theory", "measured", "kwargs", "match"),
    [
        ({"KLT": (np.arange(3.0), np.arange(4.0))}, None, {}, r"theory\['KLT'\]\[1\] has shape"),
        ({"KLT": (np.arange(3.0), np.arange(3.0))}, {"KLT": (np.arange(2.0), [1.0])}, {},
         r"measured\['KLT'\]\[1\] has shape"),
        ({"KLT": np.arange(3.0)}, None, {}, "pair"),
        ({}, None, {}, "at least one"),
        ({"KLT": ([0.0], [0.0])}, None, {"ax": "axes"}, "must be a matplotlib Axes"),
    ],
)
def test_rd_bad_input(theory, measured, kwargs, match):
    with pytest.raises(ParameterError, match=match):
        plot.rd(theory, measured, **kwargs)


# --------------------------------------------------------------------------- gain


def test_gain(tmp_path):
    blocks, klt, dct, pcm = _ro(
        [2, 4, 8, 16, 32],
        [3.6062, 5.4093, 6.3109, 6.7617, 6.9871],
        [3.6062, 5.3870, 6.2761, 6.7264, 6.95],
        np.zeros(5),
    )
    held = np.array([3.5, 5.3, 6.2, 6.5, np.nan])
    fig = plot.gain(blocks, {"KLT": klt, "DCT": dct, "PCM": pcm}, 7.2125,
                    heldout_db={"KLT": held}, title="AR(1) ρ=0.9")
    (ax,) = fig.axes
    assert ax.get_title() == "AR(1) ρ=0.9"
    assert ax.get_xscale() == "log"
    assert ax.xaxis.get_transform().base == 2
    assert ax.get_xlabel() == "Block size N (samples)"
    assert ax.get_ylabel() == "Coding gain (dB)"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["2", "4", "8", "16", "32"]
    for name, g in (("KLT (in-sample)", klt), ("DCT", dct), ("PCM", pcm)):
        line = _line(ax, name)
        np.testing.assert_array_equal(line.get_xdata(), blocks)
        np.testing.assert_array_equal(line.get_ydata(), g)
    ho = _line(ax, "KLT held out (other half)")
    np.testing.assert_array_equal(ho.get_ydata(), held)
    assert ho.get_color() == _line(ax, "KLT (in-sample)").get_color()
    assert ho.get_linestyle() == "--"
    (limit,) = [ln for ln in ax.get_lines() if ln.get_label().startswith("1/SFM limit")]
    np.testing.assert_array_equal(limit.get_ydata(), [7.2125, 7.2125])
    assert ax.get_ylim()[1] > 7.2125
    _save_png(fig, tmp_path, "gain")


def test_gain_without_limit_on_caller_axes():
    ax = Figure().add_subplot()
    fig = plot.gain([4, 8], {"KLT": [1.0, 2.0]}, None, ax=ax)
    assert fig is ax.figure
    assert [ln.get_label() for ln in ax.get_lines()] == ["KLT"]


@pytest.mark.parametrize(
    ("blocks", "gains", "limit", "kwargs", "match"),
    [
        ([2, 4, 8], {"KLT": [1.0, 2.0]}, 3.0, {}, r"gains_db\['KLT'\] has shape"),
        ([2, 0], {"KLT": [1.0, 2.0]}, 3.0, {}, "positive block sizes"),
        ([2, 4], {}, 3.0, {}, "non-empty mapping"),
        ([2, 4], {"KLT": [1.0, 2.0]}, float("nan"), {}, "limit_db"),
        ([2, 4], {"KLT": [1.0, 2.0]}, 3.0, {"heldout_db": {"KLT": [1.0]}},
         r"heldout_db\['KLT'\] has shape"),
        ([2, 4], {"KLT": [1.0, 2.0]}, 3.0, {"heldout_db": [1.0, 2.0]}, "heldout_db must be"),
    ],
)
def test_gain_bad_input(blocks, gains, limit, kwargs, match):
    with pytest.raises(ParameterError, match=match):
        plot.gain(blocks, gains, limit, **kwargs)


# --------------------------------------------------------------------------- lossless


def test_lossless(tmp_path):
    estimate, flac = _ro([5.2, 7.9, 3.1, 5.2], [6.0, 8.8, 4.2, 6.0])
    labels = ["speech.flac", "music.wav", "tone.wav", "speech24.wav"]
    fig = plot.lossless(estimate, flac, labels, title="corpus")
    (ax,) = fig.axes
    assert fig.get_suptitle() == "corpus"
    assert ax.get_xlabel() == "Lossless estimate: Gaussian entropy rate (bit/sample)"
    assert ax.get_ylabel() == "FLAC (bit/sample)"
    pts = [ln for ln in ax.get_lines() if ln.get_marker() == "o"]
    assert len(pts) == 1
    np.testing.assert_array_equal(pts[0].get_xdata(), estimate)
    np.testing.assert_array_equal(pts[0].get_ydata(), flac)
    diag = _line(ax, "FLAC = estimate")
    np.testing.assert_array_equal(diag.get_xdata(), diag.get_ydata())
    lo, hi = ax.get_xlim()
    assert lo <= 3.1 and hi >= 8.8 and ax.get_ylim() == (lo, hi)
    # coincident points share one label; every name is in the legend with its number
    assert sorted(t.get_text() for t in ax.texts) == ["1, 4", "2", "3"]
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend[1:] == [f"{i + 1}: {name}" for i, name in enumerate(labels)]
    _save_png(fig, tmp_path, "lossless")


def test_lossless_names_go_below_the_axes_of_a_tall_figure():
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    estimate, flac = _ro([5.2, 7.9], [6.0, 8.8])
    tall = plot.lossless(estimate, flac, ["a.wav", "b.wav"], figsize=(2.2, 5.2))
    (ax,) = tall.axes
    assert ax.get_legend() is None and len(tall.legends) == 1
    assert [t.get_text() for t in tall.legends[0].get_texts()][1:] == ["1: a.wav", "2: b.wav"]
    renderer = FigureCanvasAgg(tall).get_renderer()
    tall.draw_without_rendering()
    assert tall.legends[0].get_window_extent(renderer).y1 < ax.get_window_extent(renderer).y0
    wide = plot.lossless(estimate, flac, ["a.wav", "b.wav"], figsize=(7.0, 5.0))
    assert wide.axes[0].get_legend() is not None and not wide.legends


def test_lossless_labels_do_not_overlap():
    """Neighbouring points: their number labels' boxes on the canvas do not intersect."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    estimate = np.array([5.0, 5.3, 5.6, 5.9, 6.2])
    fig = plot.lossless(estimate, estimate + 0.1, [f"f{i}.wav" for i in range(5)])
    renderer = FigureCanvasAgg(fig).get_renderer()
    fig.draw_without_rendering()
    boxes = [t.get_window_extent(renderer) for t in fig.axes[0].texts]
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            assert not a.overlaps(b)


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (([1.0, 2.0], [1.0]), "flac_bits has shape"),
        (([1.0, 2.0], [1.0, 2.0], ["a"]), "labels has 1 names"),
        (([1.0, 2.0], [1.0, 2.0], "ab"), "sequence of strings"),
        (([], []), "must not be empty"),
    ],
)
def test_lossless_bad_input(args, match):
    with pytest.raises(ParameterError, match=match):
        plot.lossless(*args)


# --------------------------------------------------------------------------- save


@pytest.fixture
def small_fig() -> Figure:
    return plot.gain([2, 4], {"KLT": [1.0, 2.0]}, 3.0)


@pytest.mark.parametrize(("ext", "magic"), [("pdf", b"%PDF"), ("svg", b"<?xml")])
def test_save_vector_formats_are_deterministic(small_fig, tmp_path, ext, magic):
    a = plot.save(small_fig, tmp_path / f"a.{ext}")
    b = plot.save(small_fig, tmp_path / f"b.{ext}")
    assert a.read_bytes()[:5].startswith(magic)
    assert a.read_bytes() == b.read_bytes()


def test_save_png_size_and_determinism(small_fig, tmp_path):
    small_fig.set_size_inches(3.0, 2.5)
    a = plot.save(small_fig, tmp_path / "a.png", dpi=80)
    b = plot.save(small_fig, str(tmp_path / "b.PNG"), dpi=80)
    assert _png_size(a) == (240, 200)
    assert a.read_bytes() == b.read_bytes()


def test_save_overwrites_existing_file(small_fig, tmp_path):
    target = tmp_path / "fig.png"
    target.write_bytes(b"old")
    plot.save(small_fig, target, dpi=20)
    assert target.read_bytes()[:4] == b"\x89PNG"


def test_save_unsupported_extension(small_fig, tmp_path):
    with pytest.raises(ParameterError, match=r"cannot write '\.xyz' files.*\.png"):
        plot.save(small_fig, tmp_path / "fig.xyz")
    with pytest.raises(ParameterError, match="no extension"):
        plot.save(small_fig, tmp_path / "fig")
    assert list(tmp_path.iterdir()) == []


def test_save_missing_folder(small_fig, tmp_path):
    with pytest.raises(ParameterError, match="does not exist"):
        plot.save(small_fig, tmp_path / "nope" / "fig.png")
    assert list(tmp_path.iterdir()) == []


def test_save_unwritable_folder(small_fig, tmp_path, monkeypatch):
    # Simulated, so the test holds when run as root too.
    import sfm_audio._files as files

    monkeypatch.setattr(files.os, "access", lambda *a, **k: False)
    with pytest.raises(ParameterError, match="not writable"):
        plot.save(small_fig, tmp_path / "fig.png")
    assert list(tmp_path.iterdir()) == []


def test_save_failure_leaves_no_partial_file(small_fig, tmp_path, monkeypatch):
    def broken(path, **kwargs):
        Path(path).write_bytes(b"partial")
        raise RuntimeError("disk full")

    monkeypatch.setattr(small_fig, "savefig", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        plot.save(small_fig, tmp_path / "fig.png")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("fig", "dpi", "match"), [("x", 100, "Figure"), (None, 0, "dpi=0")])
def test_save_bad_arguments(small_fig, tmp_path, fig, dpi, match):
    with pytest.raises(ParameterError, match=match):
        plot.save(small_fig if fig is None else fig, tmp_path / "f.png", dpi=dpi)


def test_plot_is_the_only_matplotlib_user():
    import sfm_audio

    root = Path(sfm_audio.__file__).parent
    users = sorted(
        str(p.relative_to(root)) for p in root.rglob("*.py")
        if "import matplotlib" in p.read_text() or "from matplotlib" in p.read_text()
    )
    assert users and all(u.startswith("plot/") for u in users)  # the plot package only


# --------------------------------------------------------------------------- controls, layout


def test_flatness_linear_axis_keeps_dc_and_db_range(spectrogram):
    spec_db, freqs, times, sfm, frame_times, sfm_db, tonality = spectrogram
    fig = plot.flatness(spec_db, freqs, times, sfm, frame_times, sfm_db=sfm_db,
                        freq_scale="linear", db_range=None, colorbar_label="Power (dBFS)")
    ax_spec, ax3 = fig.axes[0], fig.axes[2]
    assert ax_spec.get_yscale() == "linear"
    (mesh,) = _meshes(ax_spec)
    np.testing.assert_array_equal(np.asarray(mesh.get_array()), spec_db)  # DC row included
    assert ax_spec.get_ylim() == pytest.approx((0.0, freqs[-1] + 62.5))
    lo, hi = ax3.get_ylim()  # None: fitted to the data
    assert lo <= sfm_db.min() and hi >= sfm_db.max() and (lo, hi) != plot.DB_RANGE
    assert fig.axes[-1].get_ylabel() == "Power (dBFS)"
    fig = plot.flatness(spec_db, freqs, times, sfm, frame_times, sfm_db=sfm_db,
                        db_range=(-20, 3))
    assert fig.axes[2].get_ylim() == (-20.0, 3.0)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"freq_scale": "mel"}, "freq_scale='mel' must be one of log, linear"),
        ({"db_range": (0, -5)}, "db_range=0,-5 must be finite with LOW < HIGH"),
        ({"db_range": 5}, "db_range=5 must be two numbers"),
        ({"cmap": "nope"}, "cmap='nope' is not a matplotlib colour map"),
        ({"subfigure": "fig"}, "must be a matplotlib Figure or SubFigure"),
    ],
)
def test_flatness_bad_controls(spectrogram, kwargs, match):
    spec_db, freqs, times, sfm, frame_times, _, _ = spectrogram
    with pytest.raises(ParameterError, match=match):
        plot.flatness(spec_db, freqs, times, sfm, frame_times, **kwargs)


def test_check_cmap_uses_the_registry():
    import matplotlib as mpl

    for name in ("magma", "gray_r", "tab20"):
        assert name in mpl.colormaps and plot.check_cmap(name) == name
    for bad in ("Magma_", "", None, 3):
        with pytest.raises(ParameterError, match="is not a matplotlib colour map"):
            plot.check_cmap(bad)


def test_stacked_draws_one_row_per_subfigure(spectrogram):
    spec_db, freqs, times, sfm, frame_times, _, _ = spectrogram
    fig, rows = plot.stacked(1, (4.0, 3.0))
    assert rows == [fig]
    fig, rows = plot.stacked(3, (4.0, 6.0))
    assert len(rows) == 3 and all(r.figure is fig for r in rows)
    out = plot.flatness(spec_db, freqs, times, sfm, frame_times, subfigure=rows[1], title="B")
    assert out is fig and rows[1].get_suptitle() == "B" and len(rows[1].axes) == 3
    with pytest.raises(ParameterError, match="n=0 must be a positive integer"):
        plot.stacked(0, (4.0, 3.0))


def test_fit_text_wraps_a_long_title_and_shrinks_type():
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = plot.rd({"KLT": ([0.5, 1.0], [3.0, 6.0])}, title="a very long title " * 8,
                  figsize=(3.0, 2.5))
    assert plot.fit_text(fig) < 1.0
    assert "\n" in fig.axes[0].get_title()
    renderer = FigureCanvasAgg(fig).get_renderer()
    box = fig.get_tightbbox(renderer)  # inches
    assert box.x0 >= -0.01 and box.y0 >= -0.01
    assert box.x1 <= 3.01 and box.y1 <= 2.51
    roomy = plot.rd({"KLT": ([0.5, 1.0], [3.0, 6.0])}, title="short", figsize=(8.0, 6.0))
    assert plot.fit_text(roomy) == 1.0 and roomy.axes[0].get_title() == "short"
    with pytest.raises(ParameterError, match="must be a matplotlib Figure"):
        plot.fit_text("figure")
