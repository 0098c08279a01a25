"""``credence discover`` and ``evaluate``: bad input exits 2, outputs are all or nothing."""

import json
import os

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from credence.calibration import MAX_BINS
from credence.cli import main
from credence.commands import discovery as commands
from credence.discovery.estimator import MAX_ITER

GOOD = "claim,source,label\nc1,a,1\nc1,b,1\nc2,a,0\nc2,b,0\nc3,a,1\nc3,b,0\n"


@pytest.fixture
def reports(tmp_path):
    path = tmp_path / "reports.csv"
    path.write_text(GOOD)
    return path


def run(argv, capsys):
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_fifo_is_refused_without_blocking(tmp_path, capsys):
    fifo = tmp_path / "fifo.csv"
    os.mkfifo(fifo)
    code, out, err = run(["discover", fifo, "-o", tmp_path / "o.csv"], capsys)
    assert (code, out) == (2, "")
    assert "a FIFO, not a regular file" in err
    truth = tmp_path / "t.csv"
    truth.write_text("claim,label\nc1,1\n")
    code, out, err = run(["evaluate", fifo, "--truth", truth], capsys)
    assert (code, out) == (2, "") and "FIFO" in err
    code, out, err = run(["evaluate", "/dev/zero", "--truth", truth], capsys)
    assert (code, out) == (2, "") and "a device" in err


def test_bad_sources_out_leaves_claims_untouched(tmp_path, reports, capsys):
    claims = tmp_path / "claims.csv"
    claims.write_text("precious\n")
    (tmp_path / "folder").mkdir()
    for bad in (tmp_path / "missing" / "s.yaml", tmp_path / "folder"):
        code, out, err = run(["discover", reports, "-o", claims, "--sources-out", bad], capsys)
        assert (code, out) == (2, "")
        assert "Traceback" not in err
        assert claims.read_text() == "precious\n"


def test_same_output_twice_and_output_over_input_are_refused(tmp_path, reports, capsys):
    claims = tmp_path / "claims.csv"
    code, _, err = run(["discover", reports, "-o", claims, "--sources-out", claims], capsys)
    assert code == 2 and "the same file is given for two outputs" in err
    assert not claims.exists()
    code, _, err = run(["discover", reports, "-o", reports], capsys)
    assert code == 2 and "would overwrite an input" in err
    code, _, err = run(["discover", reports, "-o", claims, "--reports-out", reports], capsys)
    assert code == 2 and "would overwrite an input" in err and not claims.exists()
    assert reports.read_text() == GOOD
    truth = tmp_path / "t.csv"
    truth.write_text("claim,label\nc1,1\n")
    code, _, err = run(["discover", reports, "-o", truth, "--truth", truth], capsys)
    assert code == 2 and truth.read_text() == "claim,label\nc1,1\n"


def test_both_outputs_written_together(tmp_path, reports, capsys):
    claims, sources = tmp_path / "claims.csv", tmp_path / "sources.yaml"
    code, out, _ = run(["discover", reports, "-o", claims, "--sources-out", sources], capsys)
    assert (code, out) == (0, "")
    assert claims.read_text().startswith("claim,label,probability\n")
    assert sources.read_text().startswith("#")


def test_a_long_export_shows_a_spinner_and_writes_the_same(tmp_path, reports, capsys,
                                                            monkeypatch):
    import sys

    import rich.console

    quiet = tmp_path / "quiet.yaml"
    assert run(["discover", reports, "-o", tmp_path / "a.csv", "--sources-out", quiet],
               capsys)[0] == 0
    monkeypatch.setattr(commands, "EXPORT_THRESHOLD", 1)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    monkeypatch.setattr(rich.console.Console, "is_terminal", property(lambda self: True))
    shown = tmp_path / "shown.yaml"
    code, _, err = run(["discover", reports, "-o", tmp_path / "b.csv", "--sources-out", shown],
                       capsys)
    assert code == 0 and "exporting 2 sources" in err
    assert shown.read_text() == quiet.read_text()


