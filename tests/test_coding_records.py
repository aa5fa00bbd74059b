"""sfm_audio.coding.records: the coding report's typed records, their JSON and its documentation."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner
from scipy.signal import lfilter

from sfm_audio import defaults
from sfm_audio.cli import main
from sfm_audio.coding import records, run_experiment
from sfm_audio.coding.records import SCHEMA, CodingReport, Lossless


@pytest.fixture(scope="module")
def ar1_wav(tmp_path_factory):
    rng = np.random.default_rng(1)
    y = 0.1 * lfilter([np.sqrt(1 - 0.81)], [1, -0.9], rng.standard_normal(24000))
    path = tmp_path_factory.mktemp("records") / "ar1.wav"
    sf.write(path, y, 16000, subtype="PCM_16")
    return path


@pytest.fixture(scope="module")
def report(ar1_wav) -> CodingReport:
    return run_experiment(ar1_wav, blocks=[4, 8], rates=[1.0, 2.0], orders=[1, 2],
                          duality_block=256).report


def _keys(value, prefix=""):
    """Every key of a JSON value, recursively (transform names, which are data, left out)."""
    if isinstance(value, dict):
        for k, v in value.items():
            if k not in defaults.TRANSFORMS:
                yield k
            yield from _keys(v)
    elif isinstance(value, list):
        for v in value:
            yield from _keys(v)


def test_json_round_trip(report):
    data = report.to_dict()
    assert list(data)[0] == "schema" and data["schema"] == SCHEMA == 2
    text = json.dumps(data, allow_nan=False)  # JSON-ready: no numpy scalars, no NaN
    again = CodingReport.from_dict(json.loads(text))
    assert again == report
    assert again.to_dict() == data


def test_every_json_key_is_documented(report):
    doc = records.__doc__
    documented = set(re.findall(r'"(\w+)"', doc))
    missing = sorted(set(_keys(report.to_dict())) - documented)
    assert missing == []


def test_records_are_read_by_attribute(report):
    assert report.block_sizes == (4, 8)
    section = report.block(8)
    assert [p.rate for p in section.rd] == [1.0, 2.0]
    assert set(section.rd[0].measured) == set(defaults.TRANSFORMS)
    klt = section.transforms["klt"]
    assert len(klt.variances) == 8 and klt.heldout_coding_gain_db is not None
    assert section.column("mdct", "heldout_coding_gain_db") != section.column(
        "mdct", "heldout_coding_gain_db")  # NaN: the MDCT is not held out
    assert isinstance(report.lossless, Lossless)
    assert [p.order for p in report.prediction] == [1, 2]
    assert report.duality is not None and report.duality.block == 256
    with pytest.raises(KeyError):
        report.block(16)
    with pytest.raises(AttributeError):
        report.file = "other"  # frozen


def test_optional_fields_are_left_out_while_none(report):
    mdct = report.block(8).transforms["mdct"].to_dict()
    assert "heldout_each_db" not in mdct
    assert len(report.block(8).transforms["klt"].to_dict()["heldout_each_db"]) == 2


def test_a_schema_1_report_still_reads(report):
    data = report.to_dict()
    del data["schema"]
    assert CodingReport.from_dict(data) == report


def test_cli_prints_the_same_text_from_the_record_and_its_json(report, capsys):
    from sfm_audio.cli.code import _print_report

    _print_report(report)
    from_record = capsys.readouterr().out
    _print_report(report.to_dict())
    assert capsys.readouterr().out == from_record
    assert "coding gain, dB (in-sample): KLT" in from_record


def test_code_help_points_to_the_json_shape():
    result = CliRunner().invoke(main, ["code", "--help"])
    assert result.exit_code == 0
    assert "sfm_audio.coding.records" in result.output
    # the options' defaults are the library's
    from sfm_audio.cli.code import code

    given = {p.name: p.default for p in code.params}
    assert given["rates"] == defaults.csv(defaults.RATES) == "0.5,1,2,4"
    assert given["blocks"] == "32" and given["duality_block"] == defaults.DUALITY_BLOCK
