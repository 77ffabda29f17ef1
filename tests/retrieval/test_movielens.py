"""MovieLens layouts: detection, official formats, titles, tags, and the real ml-100k."""

from __future__ import annotations

import pytest

from retrieval.dataset import load_dataset
from retrieval.errors import DataError
from retrieval.loaders import detect_movielens_layout, load_movielens, split_movielens_title


@pytest.mark.parametrize(
    ("raw", "title", "year"),
    [
        ("Toy Story (1995)", "Toy Story", 1995),
        ("Usual Suspects, The (1995)", "The Usual Suspects", 1995),
        ("American President, The (1995)", "The American President", 1995),
        ("City of Lost Children, The (Cité des enfants perdus, La) (1995)",
         "The City of Lost Children (Cité des enfants perdus, La)", 1995),
        ("Cité des enfants perdus, La (1995)", "La Cité des enfants perdus", 1995),
        ("Antonia's Line (Antonia) (1995)", "Antonia's Line (Antonia)", 1995),
        ("Black Mirror", "Black Mirror", None),
        ("Babylon 5 (1994-1998)", "Babylon 5", 1994),
        ("Fawlty Towers (1975–1979)", "Fawlty Towers", 1975),
        ("Homme et une femme, Un (1966)", "Un Homme et une femme", 1966),
        ("Star Wars: Episode IV - A New Hope (1977)", "Star Wars: Episode IV - A New Hope", 1977),
        ("  Seven (a.k.a. Se7en) (1995) ", "Seven (a.k.a. Se7en)", 1995),
    ],
)
def test_split_title(raw: str, title: str, year: int | None) -> None:
    assert split_movielens_title(raw) == (title, year)


def test_detects_each_layout(ml100k_dir, ml1m_dir, ml_latest_dir) -> None:
    assert detect_movielens_layout(ml100k_dir) == "ml-100k"
    assert detect_movielens_layout(ml1m_dir) == "ml-1m"
    assert detect_movielens_layout(ml_latest_dir) == "ml-latest"


def test_not_a_movielens_folder(tmp_path) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(DataError, match="not a MovieLens folder.*u.data"):
        load_movielens(tmp_path)
    with pytest.raises(DataError, match="not found"):
        load_movielens(tmp_path / "missing")


def test_ml100k_layout(ml100k_dir) -> None:
    ds = load_dataset(f"movielens:{ml100k_dir}")
    assert len(ds.catalog) == 4
    toy = ds.catalog["1"]
    assert (toy.title, toy.year, toy.media_type.value) == ("Toy Story", 1995, "movie")
    assert toy.genres == ["animation", "family", "comedy"]
    assert ds.catalog["2"].title == "The Usual Suspects"
    assert ds.catalog["3"].title == "La Cité des enfants perdus"  # latin-1 decoded
    assert ds.catalog["4"].year is None and ds.catalog["4"].genres == []
    log = ds.interactions
    assert len(log) == 6 and log.n_users == 3 and log.has_timestamps
    first = next(iter(log))
    assert (first.user_id, first.item_id, first.value, first.event.value, first.timestamp) == (
        "196", "1", 3.0, "rating", 881250949)


def test_ml1m_layout_latin1(ml1m_dir) -> None:
    ds = load_movielens(ml1m_dir)
    assert ds.catalog["3"].title == "La Ciudad de los niños"
    assert ds.catalog["3"].genres == ["adventure", "science fiction"]
    assert ds.catalog["4"].title == "Star Wars: Episode IV - A New Hope"
    assert ds.catalog["1"].genres == ["animation", "family", "comedy"]
    assert len(ds.interactions) == 5
    assert ds.interactions.df["value"].tolist() == [5.0, 3.0, 4.0, 5.0, 2.0]


