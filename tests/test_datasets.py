"""Loaders read the pre-filled data home; counts match SOURCES.md."""

from pathlib import Path

import pytest

from credence import datasets

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
needs_data = pytest.mark.skipif(
    not DATA.is_dir(), reason=f"benchmark data not found at {DATA} (shared/ beside the repo)"
)

# (reports, claims, sources, gold items) per set, from SOURCES.md
COUNTS = {
    "zheng-product": (24_945, 8_315, 176, 8_315),
    "zheng-sentiment": (20_000, 1_000, 85, 1_000),
    "zheng-relevance": (98_453 - 1_570, 20_232, 766, 4_460),
    "zheng-bluebirds": (4_212, 108, 39, 108),
    "zheng-dog": (8_070, 807, 109, 807),
    "snow-rte": (8_000, 800, 164, 800),
    "snow-temp": (4_620, 462, 76, 462),
    "snow-wsd": (1_770, 177, 34, 177),
}


@needs_data
@pytest.mark.parametrize("name", sorted(COUNTS))
def test_counts_match_the_sources(monkeypatch, name):
    monkeypatch.setenv("CREDENCE_DATA_HOME", str(DATA))
    data = datasets.load(name)
    reports, claims, sources, gold = COUNTS[name]
    assert len(data.reports) == reports
    assert data.reports["claim"].nunique() == claims
    assert data.reports["source"].nunique() == sources
    assert len(data.truth) == gold
    assert data.reports.columns.tolist() == ["claim", "source", "label"]


@needs_data
def test_books_and_rumoureval(monkeypatch):
    monkeypatch.setenv("CREDENCE_DATA_HOME", str(DATA))
    books = datasets.load("books")
    assert books.candidates == "per-claim"
    assert books.reports["claim"].nunique() == 1_263
    assert len(books.truth) == 100
    assert datasets.normalise_authors("Knuth, Donald E.") == "donald knuth"
    rumours = datasets.load("rumoureval")
    assert set(rumours.reports["label"]) == {"true", "false"}
    assert set(rumours.truth) == {"true", "false"}


@needs_data
def test_checksums_of_the_data_home_match(monkeypatch):
    for files in datasets._FILES.values():
        for spec in files:
            if spec.sha256 is not None:
                assert datasets._sha256(DATA / spec.path) == spec.sha256, spec.path


def test_missing_file_in_data_home_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("CREDENCE_DATA_HOME", str(tmp_path))
    with pytest.raises(datasets.DatasetError, match="not in CREDENCE_DATA_HOME"):
        datasets.load("snow-rte")
    with pytest.raises(KeyError, match="unknown data set"):
        datasets.load("nope")


def test_fetch_checks_the_checksum(monkeypatch, tmp_path):
    monkeypatch.delenv("CREDENCE_DATA_HOME", raising=False)
    monkeypatch.setenv("CREDENCE_CACHE", str(tmp_path))
    monkeypatch.setattr(datasets, "_download", lambda url: b"not the file")
    with pytest.raises(datasets.DatasetError, match="checksum mismatch"):
        datasets.fetch("snow-rte")
    assert not (tmp_path / "snow2008_rte_temp" / "rte.standardized.tsv").exists()
