"""Bad input gives one clear error naming the file, column or line; the CLI exits 2."""

import numpy as np
import pandas as pd
import pytest

from credence.cli import main
from credence.discovery import TruthDiscovery, encode_reports, read_reports
from credence.errors import CaseError

GOOD = "claim,source,label\nc1,a,1\nc1,b,0\nc2,a,0\n"

BAD_FILES = {
    "missing-column": ("claim,source\nc1,a\n", ":1: header: missing column 'label'"),
    "nan-label": ("claim,source,label\nc1,a,1\nc1,b,\nc2,a,0\n", ":3: column 'label': empty label"),
    "single-class": ("claim,source,label\nc1,a,1\nc2,a,1\n", "at least two label classes"),
    "empty": ("claim,source,label\n", "no reports"),
    "duplicate": (
        "claim,source,label\nc1,a,1\nc2,a,0\nc1,a,0\n",
        ":4: source 'a' reports on claim 'c1' twice (also at line 2)",
    ),
    "not-a-table": ("\x00\x01\x02 binary \x00", "binary data"),
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_bad_files_raise_case_error_naming_the_file(tmp_path, name):
    text, message = BAD_FILES[name]
    path = tmp_path / f"{name}.csv"
    path.write_text(text)
    with pytest.raises(CaseError) as err:
        encode_reports(read_reports(path))
    assert message in str(err.value)
    assert str(path) in str(err.value)


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_cli_exits_2_without_traceback(tmp_path, capsys, name):
    text, message = BAD_FILES[name]
    path = tmp_path / f"{name}.csv"
    path.write_text(text)
    out = tmp_path / "claims.csv"
    assert main(["discover", str(path), "-o", str(out)]) == 2
    captured = capsys.readouterr()
    assert message in captured.err
    assert "Traceback" not in captured.err
    assert captured.out == ""
    assert not out.exists()


def test_unreadable_and_missing_files(tmp_path, capsys):
    assert main(["discover", str(tmp_path / "nope.csv"), "-o", str(tmp_path / "o.csv")]) == 2
    assert "No such file" in capsys.readouterr().err
    assert main(["evaluate", str(tmp_path / "nope.csv"), "--truth", str(tmp_path / "t.csv")]) == 2
    assert "No such file" in capsys.readouterr().err


def test_mixed_id_types_in_a_dataframe():
    df = pd.DataFrame({"claim": [1, "1", 2], "source": ["a", "b", "a"], "label": [0, 1, 0]})
    with pytest.raises(CaseError, match="column 'claim': mixes types \\(int, str\\)"):
        TruthDiscovery().fit(df)


def test_nan_in_a_dataframe_names_the_row():
    df = pd.DataFrame({"claim": ["x", "y", "z"], "source": ["a", None, "a"], "label": [0, 1, 0]})
    with pytest.raises(CaseError, match="row 1, column 'source': empty source id"):
        TruthDiscovery().fit(df)


def test_two_coin_needs_two_labels():
    df = pd.DataFrame({"claim": [1, 1, 2], "source": ["a", "b", "a"], "label": [0, 1, 2]})
    with pytest.raises(CaseError, match="two-coin model needs exactly two labels"):
        TruthDiscovery("two-coin").fit(df)


def test_gold_label_outside_the_label_set(tmp_path, capsys):
    reports = tmp_path / "r.csv"
    reports.write_text(GOOD)
    gold = tmp_path / "gold.csv"
    gold.write_text("claim,label\nc1,maybe\n")
    out = str(tmp_path / "o.csv")
    assert main(["discover", str(reports), "-o", out, "--truth", str(gold)]) == 2
    assert "gold label 'maybe' of claim 'c1'" in capsys.readouterr().err


def test_crowd_kit_columns_and_duplicates_kept_first():
    df = pd.DataFrame(
        {
            "task": ["t1", "t1", "t1", "t2"],
            "worker": ["w1", "w2", "w1", "w1"],
            "label": [1, 0, 0, 0],
        }
    )
    reports = encode_reports(df, duplicates="first")
    assert reports.n_reports == 3
    assert reports.label[reports.claim == 0].tolist() == [1, 0]


def test_predicting_unseen_labels_is_an_error():
    df = pd.DataFrame({"claim": [1, 1, 2], "source": ["a", "b", "a"], "label": [0, 1, 0]})
    model = TruthDiscovery().fit(df)
    with pytest.raises(CaseError, match="row 0, column 'label': label 7 was not seen"):
        model.predict(pd.DataFrame({"claim": [9], "source": ["a"], "label": [7]}))


def test_bad_predictions_file(tmp_path, capsys):
    predictions = tmp_path / "p.csv"
    predictions.write_text("claim,label,probability\nc1,1,1.5\n")
    truth = tmp_path / "t.csv"
    truth.write_text("claim,label\nc1,1\n")
    assert main(["evaluate", str(predictions), "--truth", str(truth)]) == 2
    assert ":2: column 'probability': probability must be a number from 0 to 1, not '1.5'" in (
        capsys.readouterr().err
    )
    predictions.write_text("claim,label,probability\nzz,1,0.5\n")
    assert main(["evaluate", str(predictions), "--truth", str(truth)]) == 2
    assert "no claim" in capsys.readouterr().err


def test_input_frame_is_not_modified():
    df = pd.DataFrame({"task": [1, 1, 2], "worker": ["a", "b", "a"], "label": [0, 1, 0]})
    before = df.copy()
    TruthDiscovery().fit(df)
    pd.testing.assert_frame_equal(df, before)
    assert np.all(df.columns == ["task", "worker", "label"])
