"""The table readers are strict: text values, real line numbers, every problem, bounded."""

import os

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from credence.calibration import expected_calibration_error, reliability_diagram
from credence.discovery import TruthDiscovery, encode_reports, read_reports
from credence.discovery.dask import DaskTruthDiscovery
from credence.discovery.table import MAX_CELLS, read_gold
from credence.errors import MAX_SHOWN_PROBLEMS, CaseError


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8", newline="")
    return path


def test_fifo_and_device_are_refused_at_once(tmp_path):
    fifo = tmp_path / "reports.csv"
    os.mkfifo(fifo)
    for reader in (read_reports, read_gold):
        with pytest.raises(CaseError, match="a FIFO, not a regular file"):
            reader(fifo)
    with pytest.raises(CaseError, match="a device"):
        read_reports("/dev/zero")
    parquet = tmp_path / "r.parquet"
    os.mkfifo(parquet)
    with pytest.raises(CaseError, match="not a regular file"):
        read_reports(parquet)


def test_na_none_null_are_ids(tmp_path):
    path = write(tmp_path, "r.csv", "claim,source,label\nNA,None,null\nNA,nan,N/A\n007,None,N/A\n")
    df = read_reports(path)
    assert df["claim"].tolist() == ["NA", "NA", "007"]
    assert df["source"].tolist() == ["None", "nan", "None"]
    reports = encode_reports(df)
    assert reports.classes.tolist() == ["N/A", "null"]
    assert reports.claims.tolist() == ["007", "NA"]


def test_line_numbers_after_quoted_newlines_and_blank_lines(tmp_path):
    text = 'claim,source,label\n"one\ntwo\nthree",a,1\n\n"x\r\ny",b,\nc,,1\n'
    path = write(tmp_path, "r.csv", text)
    with pytest.raises(CaseError) as err:
        read_reports(path)
    assert [p.line for p in err.value.problems] == [6, 8]
    assert str(err.value).splitlines() == [
        f"{path}:6: column 'label': empty label",
        f"{path}:8: column 'source': empty source id",
    ]


def test_every_problem_is_listed_with_its_line(tmp_path):
    text = "claim,source,label\nc1,a\nc2,,1\nc3,a,1,9\n,,\nc4,a,1\n"
    path = write(tmp_path, "r.csv", text)
    with pytest.raises(CaseError) as err:
        read_reports(path)
    lines = [(p.line, p.message) for p in err.value.problems]
    assert lines == [
        (2, "2 fields, but the header has 3"),
        (3, "empty source id"),
        (4, "4 fields, but the header has 3"),
        (5, "empty claim id"),
        (5, "empty source id"),
        (5, "empty label"),
    ]


def test_many_problems_are_counted_not_all_kept(tmp_path):
    path = write(tmp_path, "r.csv", "claim,source,label\n" + "c,a,\n" * 5000)
    with pytest.raises(CaseError) as err:
        read_reports(path)
    lines = str(err.value).splitlines()
    assert len(lines) == MAX_SHOWN_PROBLEMS
    assert lines[-1].endswith("... and 4,981 more problems")


def test_malformed_csv_is_located(tmp_path):
    path = write(tmp_path, "r.csv", 'claim,source,label\nc1,a,1\n"c\n2"x,a,1\n')
    with pytest.raises(CaseError, match=r"r.csv:3: not valid CSV"):
        read_reports(path)
    path = write(tmp_path, "u.csv", 'claim,source,label\nc1,a,1\n"open,a,1\n')
    with pytest.raises(CaseError, match=r"u.csv:3: not valid CSV: unexpected end of data"):
        read_reports(path)


def test_duplicate_unknown_and_missing_columns(tmp_path):
    path = write(tmp_path, "r.csv", "claim,worker,lable,Claim,task\nc,a,1,c,c\n")
    with pytest.raises(CaseError) as err:
        read_reports(path)
    assert [p.message for p in err.value.problems] == [
        "columns 1 and 4 are both named 'Claim'",
        "column 1 'claim' and column 5 'task' both name the claim column",
        "unknown column 'lable'; did you mean 'label'?",
        "missing column 'label' (the columns needed are claim, source, label)",
    ]
    assert {p.line for p in err.value.problems} == {1}
    assert all(p.location == "header" for p in err.value.problems)


def test_extra_columns_are_ignored(tmp_path):
    path = write(tmp_path, "r.csv", ",task,worker,label,note\n0,c1,a,1,x\n1,c1,b,0,\n")
    assert read_reports(path)["source"].tolist() == ["a", "b"]


