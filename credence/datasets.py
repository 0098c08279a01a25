"""Benchmark data with ground truth, fetched from its public origin on first use.

The data are not ours to redistribute, so none ships with credence. Each set is
fetched from the repository and commit it was published at into a local cache
(``$CREDENCE_CACHE``, default ``~/.cache/credence/datasets``) and checked
against a SHA-256 checksum. When the environment variable ``CREDENCE_DATA_HOME``
names a directory already holding the files (same layout as the cache), they
are read from there and nothing is fetched.

Every loader returns a :class:`Dataset`: the long table of reports the
estimator takes (``claim, source, label``, all text) and the known truth.

====================  =====================================================
name                  data
====================  =====================================================
``zheng-product``     D_Product, entity resolution (Zheng et al. 2017)
``zheng-sentiment``   D_PosSent, tweet sentiment
``zheng-relevance``   S_Rel, TREC 2011 relevance, 4 labels
``zheng-adult``       S_Adult, web-page adult rating, 4 labels
``zheng-bluebirds``   bluebirds (Welinder et al. 2010)
``zheng-dog``         dog breeds, 4 labels
``zheng-face``        face expressions, 4 labels
``snow-rte``          textual entailment (Snow et al. 2008)
``snow-temp``         temporal ordering
``snow-wsd``          word-sense disambiguation, 3 labels
``books``             book authors by bookstore, conflicting values
``rumoureval``        reply stances on rumours, thread veracity
====================  =====================================================

The numeric sets (N_Emotion, Snow's affect ratings) are not classification
tasks and have no loader here.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import tarfile
import urllib.request
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "DATASETS",
    "Dataset",
    "DatasetError",
    "cache_dir",
    "data_home",
    "fetch",
    "load",
]

_ZHENG = "zheng2017_crowd_truth_inference"
_ZHENG_URL = (
    "https://raw.githubusercontent.com/zhydhkcws/zhydhkcws.github.io/"
    "a9d529c10b919e54844b715383f357b2f7f3bca3/crowd_truth_inference/datasets.zip"
)
_SNOW = "snow2008_rte_temp"
_SNOW_URL = (
    "https://raw.githubusercontent.com/edwinrobots/bayesian_combination_tutorial2/"
    "f98448e2e9a941463aa92f418eefd1f43bd5a637/all_collected_data/"
)
_BOOKS = "truthdiscovery_books_dafna"
_BOOKS_URL = (
    "https://raw.githubusercontent.com/daqcri/DAFNA-EA/"
    "c795fd3ffc34e29b4f4192e4dcf5c83ce53038e9/data/Books_CSV/"
)
_RUMOUR = "rumoureval2017_semeval_task8"
_RUMOUR_COMMIT = "20d9f1c4e00b02fe59e8d4f897c88e534606e204"
_RUMOUR_URL = (
    f"https://raw.githubusercontent.com/happythenewsad/530project/{_RUMOUR_COMMIT}/"
    "data/semeval2017-task8-dataset/"
)


@dataclass(frozen=True)
class _File:
    """One file of a data set: where it lives in the data home and where it comes from."""

    path: str
    url: str
    sha256: str | None
    member: str | None = None  # the file's path suffix inside an archive at ``url``


def _zheng(folder: str, name: str, sha: str) -> _File:
    return _File(f"{_ZHENG}/{folder}/{name}", _ZHENG_URL, sha, member=f"{folder}/{name}")


_FILES: dict[str, tuple[_File, ...]] = {
    "zheng-product": (
        _zheng(
            "d_jn-product",
            "answer.csv",
            "ca69e3f2cba3d6f9c3b3ecc2f8d2a81afcd747d0b91aa5ab18608a5715e26adc",
        ),
        _zheng(
            "d_jn-product",
            "truth.csv",
            "9a5757c726ef1a32b05f6a675924c483b24d602c61b1a2d087ab3d84f90b3766",
        ),
    ),
    "zheng-sentiment": (
        _zheng(
            "d_sentiment",
            "answer.csv",
            "8f4006278ca288a8d73a20cc37348f71b201f1bcb471a9aacd80421d8a34be26",
        ),
        _zheng(
            "d_sentiment",
            "truth.csv",
            "bac9bebdfdcbc5227cee6f95e27754f1089421e39317df54b9e2680bc78d9976",
        ),
    ),
    "zheng-relevance": (
        _zheng(
            "s4_Relevance",
            "answer.csv",
            "a5dd7a79e491d119234d12be81d2ff7b0a93310362ed694adaeffafee48cc38d",
        ),
        _zheng(
            "s4_Relevance",
            "truth.csv",
            "1ebae4ae9f6b146d55f398cf488077172c52d45e6c7d5c4bd95b29934f30e013",
        ),
    ),
    "zheng-adult": (
        _zheng(
            "s5_AdultContent",
            "answer.csv",
            "7615fa2f2fccf2a6ed1c07896f1bf764dba550da8ca841d9847240e6096cd893",
        ),
        _zheng(
            "s5_AdultContent",
            "truth.csv",
            "7823e02850fdab752b79e0c1e9b84e71ccc038c6b21f85b90208f9962d7831eb",
        ),
    ),
    "zheng-bluebirds": (
        _zheng(
            "d_Duck Identification",
            "answer.csv",
            "0d5e423652c079361a4cbc0adbee0945d40f02a9dedcfb6b068e8f2af63b24f0",
        ),
        _zheng(
            "d_Duck Identification",
            "truth.csv",
            "04c6d8b6cdc298b63c05dc87d28ceebd018d4207e0ced7c1229ca3593a74983a",
        ),
    ),
    "zheng-dog": (
        _zheng(
            "s4_Dog data",
            "answer.csv",
            "db11159198f59fa2af87450b008f860ca2e9e04e3f15c697ef254af40fb6763a",
        ),
        _zheng(
            "s4_Dog data",
            "truth.csv",
            "2a641fa31e80526164d956da4228f80d31b303c2691ab1855c76fef72d04b746",
        ),
    ),
    "zheng-face": (
        _zheng(
            "s4_Face Sentiment Identification",
            "answer.csv",
            "9e98c7c56ea1967ca9d3e2396b9abd469e96ee47a52a0103c917397adbb98f9b",
        ),
        _zheng(
            "s4_Face Sentiment Identification",
            "truth.csv",
            "c324c79fd7196d16cb638d956ec90209e405b0010741ffb5ecb1b6316f48cc4c",
        ),
    ),
    "snow-rte": (
        _File(
            f"{_SNOW}/rte.standardized.tsv",
            _SNOW_URL + "rte.standardized.tsv",
            "3187c5de59b9b9c596d490d25b5f5f108090a35cbdd10e81f21e6d1939d6ba79",
        ),
    ),
    "snow-temp": (
        _File(
            f"{_SNOW}/temp.standardized.tsv",
            _SNOW_URL + "temp.standardized.tsv",
            "7f74de9f36a0d3dfdc1f51e6433526abfc788c616d0c2d04a96206780ac74860",
        ),
    ),
    "snow-wsd": (
        _File(
            f"{_SNOW}/wsd.standardized.tsv",
            _SNOW_URL + "wsd.standardized.tsv",
            "77b77c0f63803bcb62d3a15c199e301bacbd4dbe012278600bd34f1e5f8a8ed9",
        ),
    ),
    "books": (
        _File(
            f"{_BOOKS}/claim1.txt",
            _BOOKS_URL + "claims/claim1.txt",
            "b49f99ce4df31853817e5af8afe2b1e1d6c86ea7b1139ef870dca08ee40d4472",
        ),
        _File(
            f"{_BOOKS}/book_golden.csv",
            _BOOKS_URL + "truth/book_golden.csv",
            "fce3f995ff95e2519f0f19850be3178cbc1f4b8873b9b725342d9e9ce38ded9f",
        ),
    ),
    "rumoureval": (
        _File(
            f"{_RUMOUR}/rumoureval-subtaskA-train.json",
            _RUMOUR_URL + "traindev/rumoureval-subtaskA-train.json",
            "ed05076bbe89798d39a954e7a9c6049d0716955929347e0cd4c8f90278d9ea44",
        ),
        _File(
            f"{_RUMOUR}/rumoureval-subtaskA-dev.json",
            _RUMOUR_URL + "traindev/rumoureval-subtaskA-dev.json",
            "efbc8832b2bc6c576a01a35d6eea88fe10762e973674614f2e60fe378b894370",
        ),
        _File(
            f"{_RUMOUR}/rumoureval-subtaskB-train.json",
            _RUMOUR_URL + "traindev/rumoureval-subtaskB-train.json",
            "c6246225480b53efc2622cbf4d388a3b3a284e10c41602c6b03d80b31a2681e9",
        ),
        _File(
            f"{_RUMOUR}/rumoureval-subtaskB-dev.json",
            _RUMOUR_URL + "traindev/rumoureval-subtaskB-dev.json",
            "1c4edf4faca9afe4cc606148ee34018ed26679be312d264fa6c5b3f865184824",
        ),
        _File(
            f"{_RUMOUR}/subtaskb.json",
            _RUMOUR_URL + "goldtest/subtaskb.json",
            "0bedcfe2fd8a43bd65242b6720e34d34226741204fc0bb8f295a7c6f98cdffff",
        ),
        # The threads (who replied) come from the repository archive at the commit.
        # GitHub builds archives on request, not byte for byte stable: no checksum;
        # the parser checks the threads it reads against the stance files above.
        _File(
            f"{_RUMOUR}/semeval2017-task8-dataset.tar.gz",
            f"https://codeload.github.com/happythenewsad/530project/tar.gz/{_RUMOUR_COMMIT}",
            None,
        ),
    ),
}


class DatasetError(RuntimeError):
    """A data set cannot be found, fetched or verified."""


@dataclass(frozen=True, eq=False)
class Dataset:
    """A benchmark set: reports and the known truth.

    Attributes
    ----------
    name : str
    reports : pandas.DataFrame
        Columns ``claim, source, label`` (text).
    truth : pandas.Series
        Known label per claim (index: claim), text.
    candidates : {"global", "per-claim"}
        How to fit it (:class:`~credence.discovery.TruthDiscovery` ``candidates``).
    note : str
        How the table was derived from the files.
    """

    name: str
    reports: Any
    truth: Any
    candidates: str
    note: str


def data_home() -> Path | None:
    """The pre-filled data directory named by ``CREDENCE_DATA_HOME``, if set.

    Returns
    -------
    pathlib.Path or None
    """
    value = os.environ.get("CREDENCE_DATA_HOME")
    return Path(value).expanduser() if value else None


def cache_dir() -> Path:
    """Where fetched files are kept: ``$CREDENCE_CACHE`` or ``~/.cache/credence/datasets``.

    Returns
    -------
    pathlib.Path
    """
    value = os.environ.get("CREDENCE_CACHE")
    return Path(value).expanduser() if value else Path.home() / ".cache" / "credence" / "datasets"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _download(url: str) -> bytes:
    try:
        with urllib.request.urlopen(url, timeout=60) as response:  # noqa: S310 (https only)
            return response.read()
    except OSError as err:
        raise DatasetError(f"cannot fetch {url}: {err}") from None


def _extract(archive: bytes, url: str, member: str) -> bytes:
    if url.endswith(".zip"):
        with zipfile.ZipFile(io.BytesIO(archive)) as zf:
            names = [n for n in zf.namelist() if n.endswith("/" + member) and "__MACOSX" not in n]
            if not names:
                raise DatasetError(f"{member} not found in {url}")
            return zf.read(names[0])
    raise DatasetError(f"do not know how to open {url}")


def fetch(name: str) -> Path:
    """Make sure the files of a data set are present; return the directory holding them.

    Parameters
    ----------
    name : str
        A key of :data:`DATASETS`.

    Returns
    -------
    pathlib.Path
        ``CREDENCE_DATA_HOME`` when set, else the cache.

    Raises
    ------
    DatasetError
        A file is missing from the data home, cannot be fetched, or fails its checksum.
    """
    if name not in _FILES:
        raise KeyError(f"unknown data set {name!r}; known: {', '.join(DATASETS)}")
    home = data_home()
    if home is not None:
        for spec in _FILES[name]:
            if not (home / spec.path).is_file():
                raise DatasetError(
                    f"{spec.path} is not in CREDENCE_DATA_HOME={home}; fill it or unset it to fetch"
                )
        return home
    root = cache_dir()
    archives: dict[str, bytes] = {}
    for spec in _FILES[name]:
        target = root / spec.path
        if target.is_file() and (spec.sha256 is None or _sha256(target) == spec.sha256):
            continue
        if spec.member is None:
            data = _download(spec.url)
        else:
            if spec.url not in archives:
                archives[spec.url] = _download(spec.url)
            data = _extract(archives[spec.url], spec.url, spec.member)
        if spec.sha256 is not None and hashlib.sha256(data).hexdigest() != spec.sha256:
            raise DatasetError(f"checksum mismatch for {spec.path} from {spec.url}")
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".part")
        tmp.write_bytes(data)
        tmp.replace(target)
    return root


# -- parsers ---------------------------------------------------------------------------


def _zheng_loader(folder: str, note: str = "") -> Callable[[Path], Dataset]:
    def load_zheng(root: Path, name: str) -> Dataset:
        import pandas as pd

        answers = pd.read_csv(root / _ZHENG / folder / "answer.csv", dtype=str)
        answers.columns = ["claim", "source", "label"]
        duplicated = answers.duplicated(["claim", "source"], keep="first")
        reports = answers.loc[~duplicated].reset_index(drop=True)
        truth = pd.read_csv(root / _ZHENG / folder / "truth.csv", dtype=str)
        truth = pd.Series(truth.iloc[:, 1].to_numpy(), index=truth.iloc[:, 0], name="label")
        extra = (
            f" {int(duplicated.sum())} repeated (claim, source) rows dropped."
            if (duplicated.any())
            else ""
        )
        return Dataset(
            name,
            reports,
            truth.rename_axis("claim"),
            "global",
            f"{folder}/answer.csv as is.{extra}{note}",
        )

    return load_zheng


def _snow_loader(file: str) -> Callable[[Path, str], Dataset]:
    def load_snow(root: Path, name: str) -> Dataset:
        import pandas as pd

        df = pd.read_csv(root / _SNOW / file, sep="\t", dtype=str)
        reports = pd.DataFrame(
            {"claim": df["orig_id"], "source": df["!amt_worker_ids"], "label": df["response"]}
        )
        truth = df.groupby("orig_id")["gold"].first().rename("label").rename_axis("claim")
        return Dataset(name, reports, truth, "global", f"{file}: orig_id, worker, response.")

    return load_snow


_STOPWORDS = frozenset(
    {
        "and",
        "by",
        "ed",
        "eds",
        "edited",
        "editor",
        "editors",
        "with",
        "author",
        "authors",
        "et",
        "al",
        "jr",
        "sr",
        "phd",
        "dr",
        "not",
        "available",
    }
)


def normalise_authors(text: str) -> str:
    """A book's author list as a canonical key: sorted distinct name words.

    Lower case, punctuation and initials removed, words like "edited" dropped.
    ``"Knuth, Donald E."`` and ``"Donald E. Knuth"`` both give ``"donald knuth"``.

    Parameters
    ----------
    text : str

    Returns
    -------
    str
    """
    words = re.findall(r"[a-z]+", text.lower().replace("'", ""))
    return " ".join(sorted({w for w in words if len(w) > 1 and w not in _STOPWORDS}))


def _load_books(root: Path, name: str) -> Dataset:
    import pandas as pd

    claims = pd.read_csv(
        root / _BOOKS / "claim1.txt",
        header=None,
        skiprows=1,
        dtype=str,
        names=["claim_id", "remove", "claim", "property", "value", "source", "time"],
    )
    claims = claims.loc[claims["value"].notna() & (claims["value"] != "Not Available")]
    label = claims["value"].map(normalise_authors)
    reports = pd.DataFrame({"claim": claims["claim"], "source": claims["source"], "label": label})
    reports = reports.loc[reports["label"] != ""]
    reports = reports.drop_duplicates(["claim", "source"], keep="first").reset_index(drop=True)
    gold = pd.read_csv(
        root / _BOOKS / "book_golden.csv",
        header=None,
        dtype=str,
        names=["claim", "property", "label"],
    )
    truth = pd.Series(
        gold["label"].map(normalise_authors).to_numpy(),
        index=pd.Index(gold["claim"], name="claim"),
        name="label",
    )
    return Dataset(
        name,
        reports,
        truth,
        "per-claim",
        "Author strings reduced to sorted distinct name words (normalise_authors); "
        "'Not Available' dropped; a bookstore's first listing per book kept. "
        "Accuracy is exact match of these keys, not the papers' scores.",
    )


def _load_rumoureval(root: Path, name: str) -> Dataset:
    import pandas as pd

    folder = root / _RUMOUR
    stance: dict[str, str] = {}
    for split in ("train", "dev"):
        stance.update(json.loads((folder / f"rumoureval-subtaskA-{split}.json").read_text()))
    veracity: dict[str, str] = {}
    for file in ("rumoureval-subtaskB-train.json", "rumoureval-subtaskB-dev.json", "subtaskb.json"):
        veracity.update(json.loads((folder / file).read_text()))
    pattern = re.compile(r"rumoureval-data/[^/]+/(\d+)/(source-tweet|replies)/(\d+)\.json$")
    rows = []
    with tarfile.open(folder / "semeval2017-task8-dataset.tar.gz", "r:gz") as tar:
        for member in tar:
            match = pattern.search(member.name)
            if not match or match.group(3) not in stance:
                continue
            tweet = json.load(tar.extractfile(member))
            rows.append((match.group(1), str(tweet["user"]["id"]), stance[match.group(3)]))
    if not rows:
        raise DatasetError("no annotated threads found in semeval2017-task8-dataset.tar.gz")
    df = pd.DataFrame(rows, columns=["claim", "source", "stance"])
    df = df.loc[df["stance"].isin(["support", "deny"])]
    reports = (
        pd.DataFrame(
            {
                "claim": df["claim"],
                "source": df["source"],
                "label": df["stance"].map({"support": "true", "deny": "false"}),
            }
        )
        .drop_duplicates(["claim", "source"], keep="first")
        .reset_index(drop=True)
    )
    truth = pd.Series(veracity, name="label").rename_axis("claim")
    truth = truth.loc[truth.isin(["true", "false"])]
    return Dataset(
        name,
        reports,
        truth,
        "global",
        "Claims are threads; a reply (or the source tweet) that supports the rumour "
        "reports 'true', one that denies it 'false'; queries and comments dropped. "
        "Truth: thread veracity, unverified threads left out.",
    )


DATASETS: dict[str, Callable[[Path, str], Dataset]] = {
    "zheng-product": _zheng_loader("d_jn-product"),
    "zheng-sentiment": _zheng_loader("d_sentiment"),
    "zheng-relevance": _zheng_loader("s4_Relevance"),
    "zheng-adult": _zheng_loader(
        "s5_AdultContent", " Only 333 of the 1,517 gold items have reports."
    ),
    "zheng-bluebirds": _zheng_loader("d_Duck Identification"),
    "zheng-dog": _zheng_loader("s4_Dog data"),
    "zheng-face": _zheng_loader("s4_Face Sentiment Identification"),
    "snow-rte": _snow_loader("rte.standardized.tsv"),
    "snow-temp": _snow_loader("temp.standardized.tsv"),
    "snow-wsd": _snow_loader("wsd.standardized.tsv"),
    "books": _load_books,
    "rumoureval": _load_rumoureval,
}


def load(name: str) -> Dataset:
    """Load a benchmark set (fetching it first unless ``CREDENCE_DATA_HOME`` is set).

    Parameters
    ----------
    name : str
        A key of :data:`DATASETS`, e.g. ``"zheng-product"``.

    Returns
    -------
    Dataset

    Raises
    ------
    KeyError
        Unknown name.
    DatasetError
        The files cannot be found, fetched or verified.

    Examples
    --------
    >>> data = load("snow-rte")  # doctest: +SKIP
    >>> data.reports.columns.tolist()  # doctest: +SKIP
    ['claim', 'source', 'label']
    """
    if name not in DATASETS:
        raise KeyError(f"unknown data set {name!r}; known: {', '.join(DATASETS)}")
    return DATASETS[name](fetch(name), name)
