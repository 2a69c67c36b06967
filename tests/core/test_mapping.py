"""The mapping engine: one test per rule of the vocabulary, on small inline tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from trialflow.errors import SpecError
from trialflow.mapping import (
    _interleaved,
    categorical,
    evaluate_condition,
    factor,
    factorised,
    map_dataset,
    sort_frame,
)

from .helpers import context, spec, var

DEMO = pd.DataFrame({"SUBJID": ["001", "002", "003"], "SEX": ["female", "M", "X"],
                     "RACE": ["Asian", "", "Martian"], "DT": ["05-JUN-2016", "UN-JUN-2016", ""],
                     "TM": ["10:30", "", ""], "DOSE": ["75", "", "abc"],
                     "DRUG": ["CAPECITABINE", "DOCETAXEL", "ERIBULIN"]})


def _map(*variables, sources=None, **forms) -> tuple[pd.DataFrame, object]:
    ctx = context(**({"demo": DEMO} | forms))
    s = spec(*variables, sources=sources or ({"id": "main", "form": "demo"},))
    return map_dataset(ctx, s), ctx


def test_assign_without_ct_copies_stripped_text() -> None:
    out, _ = _map(var("SUBJID", {"assign": "SUBJID"}))
    assert out["SUBJID"].tolist() == ["001", "002", "003"]


def test_assign_through_codelist_maps_synonyms_to_submission_values() -> None:
    out, _ = _map(var("SUBJID", {"assign": "SUBJID"}),
                  var("SEX", {"assign": "SEX", "codelist": "SEX"}))
    assert out["SEX"].tolist()[:2] == ["F", "M"]


def test_assign_through_codelist_decode() -> None:
    out, _ = _map(var("SUBJID", {"assign": "SUBJID"}),
                  var("SEXD", {"assign": "SEX", "codelist": "SEX", "decode": True}))
    assert out["SEXD"].tolist()[:2] == ["Female", "Male"]


def test_ct_unmapped_value_is_a_finding_naming_form_row_variable_value() -> None:
    out, ctx = _map(var("SUBJID", {"assign": "SUBJID"}),
                    var("SEX", {"assign": "SEX", "codelist": "SEX"}))
    [f] = ctx.findings
    assert (f.source, f.row, f.variable, f.value, f.rule, f.severity) == (
        "demo.csv", 3, "SEX", "X", "ct_unmapped", "error")
    assert "XX.SEX" in f.message and "SEX" in f.message
    assert out["SEX"].iloc[2] == "X"  # kept as collected, not a silent NA


def test_ct_unmapped_value_in_extensible_codelist_is_a_warning() -> None:
    out, ctx = _map(var("SUBJID", {"assign": "SUBJID"}),
                    var("RACE", {"assign": "RACE", "codelist": "RACE"}))
    assert [(f.row, f.value, f.severity) for f in ctx.findings] == [(3, "Martian", "warning")]
    assert out["RACE"].tolist() == ["ASIAN", "", "MARTIAN"]


def test_hardcode_value() -> None:
    out, _ = _map(var("SUBJID", {"assign": "SUBJID"}), var("DOMAIN", {"hardcode": "DM"}),
                  var("N", {"hardcode": 3}, type_="Num", length=8))
    assert out["DOMAIN"].tolist() == ["DM"] * 3 and out["N"].tolist() == [3.0] * 3


def test_hardcode_value_outside_its_codelist_is_a_spec_error() -> None:
    with pytest.raises(SpecError, match="not a term of codelist NY"):
        _map(var("SUBJID", {"assign": "SUBJID"}),
             var("FL", {"hardcode": "YES", "codelist": "NY"}))


def test_iso8601_keeps_partial_dates_partial() -> None:
    out, ctx = _map(var("SUBJID", {"assign": "SUBJID"}), var("DTC", {"iso8601": "DT"}))
    assert out["DTC"].tolist() == ["2016-06-05", "2016-06", ""]
    assert ctx.findings == []


def test_iso8601_appends_collected_time_to_complete_dates() -> None:
    out, _ = _map(var("SUBJID", {"assign": "SUBJID"}),
                  var("DTC", {"iso8601": "DT", "time": "TM"}))
    assert out["DTC"].tolist() == ["2016-06-05T10:30", "2016-06", ""]


def test_iso8601_invalid_date_is_a_finding() -> None:
    bad = DEMO.assign(DT=["31-FEB-2016", "", ""])
    out, ctx = _map(var("SUBJID", {"assign": "SUBJID"}), var("DTC", {"iso8601": "DT"}),
                    demo=bad)
    assert out["DTC"].iloc[0] == ""
    assert [(f.row, f.value, f.rule) for f in ctx.findings] == [(1, "31-FEB-2016", "iso8601")]


def test_map_declared_values_with_default() -> None:
    out, _ = _map(var("SUBJID", {"assign": "SUBJID"}),
                  var("ROUTE", {"map": "DRUG", "values": {"Capecitabine": "ORAL"},
                                "default": "INTRAVENOUS"}))
    assert out["ROUTE"].tolist() == ["ORAL", "INTRAVENOUS", "INTRAVENOUS"]


def test_map_value_not_listed_is_a_finding() -> None:
    out, ctx = _map(var("SUBJID", {"assign": "SUBJID"}),
                    var("ROUTE", {"map": "DRUG", "values": {"CAPECITABINE": "ORAL",
                                                            "DOCETAXEL": "INTRAVENOUS"}}))
    assert [(f.row, f.value, f.rule) for f in ctx.findings] == [(3, "ERIBULIN",
                                                                  "value_unmapped")]


def test_number_converts_text_and_reports_non_numbers() -> None:
    out, ctx = _map(var("SUBJID", {"assign": "SUBJID"}),
                    var("DOSE", {"number": "DOSE"}, type_="Num", length=8))
    assert out["DOSE"].iloc[0] == 75.0 and np.isnan(out["DOSE"].iloc[1:]).all()
    assert [(f.row, f.value, f.rule) for f in ctx.findings] == [(3, "abc", "number")]


def test_when_restricts_the_rows_a_rule_writes() -> None:
    out, _ = _map(var("SUBJID", {"assign": "SUBJID"}),
                  var("FL", {"hardcode": "Y", "when": {"column": "SEX", "op": "eq",
                                                       "value": "F", "codelist": "SEX"}}))
    assert out["FL"].tolist() == ["Y", "", ""]


def test_rule_list_first_matching_rule_writes_each_row() -> None:
    rules = [{"hardcode": "first", "when": {"column": "SUBJID", "op": "eq", "value": "001"}},
             {"hardcode": "second", "when": {"column": "SUBJID", "op": "in",
                                             "value": ["001", "002"]}},
             {"assign": "DRUG"}]
    out, _ = _map(var("SUBJID", {"assign": "SUBJID"}), var("X", rules))
    assert out["X"].tolist() == ["first", "second", "ERIBULIN"]


@pytest.mark.parametrize(("cond", "expected"), [
    ({"column": "SUBJID", "op": "eq", "value": "002"}, [False, True, False]),
    ({"column": "SUBJID", "op": "ne", "value": "002"}, [True, False, True]),
    ({"column": "SUBJID", "op": "in", "value": ["001", "003"]}, [True, False, True]),
    ({"column": "SUBJID", "op": "not_in", "value": ["001", "003"]}, [False, True, False]),
    ({"column": "RACE", "op": "blank"}, [False, True, False]),
    ({"column": "RACE", "op": "present"}, [True, False, True]),
    ({"column": "DOSE", "op": "gt", "value": 50}, [True, False, False]),
    ({"column": "DOSE", "op": "le", "value": 75}, [True, False, False]),
    ({"column": "DRUG", "op": "eq", "value": "  capecitabine "}, [True, False, False]),
    ({"all": [{"column": "RACE", "op": "present"}, {"column": "SUBJID", "op": "ne",
                                                    "value": "001"}]}, [False, False, True]),
    ({"any": [{"column": "RACE", "op": "blank"}, {"column": "SUBJID", "op": "eq",
                                                  "value": "001"}]}, [True, True, False]),
    ({"not": {"column": "RACE", "op": "blank"}}, [True, False, True]),
])
def test_structured_conditions(cond: dict, expected: list[bool]) -> None:
    ctx = context(demo=DEMO)
    s = spec(var("SUBJID", {"assign": "SUBJID"}))
    assert evaluate_condition(cond, ctx.raw["demo"], ctx, s).tolist() == expected


def test_merge_with_another_form_by_key() -> None:
    other = pd.DataFrame({"SUBJID": ["002", "001"], "ARM": ["B", "A"]})
    out, _ = _map(var("SUBJID", {"assign": "SUBJID"}), var("ARM", {"assign": "rand.ARM"}),
                  sources=({"id": "main", "form": "demo",
                            "merge": [{"form": "rand", "on": ["SUBJID"]}]},), rand=other)
    assert out["ARM"].tolist() == ["A", "B", ""]


def test_required_merge_rejects_records_without_a_partner() -> None:
    other = pd.DataFrame({"SUBJID": ["001"], "ARM": ["A"]})
    out, ctx = _map(var("SUBJID", {"assign": "SUBJID"}),
                    sources=({"id": "main", "form": "demo",
                              "merge": [{"form": "rand", "required": True,
                                         "reason": "not randomised"}]},), rand=other)
    assert out["SUBJID"].tolist() == ["001"]
    rejected = pd.concat(ctx.rejections)
    assert rejected[["row", "reason"]].values.tolist() == [[2, "not randomised"],
                                                            [3, "not randomised"]]


def test_source_block_condition_records_the_reason_for_rows_it_leaves() -> None:
    out, ctx = _map(var("SUBJID", {"assign": "SUBJID"}),
                    sources=({"id": "main", "form": "demo",
                              "when": {"column": "RACE", "op": "present"},
                              "unmapped": "no race"},))
    assert out["SUBJID"].tolist() == ["001", "003"]
    assert pd.concat(ctx.rejections)[["form", "row", "reason"]].values.tolist() == [
        ["demo", 2, "no race"]]


def test_melt_makes_one_record_per_item_with_provenance() -> None:
    qs = pd.DataFrame({"SUBJID": ["001", "002"], "Q1": ["1", ""], "Q2": ["3", "4"]})
    out, _ = _map(var("SUBJID", {"assign": "SUBJID"}), var("TESTCD", {"assign": "ITEM"}),
                  var("ORRES", {"assign": "RESULT"}),
                  sources=({"id": "q", "form": "qs",
                            "melt": {"columns": ["Q1", "Q2"], "name": "ITEM",
                                     "value": "RESULT"}},), qs=qs)
    assert out[["SUBJID", "TESTCD", "ORRES", "_ROW"]].values.tolist() == [
        ["001", "Q1", "1", 1], ["001", "Q2", "3", 1], ["002", "Q1", "", 2],
        ["002", "Q2", "4", 2]]


def test_melt_drop_blank_leaves_out_unanswered_items() -> None:
    qs = pd.DataFrame({"SUBJID": ["001"], "Q1": [""], "Q2": ["3"]})
    out, _ = _map(var("SUBJID", {"assign": "SUBJID"}), var("TESTCD", {"assign": "ITEM"}),
                  sources=({"id": "q", "form": "qs",
                            "melt": {"columns": ["Q1", "Q2"], "drop_blank": True}},), qs=qs)
    assert out["TESTCD"].tolist() == ["Q2"]


def test_block_set_overrides_variable_rules_per_source() -> None:
    out, _ = _map(var("SUBJID", {"assign": "SUBJID"}), var("CAT"),
                  sources=({"id": "a", "form": "demo", "set": {"CAT": {"hardcode": "A"}}},
                           {"id": "b", "form": "demo", "set": {"CAT": {"hardcode": "B"}},
                            "when": {"column": "SUBJID", "op": "eq", "value": "001"}}))
    assert sorted(out["CAT"]) == ["A", "A", "A", "B"]


def test_rule_may_read_a_variable_of_the_same_dataset_computed_later_in_spec_order() -> None:
    out, _ = _map(var("SUBJID", {"assign": "SUBJID"}),
                  var("SEXD", {"assign": "XX.SEX", "codelist": "SEX", "decode": True}),
                  var("SEX", {"assign": "SEX", "codelist": "SEX"}))
    assert out["SEXD"].tolist()[:2] == ["Female", "Male"]


def test_variable_without_a_rule_is_a_spec_error() -> None:
    with pytest.raises(SpecError, match="no rule says where X comes from"):
        _map(var("SUBJID", {"assign": "SUBJID"}), var("X"))


@pytest.mark.parametrize("rule", [{"assign": "SEX", "hardcode": "F"}, {"copy": "SEX"},
                                  {"assign": "SEX", "colour": "red"}, "SEX"])
def test_rule_outside_the_vocabulary_is_a_spec_error(rule: object) -> None:
    with pytest.raises(SpecError):
        _map(var("SUBJID", {"assign": "SUBJID"}), var("X", rule))


def test_rule_naming_a_missing_column_is_a_spec_error() -> None:
    with pytest.raises(SpecError, match="column 'NOPE'"):
        _map(var("SUBJID", {"assign": "SUBJID"}), var("X", {"assign": "NOPE"}))


def test_literal_rows_take_constants_from_variable_rules() -> None:
    ctx = context(demo=DEMO)
    s = spec(var("STUDYID", {"derive": "study_field", "params": {"field": "id"}}),
             var("DOMAIN", {"hardcode": "TE"}), var("ETCD"), var("TITLE"),
             sources=(), rows=({"ETCD": "A", "TITLE": {"study": "title"}}, {"ETCD": "B"}),
             sort=("ETCD",))
    out = map_dataset(ctx, s)
    assert out[["STUDYID", "DOMAIN", "ETCD", "TITLE"]].values.tolist() == [
        ["STUDY1", "TE", "A", "A study"], ["STUDY1", "TE", "B", ""]]


def test_sort_puts_missing_values_first_as_sas_does() -> None:
    frame = pd.DataFrame({"K": ["b", "", "a"], "N": [2.0, 1.0, np.nan]})
    assert sort_frame(frame, ["K"])["K"].tolist() == ["", "a", "b"]
    assert sort_frame(frame, ["N"])["N"].isna().tolist() == [True, False, False]


def test_sort_by_several_keys_is_stable_and_matches_a_lexsort() -> None:
    rng = np.random.default_rng(7)
    frame = pd.DataFrame({"A": rng.choice(["x", "y", ""], 200),
                          "N": rng.choice([1.0, 2.0, np.nan], 200), "ID": np.arange(200)})
    expected = frame.sort_values(["A", "N"], kind="mergesort", na_position="first")
    assert sort_frame(frame, ["A", "N"])["ID"].tolist() == expected["ID"].tolist()
    # More key combinations than an int64 holds: the keys are lexsorted instead.
    wide = pd.DataFrame({f"K{i}": rng.integers(0, 2 ** 20, 50) for i in range(4)})
    keys = list(wide.columns)
    assert sort_frame(wide, keys).equals(
        wide.sort_values(keys, kind="mergesort").reset_index(drop=True))


def test_spec_loader_rejects_a_malformed_source_block(tmp_path) -> None:
    import yaml

    from trialflow.spec import load_dataset_spec

    doc = {"dataset": {"name": "XX", "label": "X", "class": "C", "structure": "S",
                       "standard": "SDTMIG 3.4", "keys": ["A"], "sort": ["A"]},
           "variables": [{"name": "A", "label": "A", "type": "Char", "length": 1,
                          "origin": "Assigned", "mandatory": False, "rule": {"hardcode": "x"}}],
           "sources": [{"id": "s", "form": "ae", "melt": {"name": "ITEM"}}]}
    path = tmp_path / "xx.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    with pytest.raises(SpecError, match="sources") as info:
        load_dataset_spec(path)
    assert str(path) in str(info.value)


def test_raw_forms_as_categoricals_map_to_the_values_text_forms_give() -> None:
    """build_sdtm maps factorised raw forms: every rule must treat them as text forms."""
    rand = pd.DataFrame({"SUBJID": [" 002", "001"], "ARM": ["B", "A"]})
    variables = (var("SUBJID", {"assign": "SUBJID"}),
                 var("SEX", {"assign": "SEX", "codelist": "SEX"}),
                 var("RACE", {"assign": "RACE", "codelist": "RACE"}),
                 var("DTC", {"iso8601": "DT", "time": "TM"}),
                 var("ROUTE", {"map": "DRUG", "values": {"CAPECITABINE": "ORAL"},
                               "default": "IV"}),
                 var("DOSE", {"number": "DOSE"}, type_="Num", length=8),
                 var("FL", [{"hardcode": "Y", "when": {"column": "SEX", "op": "in",
                                                       "value": ["F", "female"]}},
                            {"assign": "rand.ARM"}]))
    sources = ({"id": "main", "form": "demo", "merge": [{"form": "rand", "on": ["SUBJID"]}],
                "when": {"column": "DOSE", "op": "ne", "value": "0"}},)
    results = []
    for as_categories in (False, True):
        ctx = context(demo=DEMO, rand=rand)
        if as_categories:
            ctx.raw = {name: factorised(frame) for name, frame in ctx.raw.items()}
        out = map_dataset(ctx, spec(*variables, sources=sources))
        results.append((out.astype(object).where(out.notna(), None).values.tolist(),
                        [(f.row, f.variable, f.value, f.rule) for f in ctx.findings]))
    assert results[0] == results[1]


def test_interleaved_is_the_factorised_cells_record_by_record() -> None:
    values = np.array(["a", " a", "", "b", np.nan], dtype=object)
    rng = np.random.default_rng(1)
    for n, k in ((0, 1), (1, 3), (7, 2), (12, 3)):
        frame = pd.DataFrame({f"Q{j}": values[rng.integers(0, 5, n)] for j in range(k)})
        index = pd.RangeIndex(n * k)
        cells = pd.Series(frame.to_numpy(dtype=object).reshape(-1), dtype=object)
        expected = categorical(*factor(cells), index).array
        got = _interleaved([frame[c] for c in frame.columns], index).array
        assert got.categories.equals(expected.categories)
        assert got.codes.tolist() == expected.codes.tolist()