def test_gold_problems_name_the_gold_file(tmp_path):
    reports = write(tmp_path, "r.csv", "claim,source,label\nc1,a,1\nc1,b,0\nc2,a,0\n")
    gold = write(tmp_path, "gold.csv", "claim,label\nc1,maybe\nc2,\n")
    with pytest.raises(CaseError) as err:
        read_gold(gold)
    assert err.value.path == str(gold)
    assert str(err.value) == f"{gold}:3: column 'label': empty label"
    gold.write_text("claim,label\nc2,0\nc1,maybe\n")
    with pytest.raises(CaseError) as err:
        encode_reports(read_reports(reports), gold=read_gold(gold))
    assert err.value.path == str(gold)
    assert str(err.value).startswith(f"{gold}:3: column 'label': gold label 'maybe'")
    gold.write_text("claim,label\nc1,1\nc1,0\n")
    with pytest.raises(CaseError, match=r"gold.csv:3: claim 'c1' has two labels \(also at line 2"):
        read_gold(gold)


def test_every_duplicate_report_is_listed(tmp_path):
    text = "claim,source,label\nc1,a,1\nc1,a,0\nc2,b,1\nc2,b,1\nc2,c,0\n"
    with pytest.raises(CaseError) as err:
        encode_reports(read_reports(write(tmp_path, "r.csv", text)))
    assert [p.line for p in err.value.problems] == [3, 5]


def test_dawid_skene_with_many_labels_is_refused_before_allocating():
    n = 3_000
    df = pd.DataFrame(
        {
            "claim": np.arange(2 * n) % 100,
            "source": np.arange(2 * n) // 100,
            "label": (np.arange(2 * n) % n).astype(str),
        }
    )
    with pytest.raises(CaseError, match=r"dawid-skene needs n_sources x K\^2"):
        TruthDiscovery("dawid-skene").fit(df)
    many = pd.DataFrame(
        {
            "claim": np.arange(20_000).astype(str),
            "source": "a",
            "label": np.arange(20_000).astype(str),
        }
    )
    with pytest.raises(CaseError, match=f"more than the {MAX_CELLS:,}"):
        TruthDiscovery("one-coin").fit(many)


def test_unknown_options_name_the_valid_ones():
    with pytest.raises(
        TypeError,
        match=r"'max_iters' \(did you mean 'max_iter'\?\); valid "
        r"options: model, candidates",
    ):
        TruthDiscovery(max_iters=3)
    with pytest.raises(TypeError, match="valid options: model, npartitions, candidates"):
        DaskTruthDiscovery(nparts=3)
    with pytest.raises(TypeError, match="did you mean 'n_bins'"):
        expected_calibration_error([1], [0.5], bins=3)
    with pytest.raises(TypeError, match="did you mean 'duplicates'"):
        encode_reports(pd.DataFrame(), duplicate="first")
    with pytest.raises(TypeError, match="unknown option 'nope'"):
        TruthDiscovery().set_params(nope=1)


REPORTS = pd.DataFrame({"claim": [1, 1, 2], "source": ["a", "b", "a"], "label": [0, 1, 0]})


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("max_iter", 0, "max_iter must be from 1 to 1,000,000, not 0"),
        ("max_iter", 2.5, "max_iter must be a whole number"),
        ("max_iter", True, "max_iter must be a whole number"),
        ("tol", -1.0, "tol must be from 0 to 1"),
        ("tol", float("nan"), "tol must be finite"),
        ("reliability_prior", (1, 0), "reliability_prior must be two positive numbers"),
        ("confusion_prior", "ab", "confusion_prior must be two positive numbers"),
        ("class_prior", 0, "class_prior must be positive"),
        ("model", "two_coin", "model must be one of one-coin, two-coin, dawid-skene"),
        ("duplicates", "last", "duplicates must be one of error, first"),
    ],
)
def test_out_of_range_options(option, value, message):
    # A value of the wrong type is a TypeError, one out of range a ValueError.
    error = TypeError if "whole number" in message else ValueError
    with pytest.raises(error, match=message.replace("(", r"\(")):
        TruthDiscovery(**{option: value}).fit(REPORTS)


@pytest.mark.parametrize("n_bins", [0, 1001, 10**9, True, 2.0])
def test_bins_are_bounded(n_bins):
    error = ValueError if type(n_bins) is int else TypeError
    with pytest.raises(error, match="n_bins must be"):
        reliability_diagram([1, 0], [0.9, 0.1], n_bins=n_bins)
    assert reliability_diagram([1, 0], [0.9, 0.1], n_bins=1000).count.shape == (1000,)


CSVISH = st.lists(
    st.sampled_from(
        [
            "claim",
            "source",
            "label",
            "task",
            ",",
            "\n",
            "\r\n",
            '"',
            "a",
            "b",
            "1",
            "0",
            " ",
            "\t",
            "NA",
            "é",
            "\x1b",
            ",,",
            "\ufeff",
        ]
    ),
    max_size=40,
).map("".join)


@settings(max_examples=200, deadline=None)
@given(
    text=st.one_of(
        CSVISH.map(lambda t: "claim,source,label\n" + t), CSVISH, st.binary(max_size=200)
    )
)
def test_readers_only_succeed_or_raise_case_error(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("fuzz") / "t.csv"
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    for read in (read_reports, read_gold):
        try:
            df = read(path)
        except CaseError as err:
            assert str(err)
            continue
        if read is read_reports:
            try:
                encode_reports(df)
            except CaseError:
                pass
