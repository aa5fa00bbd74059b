"""sfm-audio code --gains: one CSV row per file and operating point, the same in the JSON."""

import csv
import json

import pytest
from click.testing import CliRunner

from sfm_audio.cli import main
from sfm_audio.coding.gains import GAINS_COLUMNS


@pytest.mark.slow
def test_gains_csv_and_json_agree(tmp_path, speech):
    out, report = tmp_path / "g.csv", tmp_path / "r.json"
    result = CliRunner().invoke(main, ["code", str(speech), "--block", "16", "--rates", "2",
                                       "--gains", str(out), "--pcm-bits", "8,4",
                                       "--json", str(report)])
    assert result.exit_code == 0, result.output
    with open(out) as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == list(GAINS_COLUMNS)
    assert [int(r["pcm_bits"]) for r in rows] == [4, 8]
    data = json.loads(report.read_text())["gains"]
    for row, entry in zip(rows, data):
        for key in ("measured_stationary_db", "predicted_stationary_db",
                    "measured_adaptive_db", "predicted_adaptive_db"):
            assert float(row[key]) == pytest.approx(entry[key], rel=1e-8)
    # speech: the adaptive coder gains more than the stationary one
    assert all(float(r["measured_adaptive_db"]) > float(r["measured_stationary_db"])
               for r in rows)


def test_bad_pcm_bits_is_one_error_line_and_no_output(tmp_path, speech):
    out = tmp_path / "g.csv"
    result = CliRunner().invoke(main, ["code", str(speech), "--gains", str(out),
                                       "--pcm-bits", "1"])
    assert result.exit_code != 0
    assert "--pcm-bits" in result.output and "Error" in result.output
    assert not out.exists()
