"""geo.layers.join: age column names, group sums, straddling bands, sums given by hand, and codes without zeros."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from geo.io import MappingError
from geo.layers.join import (
    AgeBand,
    configured_groups,
    join_codes,
    join_values,
    parse_age_column,
    parse_sum,
    plan_join,
)


@pytest.mark.parametrize(
    ("name", "band"),
    [
        ("age_0", AgeBand(0, 1)),
        ("Alter_17", AgeBand(17, 18)),
        ("a5", AgeBand(5, 6)),
        ("42", AgeBand(42, 43)),
        ("95+", AgeBand(95, None)),
        ("Alter 90 und älter", AgeBand(90, None)),
        ("age_85_and_over", AgeBand(85, None)),
        ("0-2", AgeBand(0, 3)),
        ("6 - 9", AgeBand(6, 10)),
        ("Aged 0 to 4", AgeBand(0, 5)),
        ("6 bis unter 15", AgeBand(6, 15)),
    ],
)
def test_age_column_names_are_read_as_bands(name: str, band: AgeBand) -> None:
    parsed = parse_age_column(name)
    assert parsed is not None and parsed[1] == band


@pytest.mark.parametrize("name", ["under_6", "pop_over_65", "column_3", "2019", "Einwohner", "18_27", "5-3"])
def test_names_that_are_not_one_age_or_band(name: str) -> None:
    assert parse_age_column(name) is None


def test_the_configured_groups_are_the_stored_bands() -> None:
    groups = configured_groups()
    assert groups["pop_under_6"] == AgeBand(0, 6)
    assert groups["pop_6_15"] == AgeBand(6, 15)
    assert groups["pop_over_65"] == AgeBand(65, None)
    # Together they count everyone once: each band starts where the one before ends.
    bands = sorted(groups.values(), key=lambda b: b.low)
    assert [b.low for b in bands[1:]] == [b.high for b in bands[:-1]]


def test_single_years_are_summed_into_each_group_they_cover() -> None:
    columns = ["code", *(f"age_{a}" for a in range(90)), "90+"]
    plan = plan_join(columns, "code=CODE")
    assert plan.key_column == "code"
    assert plan.sources["pop_under_6"].columns == [f"age_{a}" for a in range(6)]
    assert plan.sources["pop_15_18"].columns == ["age_15", "age_16", "age_17"]
    assert plan.sources["pop_over_65"].columns == [*(f"age_{a}" for a in range(65, 90)), "90+"]
    assert plan.age_columns["90+"] == "ages 90 and over"
    assert plan.notes == []


def test_a_group_the_columns_do_not_cover_is_left_out_with_a_note() -> None:
    plan = plan_join(["code", *(f"a{a}" for a in range(80))], "code=code")
    assert "pop_over_65" not in plan.sources
    assert "pop_55_65" in plan.sources
    assert any("ages from 80 are not in the table" in note for note in plan.notes)


def test_a_band_across_a_group_boundary_is_refused() -> None:
    with pytest.raises(
        MappingError, match=r"'10-16' counts ages 10 to 16, which straddles the boundary at age 15"
    ):
        plan_join(["code", "0-5", "6-9", "10-16", "17"], "code=code")


def test_a_straddling_band_is_fine_when_both_groups_are_mapped_by_hand() -> None:
    plan = plan_join(
        ["code", "0-5", "6-9", "10-16", "x", "y"],
        "code=code",
        {"pop_6_15": "x", "pop_15_18": "y"},
    )
    assert plan.sources["pop_under_6"].columns == ["0-5"]
    assert plan.sources["pop_6_15"].how == "given"


def test_single_years_beside_broad_bands_are_summed_and_the_bands_left_out() -> None:
    # The ONS mid-year estimates: all_ages, three broad bands, then single years 0 ... 89 and 90+.
    columns = ["area_code", "all_ages", "aged_0_to_15", "aged_16_to_64", "aged_65_and_over"]
    columns += [*(str(a) for a in range(90)), "90+"]
    plan = plan_join(columns, "code=area_code")
    assert plan.sources["pop_under_6"].columns == ["0", "1", "2", "3", "4", "5"]
    assert plan.sources["pop_over_65"].columns == [*(str(a) for a in range(65, 90)), "90+"]
    assert plan.sources["population"].columns == ["all_ages"]
    assert not any("aged_" in c for source in plan.sources.values() for c in source.columns)
    assert any("'aged_0_to_15'" in note and "not used" in note for note in plan.notes)


def test_two_sets_of_ages_are_not_guessed_between() -> None:
    plan = plan_join(
        ["code", *(f"m_{a}" for a in range(6)), *(f"w_{a}" for a in range(6))],
        "code=code",
        {"population": "m_0"},
    )
    assert set(plan.sources) == {"population"}
    assert any("several sets of age columns" in note for note in plan.notes)


def test_sums_by_hand_name_columns_ignoring_case_even_with_a_plus_in_the_name() -> None:
    columns = ["A0", "a1", "95+", "100+"]
    assert parse_sum("a0+A1", columns) == ["A0", "a1"]
    assert parse_sum("95++100+", columns) == ["95+", "100+"]
    with pytest.raises(MappingError, match="no column 'a7'"):
        parse_sum("a0+a7", columns)
    with pytest.raises(MappingError, match="twice"):
        parse_sum("a0+a0", columns)


def test_only_counts_can_be_sums_and_the_key_must_be_code() -> None:
    with pytest.raises(MappingError, match="only counts can be sums"):
        plan_join(["code", "a", "b"], "code=code", {"name": "a+b"})
    with pytest.raises(MappingError, match="code=COLUMN"):
        plan_join(["code", "a"], "id=code")
    with pytest.raises(MappingError, match="no column 'gebiet'"):
        plan_join(["code", "a"], "code=gebiet")
    with pytest.raises(MappingError, match="a join can fill name, level, parent_code"):
        plan_join(["code", "a"], "code=code", {"geometry": "a"})


def test_a_parent_is_joined_only_when_named() -> None:
    # A lookup's coarser unit is not guessed as the parent: the user names it.
    assert "parent_code" not in plan_join(["lsoa", "parent_code", "einwohner"], "code=lsoa").sources
    plan = plan_join(["lsoa", "msoa"], "code=lsoa", {"parent_code": "MSOA"})
    assert plan.sources["parent_code"].columns == ["msoa"]


def test_codes_stored_as_numbers_get_their_zeros_back_only_when_the_city_codes_agree() -> None:
    values = pd.Series(["0110", 120, 130.0, "140", None, 12345], dtype=object)
    rows = np.arange(1, 7)
    found = join_codes(values, rows, ["0110", "0120", "0130"])
    assert found.codes.tolist() == ["0110", "0120", "0130", "140", None, "12345"]
    assert found.padded == [(2, "120", "0120"), (3, "130", "0130")]
    # Codes of different widths (or not all digits): nothing can be padded honestly.
    mixed = join_codes(values, rows, ["01", "0110"])
    assert mixed.codes.tolist()[:3] == ["0110", "120", "130"]
    assert mixed.padded == []


def test_values_are_summed_per_row_and_a_bad_count_names_its_row_and_column() -> None:
    frame = pd.DataFrame(
        {
            "row_number": [1, 2, 3],
            "code": ["01", "02", "03"],
            "a0": ["1", "2", None],
            "a1": ["10", "zwei", "3"],
        }
    )
    plan = plan_join(list(frame.columns[1:]), "code=code", {"pop_under_6": "a0+a1"})
    values, problems = join_values(frame, plan, frame["code"].astype(object))
    assert values["pop_under_6"].tolist()[0] == 11
    assert values["pop_under_6"].isna().tolist() == [False, True, True]
    errors = [(p.row_number, p.source_id, p.field) for p in problems if p.severity == "error"]
    assert errors == [(2, "02", "pop_under_6 (a1)")]
    warnings = [(p.row_number, p.field) for p in problems if p.severity == "warning"]
    assert warnings == [(3, "pop_under_6")]
