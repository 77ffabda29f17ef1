"""Shared fixtures. Unit tests run offline: pytest-socket blocks every socket but loopback.

The tiny MovieLens folders below are written byte for byte like GroupLens' files
(separators, encodings, headers), so loaders are tested on the formats, not on one folder.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # `tests.bundles` is imported from the repository root
    sys.path.insert(0, str(REPO))
ML100K = Path(os.environ.get("ENCORE_ML100K", REPO.parent / "shared" / "data" / "ml-100k"))


@pytest.fixture(scope="session")
def ml100k_path() -> Path:
    """The real ml-100k folder from ../shared/data (never copied into the repository)."""
    if not (ML100K / "u.data").is_file():
        pytest.skip(f"ml-100k not found at {ML100K} (set ENCORE_ML100K to its folder)")
    return ML100K


@pytest.fixture(scope="session")
def demo_bundle_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real bundle of the demo data set (SYNTHETIC interactions, the tiny test encoder, a
    quick LightGBM ranker), built once per session (seconds). Read-only: copy it before
    changing anything."""
    from tests.bundles import build_demo_bundle

    return build_demo_bundle(tmp_path_factory.mktemp("demo-bundle"))


@pytest.fixture(autouse=True)
def _isolated_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never pick up a developer's ENCORE_* variables."""
    for key in list(os.environ):
        if key.startswith("ENCORE_") and key != "ENCORE_ML100K":
            monkeypatch.delenv(key, raising=False)

ML100K_GENRES = ["unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime",
                 "Documentary", "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery",
                 "Romance", "Sci-Fi", "Thriller", "War", "Western"]


CHILDRENS = "Children's"


def _flags(*names: str) -> str:
    return "|".join("1" if g in names else "0" for g in ML100K_GENRES)


def write_ml100k(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    items = [
        "1|Toy Story (1995)|01-Jan-1995||http://us.imdb.com/M/title-exact?Toy%20Story%20(1995)|"
        + _flags("Animation", CHILDRENS, "Comedy"),
        "2|Usual Suspects, The (1995)|14-Aug-1995||"
        "http://us.imdb.com/M/title-exact?Usual%20Suspects|" + _flags("Crime", "Thriller"),
        "3|Cité des enfants perdus, La (1995)|01-Jan-1995||http://us.imdb.com/M/x|"
        + _flags("Adventure", "Sci-Fi"),
        f"4|unknown|||http://us.imdb.com/M/x|{_flags('unknown')}",
    ]
    (folder / "u.item").write_bytes(("\n".join(items) + "\n").encode("latin-1"))
    genre_lines = "".join(f"{g}|{i}\n" for i, g in enumerate(ML100K_GENRES))
    (folder / "u.genre").write_text(genre_lines + "\n", encoding="latin-1")
    rows = ["196\t1\t3\t881250949", "186\t2\t3\t891717742", "196\t3\t1\t878887116",
            "22\t1\t5\t880606923", "22\t4\t2\t886397596", "186\t1\t4\t884182806"]
    (folder / "u.data").write_text("\n".join(rows) + "\n", encoding="latin-1")
    return folder


def write_ml1m(folder: Path, *, with_tags: bool = False, encoding: str = "latin-1") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    movies = ["1::Toy Story (1995)::Animation|Children's|Comedy",
              "2::Jumanji (1995)::Adventure|Children's|Fantasy",
              "3::Ciudad de los niños, La (1995)::Adventure|Sci-Fi",
              "4::Star Wars: Episode IV - A New Hope (1977)::Action|Adventure|Fantasy|Sci-Fi"]
    (folder / "movies.dat").write_bytes(("\n".join(movies) + "\n").encode(encoding))
    ratings = ["1::1::5::978300760", "1::2::3::978302109", "2::4::4::978300275",
               "2::1::5::978824291", "3::3::2::978301968"]
    (folder / "ratings.dat").write_text("\n".join(ratings) + "\n", encoding=encoding)
    (folder / "users.dat").write_text(
        "1::F::1::10::48067\n2::M::56::16::70072\n3::M::25::15::55117\n")
    if with_tags:
        tags = ["15::4::space opera::1215184630", "20::4::Space Opera::1215184631",
                "20::1::pixar::1188263880", "21::4::classic::1188263881"]
        (folder / "tags.dat").write_text("\n".join(tags) + "\n", encoding=encoding)
    return folder


def write_ml_latest(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "movies.csv").write_text(
        "movieId,title,genres\n"
        "1,Toy Story (1995),Adventure|Animation|Children|Comedy|Fantasy\n"
        '11,"American President, The (1995)",Comedy|Drama|Romance\n'
        "193609,Andrew Dice Clay: Dice Rules (1991),Comedy\n"
        "176601,Black Mirror,(no genres listed)\n"
        "82,Antonia's Line (Antonia) (1995),Comedy|Drama\n"
        "6,Amélie (Fabuleux destin d'Amélie Poulain  Le) (2001),Comedy|Romance\n",
        encoding="utf-8")
    (folder / "ratings.csv").write_text(
        "userId,movieId,rating,timestamp\n"
        "1,1,4.0,964982703\n1,11,4.5,964981247\n2,193609,0.5,1445714835\n"
        "2,1,3.0,1445714885\n3,82,5.0,1306463578\n3,176601,4.0,1306463600\n",
        encoding="utf-8")
    (folder / "tags.csv").write_text(
        "userId,movieId,tag,timestamp\n"
        "2,1,pixar,1445714994\n3,1,Pixar,1445714996\n3,1,fun,1445714997\n"
        '4,176601,"dark, anthology",1537098603\n',
        encoding="utf-8")
    (folder / "links.csv").write_text("movieId,imdbId,tmdbId\n1,0114709,862\n", encoding="utf-8")
    return folder


@pytest.fixture()
def ml100k_dir(tmp_path: Path) -> Path:
    """A tiny folder in ml-100k's official layout."""
    return write_ml100k(tmp_path / "ml-100k")


@pytest.fixture()
def ml1m_dir(tmp_path: Path) -> Path:
    """A tiny folder in ml-1m's official layout."""
    return write_ml1m(tmp_path / "ml-1m")


@pytest.fixture()
def ml_latest_dir(tmp_path: Path) -> Path:
    """A tiny folder in ml-latest(-small)'s official layout."""
    return write_ml_latest(tmp_path / "ml-latest-small")


@pytest.fixture()
def make_ml1m():
    """The ml-1m writer, for variants (ml-10m: UTF-8 with tags.dat)."""
    return write_ml1m
