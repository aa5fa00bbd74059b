"""The union of several files' columns (sfm_audio.columns)."""

import pytest

from sfm_audio import ParameterError
from sfm_audio.columns import Column, frame_schema, union_schema


def _names(schema):
    return [c.name for c in schema]


def test_union_keeps_each_files_order_and_puts_bands_in_frequency_order():
    low = frame_schema(["sfm", "sfm_band_62_88", "sfm_band_125_177", "crest_band_62_88",
                        "crest_band_125_177"])
    high = frame_schema(["sfm", "sfm_band_62_88", "sfm_band_125_177", "sfm_band_1000_1414",
                         "crest_band_62_88", "crest_band_125_177", "crest_band_1000_1414"])
    # the same top band clipped at two Nyquist frequencies: two columns, lower edge first
    clipped = frame_schema(["sfm", "sfm_band_62_88", "sfm_band_125_150", "crest_band_62_88",
                            "crest_band_125_150"])
    for order in ([low, high, clipped], [clipped, high, low], [high, clipped, low]):
        assert _names(union_schema(order)) == [
            "frame", "time_s", "sfm", "sfm_band_62_88", "sfm_band_125_150", "sfm_band_125_177",
            "sfm_band_1000_1414", "crest_band_62_88", "crest_band_125_150",
            "crest_band_125_177", "crest_band_1000_1414"]
    assert union_schema([low]) == low and union_schema([low, low]) == low
    assert union_schema([]) == []


def test_union_refuses_a_column_of_two_types():
    with pytest.raises(ParameterError, match="column 'x' is int in one file and value"):
        union_schema([[Column("x", "int")], [Column("x", "value")]])


def test_union_of_schemas_that_disagree_on_order_keeps_every_column_once():
    a = [Column("p", "value"), Column("q", "value")]
    b = [Column("q", "value"), Column("p", "value"), Column("r", "value")]
    assert _names(union_schema([a, b])) == ["p", "q", "r"]