def test_a_bad_truth_file_is_named(tmp_path, reports, capsys):
    truth = tmp_path / "gold.csv"
    truth.write_text("claim,label\nc1,maybe\n")
    code, out, err = run(["discover", reports, "-o", tmp_path / "o.csv", "--truth", truth], capsys)
    assert (code, out) == (2, "")
    assert err.startswith(f"{truth}:2: ")
    assert str(reports) not in err


@pytest.mark.parametrize(
    "argv",
    [
        ["--bins", "0"],
        ["--bins", "1000000000"],
        ["--bins", "x"],
        ["--bins", "1001"],
    ],
)
def test_evaluate_bins_are_bounded(tmp_path, capsys, argv):
    predictions = tmp_path / "p.csv"
    predictions.write_text("claim,label,probability\nc1,1,0.7\n")
    truth = tmp_path / "t.csv"
    truth.write_text("claim,label\nc1,1\n")
    with pytest.raises(SystemExit) as exit_:
        main(["evaluate", str(predictions), "--truth", str(truth), *argv])
    assert exit_.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "--bins" in captured.err
    assert len(captured.err.strip().splitlines()) == 1
    assert main(["evaluate", str(predictions), "--truth", str(truth), "--bins", "1000"]) == 0


@pytest.mark.parametrize(
    "argv",
    [
        ["--max-iter", "0"],
        ["--max-iter", "10000000"],
        ["--tol", "-1"],
        ["--tol", "nan"],
        ["--tol", "2"],
    ],
)
def test_discover_numeric_options_are_bounded(tmp_path, reports, capsys, argv):
    with pytest.raises(SystemExit) as exit_:
        main(["discover", str(reports), "-o", str(tmp_path / "o.csv"), *argv])
    assert exit_.value.code == 2
    assert capsys.readouterr().out == ""


def test_cli_bounds_match_the_python_ones():
    assert commands.MAX_BINS == MAX_BINS
    assert commands.MAX_ITER == MAX_ITER


def test_huge_values_are_not_echoed(tmp_path, capsys):
    predictions = tmp_path / "p.csv"
    predictions.write_text("claim,label,probability\nc1,1," + "9" * 100_000 + "\n")
    truth = tmp_path / "t.csv"
    truth.write_text("claim,label\nc1,1\n")
    code, out, err = run(["evaluate", predictions, "--truth", truth], capsys)
    assert (code, out) == (2, "")
    assert len(err) < 500


CELLS = st.sampled_from(["c1", "c2", "a", "b", "1", "0", "", "NA", '"', '"x\ny"', " ", "é"])
ROWS = st.lists(st.lists(CELLS, min_size=0, max_size=4).map(",".join), max_size=12)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    body=st.one_of(
        ROWS.map(lambda r: "claim,source,label\n" + "\n".join(r)),
        ROWS.map("\n".join),
        st.binary(max_size=120),
    )
)
def test_cli_fuzz_exits_0_or_2(tmp_path_factory, capsys, body):
    folder = tmp_path_factory.mktemp("cli")
    path = folder / "r.csv"
    path.write_bytes(body if isinstance(body, bytes) else body.encode("utf-8"))
    out_path = folder / "claims.csv"
    code = main(["discover", str(path), "-o", str(out_path), "-q"])
    captured = capsys.readouterr()
    assert code in (0, 2)
    assert captured.out == ""
    if code == 2:
        assert captured.err and "Traceback" not in captured.err
        assert not out_path.exists()
        assert [p.name for p in folder.iterdir()] == ["r.csv"]
    else:
        assert out_path.read_text().startswith("claim,label,probability\n")


