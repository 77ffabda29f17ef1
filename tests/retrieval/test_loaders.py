"""Catalog and interaction files: the three formats, and every kind of bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from retrieval.dataset import load_dataset
from retrieval.errors import DataError, LoadReport
from retrieval.loaders import load_catalog, load_files, load_interactions, save_catalog_jsonl

ROWS = [
    {"id": "mv-arrival-2016", "title": "Arrival", "media_type": "movie", "year": 2016,
     "duration_min": 116, "genres": ["science fiction", "drama"], "tags": ["aliens", "slow-burn"],
     "description": "A linguist is asked to talk with visitors.", "creators": ["Denis Villeneuve"],
     "language": "en"},
    {"id": "pc-radiolab-2002", "title": "Radiolab", "media_type": "podcast", "year": 2002,
     "duration_min": 45, "genres": ["science"], "tags": ["storytelling"], "description": "",
     "creators": ["Jad Abumrad", "Robert Krulwich"], "language": "en"},
    {"id": "al-kind-of-blue-1959", "title": "Kind of Blue", "media_type": "album", "year": 1959,
     "duration_min": 45.7, "genres": ["jazz"], "tags": [], "description": "Modal jazz.",
     "creators": ["Miles Davis"], "language": None},
]
CSV_HEADER = "id,title,media_type,year,duration_min,genres,tags,description,creators,language\n"


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def write_csv(path: Path, body: str) -> Path:
    path.write_text(CSV_HEADER + body, encoding="utf-8")
    return path


GOOD_CSV = (
    'mv-arrival-2016,Arrival,movie,2016,116,science fiction|drama,aliens|slow-burn,'
    '"A linguist is asked to talk with visitors.",Denis Villeneuve,en\n'
    'pc-radiolab-2002,Radiolab,podcast,2002,45,science,storytelling,,'
    'Jad Abumrad|Robert Krulwich,en\n'
    'al-kind-of-blue-1959,Kind of Blue,album,1959,45.7,jazz,,"Modal jazz.",Miles Davis,\n'
)


def _same(cat) -> None:
    assert cat.ids == ["mv-arrival-2016", "pc-radiolab-2002", "al-kind-of-blue-1959"]
    assert cat["mv-arrival-2016"].genres == ["science fiction", "drama"]
    assert cat["pc-radiolab-2002"].creators == ["Jad Abumrad", "Robert Krulwich"]
    assert cat["al-kind-of-blue-1959"].duration_min == pytest.approx(45.7)
    assert cat["al-kind-of-blue-1959"].language is None


def test_jsonl_csv_parquet_give_the_same_catalog(tmp_path) -> None:
    _same(load_catalog(write_jsonl(tmp_path / "c.jsonl", ROWS)))
    _same(load_catalog(write_csv(tmp_path / "c.csv", GOOD_CSV)))
    pd.DataFrame(ROWS).to_parquet(tmp_path / "c.parquet")
    _same(load_catalog(tmp_path / "c.parquet"))
    # '|'-separated strings in Parquet are accepted too
    flat = pd.DataFrame([{**r, **{k: "|".join(r[k]) for k in ("genres", "tags", "creators")}}
                         for r in ROWS])
    flat.to_parquet(tmp_path / "flat.parquet")
    _same(load_catalog(tmp_path / "flat.parquet"))


def test_save_round_trip(tmp_path) -> None:
    cat = load_catalog(write_jsonl(tmp_path / "c.jsonl", ROWS))
    save_catalog_jsonl(cat, tmp_path / "out" / "copy.jsonl")
    _same(load_catalog(tmp_path / "out" / "copy.jsonl"))


@pytest.mark.parametrize(
    ("change", "line", "field", "words"),
    [
        ({"id": None}, 3, "id", "id"),
        ({"id": ""}, 3, "id", "at least 1 character"),
        ({"media_type": "vinyl"}, 3, "media_type", "movie, series, episode"),
        ({"year": "nineteen"}, 3, "year", "four-digit year"),
        ({"year": 3000}, 3, "year", "less than or equal to 2100"),
        ({"duration_min": "long"}, 3, "duration_min", "minutes"),
        ({"title": None}, 3, "title", "title"),
    ],
)
def test_bad_jsonl_rows_name_line_field_and_fix(tmp_path, change, line, field, words) -> None:
    rows = [dict(r) for r in ROWS]
    rows[2].update(change)
    path = write_jsonl(tmp_path / "c.jsonl", rows)
    with pytest.raises(DataError) as err:
        load_catalog(path)
    e = err.value
    assert (e.path, e.line, e.field) == (str(path), line, field)
    assert e.fix and words in str(e)
    assert str(path) in str(e) and f"line {line}" in str(e) and "Fix:" in str(e)


def test_missing_required_field(tmp_path) -> None:
    rows = [dict(r) for r in ROWS]
    del rows[1]["media_type"]
    with pytest.raises(DataError, match="line 2, field 'media_type': missing required value"):
        load_catalog(write_jsonl(tmp_path / "c.jsonl", rows))


def test_duplicate_id_names_both_lines(tmp_path) -> None:
    rows = [*ROWS, dict(ROWS[0])]
    with pytest.raises(DataError) as err:
        load_catalog(write_jsonl(tmp_path / "c.jsonl", rows))
    assert err.value.line == 4 and err.value.field == "id"
    assert "first seen on line 1" in str(err.value)


def test_csv_bad_year_and_unknown_type(tmp_path) -> None:
    path = write_csv(tmp_path / "c.csv", GOOD_CSV + "x1,Film,movie,19x9,,,,,,\n")
    with pytest.raises(DataError, match=r"line 5, field 'year'"):
        load_catalog(path)
    path = write_csv(tmp_path / "d.csv", "x1,Film,cassette,1999,,,,,,\n")
    with pytest.raises(DataError, match=r"line 2, field 'media_type'"):
        load_catalog(path)


def test_skip_bad_rows_reports_count_and_examples(tmp_path) -> None:
    rows = [dict(r) for r in ROWS]
    rows[0]["media_type"] = "vinyl"
    rows.append(dict(ROWS[1]))  # duplicate
    rows.append({"id": "ok", "title": "Fine", "media_type": "series"})
    report = LoadReport()
    cat = load_catalog(write_jsonl(tmp_path / "c.jsonl", rows), skip_bad_rows=True, report=report)
    assert cat.ids == ["pc-radiolab-2002", "al-kind-of-blue-1959", "ok"]
    assert (report.loaded, report.skipped) == (3, 2)
    assert report.examples[0].line == 1 and report.examples[0].field == "media_type"
    assert "skipped 2 bad rows" in report.summary() and "line 4" in report.summary()


def test_unreadable_encoding_names_line(tmp_path) -> None:
    path = tmp_path / "c.jsonl"
    text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in ROWS)
    text = text.replace("Kind of Blue", "Kind of Blué")
    path.write_bytes(text.encode("latin-1"))
    with pytest.raises(DataError) as err:
        load_catalog(path)
    assert err.value.line == 3 and "utf-8" in str(err.value) and "--encoding" in str(err.value)
    assert load_catalog(path, encoding="latin-1")["al-kind-of-blue-1959"].title == "Kind of Blué"


def test_truncated_jsonl(tmp_path) -> None:
    path = write_jsonl(tmp_path / "c.jsonl", ROWS)
    path.write_bytes(path.read_bytes()[:-25])
    with pytest.raises(DataError, match="line 3.*truncated"):
        load_catalog(path)


def test_truncated_csv(tmp_path) -> None:
    path = write_csv(tmp_path / "c.csv", GOOD_CSV)
    path.write_bytes(path.read_bytes()[:-30])
    with pytest.raises(DataError, match="line 4.*truncated"):
        load_catalog(path)
    path = write_csv(tmp_path / "q.csv", 'a,"Unclosed title,movie,1999,,,,,,\n')
    with pytest.raises(DataError, match="line 2, field .title.: a quoted field opens on this "
                                        "line and is not closed.*truncated"):
        load_catalog(path)


def test_truncated_parquet(tmp_path) -> None:
    pd.DataFrame(ROWS).to_parquet(tmp_path / "c.parquet")
    data = (tmp_path / "c.parquet").read_bytes()
    (tmp_path / "c.parquet").write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match="not a readable Parquet file.*truncated"):
        load_catalog(tmp_path / "c.parquet")


def test_wrong_extension_and_missing_file(tmp_path) -> None:
    (tmp_path / "c.xml").write_text("<x/>")
    with pytest.raises(DataError, match="unknown catalog format '.xml'.*jsonl"):
        load_catalog(tmp_path / "c.xml")
    with pytest.raises(DataError, match="catalog file not found"):
        load_catalog(tmp_path / "nope.jsonl")


# --- interactions -----------------------------------------------------------------------

INTER = (
    "user_id,item_id,timestamp,event,value\n"
    "u1,mv-arrival-2016,1700000000,like,\n"
    "u1,pc-radiolab-2002,2024-01-31T12:00:00Z,play,\n"
    "u2,al-kind-of-blue-1959,1700000500,rating,4.5\n"
    "u2,mv-arrival-2016,1700000600,skip,\n"
)


@pytest.fixture()
def catalog_path(tmp_path) -> Path:
    return write_jsonl(tmp_path / "catalog.jsonl", ROWS)


def test_interactions_csv_and_parquet(tmp_path, catalog_path) -> None:
    (tmp_path / "i.csv").write_text(INTER)
    ds = load_files(catalog_path, tmp_path / "i.csv")
    df = ds.interactions.df
    assert df["event"].astype(str).tolist() == ["like", "play", "rating", "skip"]
    assert df["value"].tolist() == [1.0, 1.0, 4.5, -0.5]
    assert int(df["timestamp"][1]) == 1706702400
    pd.read_csv(tmp_path / "i.csv").to_parquet(tmp_path / "i.parquet")
    again = load_interactions(tmp_path / "i.parquet", item_ids=ds.catalog.ids)
    assert again.df["value"].tolist() == df["value"].tolist()


def test_movielens_style_aliases(tmp_path, catalog_path) -> None:
    (tmp_path / "r.csv").write_text("userId,movieId,rating,timestamp\n7,mv-arrival-2016,4,1\n")
    log = load_interactions(tmp_path / "r.csv", item_ids=["mv-arrival-2016"])
    rec = next(iter(log))
    assert (rec.user_id, rec.event.value, rec.value) == ("7", "rating", 4.0)


@pytest.mark.parametrize(
    ("bad_line", "field", "words"),
    [
        ("u3,mv-nope-1999,1700000000,play,", "item_id", "not in the catalog"),
        (",mv-arrival-2016,1700000000,play,", "user_id", "missing user id"),
        ("u3,,1700000000,play,", "item_id", "missing item id"),
        ("u3,mv-arrival-2016,yesterday,play,", "timestamp", "Unix seconds"),
        ("u3,mv-arrival-2016,1700000000,watch,", "event", "unknown event"),
        ("u3,mv-arrival-2016,1700000000,rating,", "value", "a rating needs a value"),
        ("u3,mv-arrival-2016,1700000000,rating,five", "value", "not a number"),
    ],
)
def test_bad_interactions(tmp_path, catalog_path, bad_line, field, words) -> None:
    path = tmp_path / "i.csv"
    path.write_text(INTER + bad_line + "\n")
    with pytest.raises(DataError) as err:
        load_files(catalog_path, path)
    assert (err.value.line, err.value.field) == (6, field)
    assert words in str(err.value) and "Fix:" in str(err.value) and str(path) in str(err.value)
    ds = load_files(catalog_path, path, skip_bad_rows=True)
    assert len(ds.interactions) == 4 and ds.report.skipped == 1
    assert ds.report.examples[0].line == 6


def test_truncated_interactions(tmp_path, catalog_path) -> None:
    path = tmp_path / "i.csv"
    path.write_text(INTER + "u9,mv-arr")
    with pytest.raises(DataError) as err:
        load_files(catalog_path, path)
    assert err.value.line == 6
    path.write_text(INTER + "u9,mv-arrival-2016,1,play,,extra,fields\n")
    with pytest.raises(DataError, match="line 6: 7 fields where the header has 5"):
        load_files(catalog_path, path)


def test_interactions_without_timestamps(tmp_path, catalog_path) -> None:
    path = tmp_path / "i.csv"
    path.write_text("user_id,item_id\nu1,mv-arrival-2016\nu2,pc-radiolab-2002\n")
    log = load_files(catalog_path, path).interactions
    assert len(log) == 2 and not log.has_timestamps
    assert next(iter(log)).timestamp is None


def test_interactions_missing_column(tmp_path, catalog_path) -> None:
    path = tmp_path / "i.csv"
    path.write_text("user,thing\nu1,mv-arrival-2016\n")
    with pytest.raises(DataError, match="no 'item_id' column"):
        load_files(catalog_path, path)


def test_dataset_folder_reference(tmp_path) -> None:
    folder = tmp_path / "mydata"
    folder.mkdir()
    write_jsonl(folder / "catalog.jsonl", ROWS)
    (folder / "interactions.csv").write_text(INTER)
    ds = load_dataset(str(folder))
    assert len(ds.catalog) == 3 and len(ds.interactions) == 4 and not ds.synthetic
    with pytest.raises(DataError, match="empty data set reference"):
        load_dataset("  ")
    with pytest.raises(DataError, match="data set not found"):
        load_dataset(str(tmp_path / "missing"))


# --- issue 14: nothing lost without a word ------------------------------------------------


def test_stray_quote_costs_its_line_only(tmp_path) -> None:
    rows = [f"c{i},Film {i},movie,{1990 + i % 30}" for i in range(1, 61)]
    rows[8] = 'c9,"Film 9,movie,1999'  # line 10
    path = tmp_path / "c.csv"
    path.write_text("id,title,media_type,year\n" + "\n".join(rows) + "\n")
    report = LoadReport()
    cat = load_catalog(path, skip_bad_rows=True, report=report)
    assert len(cat) == 59 and "c9" not in cat and "c60" in cat
    assert (report.loaded, report.skipped) == (59, 1)
    bad = report.examples[0]
    assert (bad.line, bad.field) == (10, "title") and "not closed" in bad.problem
    with pytest.raises(DataError, match=r"line 10, field 'title'.*Fix:"):
        load_catalog(path)


def test_the_report_lists_every_skipped_row(tmp_path) -> None:
    rows = [dict(ROWS[0], id=f"x{i}", media_type="vinyl") for i in range(12)]
    report = LoadReport()
    load_catalog(write_jsonl(tmp_path / "c.jsonl", [*ROWS, *rows]), skip_bad_rows=True,
                 report=report)
    summary = report.summary()
    assert report.skipped == 12 and all(f"line {n}," in summary for n in range(4, 16))


def test_bom_jsonl_loads_the_same_rows(tmp_path) -> None:
    path = write_jsonl(tmp_path / "c.jsonl", ROWS)
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    _same(load_catalog(path))


def test_display_text_is_cleaned_and_ids_are_not(tmp_path) -> None:
    rows = [dict(ROWS[0], title="Arr\u202eival\x00", tags=["\x1b[1mloud", "alie\u2066ns"])]
    cat = load_catalog(write_jsonl(tmp_path / "c.jsonl", rows))
    item = cat["mv-arrival-2016"]
    assert item.title == "Arrival" and item.tags == ["[1mloud", "aliens"]
    with pytest.raises(DataError, match="field 'id'.*control"):
        load_catalog(write_jsonl(tmp_path / "d.jsonl", [dict(ROWS[0], id="a\u202eb")]))


@pytest.mark.parametrize(("stamp", "words"), [("inf", "1900 and 2100"), ("1e30", "1900"),
                                             ("-inf", "1900"), ("1700000000000", "milli")])
def test_impossible_timestamps_are_clear(tmp_path, catalog_path, stamp, words) -> None:
    path = tmp_path / "i.csv"
    path.write_text(INTER + f"u3,mv-arrival-2016,{stamp},play,\n")
    with pytest.raises(DataError, match=r"line 6, field 'timestamp'") as err:
        load_files(catalog_path, path)
    assert words in str(err.value) and "Fix:" in str(err.value)


def test_infinite_rating_and_header_only_file(tmp_path, catalog_path) -> None:
    path = tmp_path / "i.csv"
    path.write_text(INTER + "u3,mv-arrival-2016,1700000000,rating,inf\n")
    with pytest.raises(DataError, match=r"line 6, field 'value'.*infinite"):
        load_files(catalog_path, path)
    path.write_text("user_id,item_id\n")
    with pytest.raises(DataError, match="no interaction rows"):
        load_files(catalog_path, path)