def test_ml10m_layout_utf8_with_tags(tmp_path, make_ml1m) -> None:
    folder = make_ml1m(tmp_path / "ml-10M100K", with_tags=True, encoding="utf-8")
    ds = load_movielens(folder)
    assert ds.catalog["3"].title == "La Ciudad de los niños"
    assert ds.catalog["4"].tags == ["space opera", "classic"]  # case-folded, by frequency
    assert ds.catalog["1"].tags == ["pixar"]


def test_ml_latest_layout(ml_latest_dir) -> None:
    ds = load_dataset(str(ml_latest_dir))  # a plain path is detected too
    cat = ds.catalog
    assert cat["11"].title == "The American President" and cat["11"].year == 1995
    assert cat["176601"].year is None and cat["176601"].genres == []
    assert cat["1"].genres == ["adventure", "animation", "family", "comedy", "fantasy"]
    assert cat["1"].tags == ["pixar", "fun"]
    assert cat["176601"].tags == ["dark, anthology"]
    assert cat["6"].title.startswith("Amélie")
    assert len(ds.interactions) == 6
    assert ds.interactions.df["value"].tolist()[:3] == [4.0, 4.5, 0.5]


def test_rating_for_unknown_movie_names_line(ml_latest_dir) -> None:
    with (ml_latest_dir / "ratings.csv").open("a") as fh:
        fh.write("9,424242,3.0,1306463600\n")
    with pytest.raises(DataError) as err:
        load_movielens(ml_latest_dir)
    assert err.value.line == 8 and err.value.field == "item_id"
    assert "ratings.csv" in str(err.value) and "not in the catalog" in str(err.value)
    ds = load_movielens(ml_latest_dir, skip_bad_rows=True)
    assert ds.report.skipped == 1 and len(ds.interactions) == 6


def test_truncated_ml100k_item_file(ml100k_dir) -> None:
    path = ml100k_dir / "u.item"
    path.write_bytes(path.read_bytes()[:-30])
    with pytest.raises(DataError, match="line 4.*truncated"):
        load_movielens(ml100k_dir)


def test_truncated_ml1m_ratings(ml1m_dir) -> None:
    path = ml1m_dir / "ratings.dat"
    path.write_bytes(path.read_bytes() + b"3::2")
    with pytest.raises(DataError) as err:
        load_movielens(ml1m_dir)
    assert err.value.line == 6 and "ratings.dat" in str(err.value)


@pytest.mark.slow
def test_real_ml100k(ml100k_path) -> None:
    ds = load_dataset(f"movielens:{ml100k_path}")
    assert len(ds.catalog) == 1682
    assert len(ds.interactions) == 100_000
    assert ds.interactions.n_users == 943
    assert ds.catalog["50"].title == "Star Wars" and ds.catalog["50"].year == 1977
    assert "science fiction" in ds.catalog["50"].genres


def test_real_ml100k_quick(ml100k_path) -> None:
    """The real folder loads in the default run too (it takes about a second)."""
    ds = load_movielens(ml100k_path)
    assert ds.interactions.has_timestamps and ds.interactions.n_items == 1682


def test_cut_ratings_dat_and_empty_u_data(ml1m_dir, ml100k_dir) -> None:
    """A ratings.dat cut inside its last timestamp (88) and an empty u.data are errors."""
    ratings = ml1m_dir / "ratings.dat"
    text = ratings.read_text(encoding="utf-8")
    ratings.write_text(text.rstrip("\n").rsplit("::", 1)[0] + "::88", encoding="utf-8")
    n = len(ratings.read_text(encoding="utf-8").splitlines())
    with pytest.raises(DataError, match=rf"line {n}, field 'timestamp'.*truncated"):
        load_movielens(ml1m_dir)
    ds = load_movielens(ml1m_dir, skip_bad_rows=True)
    assert ds.report.skipped == 1 and ds.report.examples[0].line == n
    (ml100k_dir / "u.data").write_bytes(b"")
    with pytest.raises(DataError, match="u.data"):
        load_movielens(ml100k_dir)