def test_predictions_are_read_strictly_with_every_problem_located(tmp_path, capsys):
    from credence.discovery.table import read_predictions

    tsv = tmp_path / "p.tsv"
    tsv.write_text("claim\tlabel\tprobability\nc1\t1\t0.25\nc2\t0\t1\n")
    assert read_predictions(tsv)["probability"].tolist() == [0.25, 1.0]
    bad = tmp_path / "p.csv"
    bad.write_text("claim,label,probability\nc1,1,1.5\nc2,0,x\nc1,1,0.5\nc3,1,nan\n")
    truth = tmp_path / "t.csv"
    truth.write_text("claim,label\nc1,1\n")
    code, out, err = run(["evaluate", bad, "--truth", truth], capsys)
    assert (code, out) == (2, "")
    lines = err.strip().splitlines()
    assert any(":2:" in line and "not '1.5'" in line for line in lines), err
    assert any(":3:" in line and "not 'x'" in line for line in lines), err
    assert any(":4:" in line and "label '1' twice" in line for line in lines), err
    assert any(":5:" in line and "not 'nan'" in line for line in lines), err


PROBABILITIES = st.sampled_from(["0.5", "1", "0", "1.5", "-0", "nan", "inf", "1e-3", "", "x",
                                 "0x1", "1_0", " 0.2", "９"])


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=st.lists(st.tuples(CELLS, CELLS, PROBABILITIES).map(",".join), max_size=10),
    header=st.sampled_from(["claim,label,probability", "claim,label", "probability,claim,label"]),
)
def test_evaluate_fuzz_exits_0_or_2(tmp_path_factory, capsys, rows, header):
    folder = tmp_path_factory.mktemp("evaluate")
    predictions = folder / "p.csv"
    predictions.write_text(header + "\n" + "\n".join(rows), encoding="utf-8")
    truth = folder / "t.csv"
    truth.write_text("claim,label\nc1,1\nc2,0\na,b\n")
    code = main(["evaluate", str(predictions), "--truth", str(truth), "--json"])
    captured = capsys.readouterr()
    assert code in (0, 2)
    if code == 2:
        assert captured.out == "" and captured.err and "Traceback" not in captured.err
    else:
        scores = json.loads(captured.out)
        assert 0 <= scores["accuracy"] <= 1 and scores["log_loss"] >= 0


THREE = "claim,source,label\nc1,a,x\nc1,b,y\nc2,a,z\nc2,b,z\nc3,a,x\nc3,c,y\n"


@settings(max_examples=100, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    table=st.sampled_from([GOOD, THREE]),
    model=st.sampled_from([[], ["--model", "one-coin"], ["--model", "two-coin"],
                           ["--model", "dawid-skene"]]),
    copying=st.sampled_from(["auto", "yes", "no"]),
    shared=st.sampled_from(["auto", "yes", "no", "label"]),
    candidates=st.sampled_from(["global", "per-claim"]),
    extra=st.sampled_from([[], ["--no-pooling"], ["--claim-labels", "0,1"],
                           ["--claim-labels", "true,false"]]),
    truth=st.booleans(),
    weigh=st.booleans(),
)
def test_every_combination_of_discover_options_fits_or_exits_2(
    tmp_path, capsys, table, model, copying, shared, candidates, extra, truth, weigh
):
    # Any mix of the choices a user can give, on two labels or three: a fit (0), or a
    # clear refusal (2) with nothing written; never a traceback.
    reports = tmp_path / "reports.csv"
    reports.write_text(table)
    known = tmp_path / "known.csv"
    known.write_text("claim,label\nc1,1\n" if table == GOOD else "claim,label\nc1,x\n")
    out, weights = tmp_path / "o.csv", tmp_path / "w.csv"
    out.unlink(missing_ok=True)
    weights.unlink(missing_ok=True)
    argv = ["discover", reports, "-o", out, *model, "--copying", copying,
            "--shared-error", shared, "--candidates", candidates, *extra,
            *(["--truth", known] if truth else []), *(["--reports-out", weights] if weigh else [])]
    code, stdout, err = run(argv, capsys)
    assert "Traceback" not in err
    assert code in (0, 2), err
    if code == 2:
        assert err.strip() and not out.exists() and not weights.exists()
    else:
        assert out.exists()
        assert weights.exists() == weigh
        if weigh:  # a row per report, toward the label written for its claim
            written = pd.read_csv(weights, dtype=str)
            claims = pd.read_csv(out, dtype=str).set_index("claim")["label"]
            assert len(written) == table.count("\n") - 1
            assert (written["claim_label"] == claims.loc[written["claim"]].to_numpy()).all()
