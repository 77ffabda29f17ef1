"""The bundle: build, load, checksums, and a failed build that leaves the last good one."""

from __future__ import annotations

import json

import pytest

from assistant.settings import Settings
from retrieval.bundle import Bundle, build_bundle, read_manifest
from retrieval.dataset import Dataset
from retrieval.errors import DataError


@pytest.fixture()
def dataset(catalog, log) -> Dataset:
    return Dataset(name="tiny", catalog=catalog, interactions=log, source="tests")


@pytest.fixture()
def encoder(tiny_model_path):
    from retrieval.encoder import load_encoder

    return load_encoder(tiny_model_path)


def test_build_and_load_round_trip(tmp_path, dataset, encoder) -> None:
    out = build_bundle(dataset, tmp_path / "bundle", Settings(), encoder=encoder, progress=False)
    manifest = read_manifest(out)
    assert manifest["dataset"]["items"] == len(dataset.catalog)
    assert manifest["index"]["factory"] == "Flat"
    assert {"catalog.jsonl", "interactions.parquet", "item_vectors.npy", "index/index.faiss"} <= set(manifest["files"])
    b = Bundle.load(out)
    b._encoder = encoder
    assert b.catalog.ids == dataset.catalog.ids
    assert len(b.interactions) == len(dataset.interactions)
    hits = b.retriever().retrieve("Moon Base", n=3)
    assert len(hits) == 3 and all(h.item_id in b.catalog for h in hits)


def test_corrupt_file_is_named(tmp_path, dataset, encoder) -> None:
    out = build_bundle(dataset, tmp_path / "bundle", Settings(), encoder=encoder, progress=False)
    path = out / "item_vectors.npy"
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(DataError, match=r"item_vectors.npy.*checksum.*encore build"):
        Bundle.load(out)
    (out / "catalog.jsonl").unlink()
    with pytest.raises(DataError, match="missing"):
        Bundle.load(out)


def test_not_a_bundle(tmp_path) -> None:
    with pytest.raises(DataError, match="bundle folder not found"):
        Bundle.load(tmp_path / "nope")
    (tmp_path / "x").mkdir()
    with pytest.raises(DataError, match="no manifest.json"):
        Bundle.load(tmp_path / "x")
    (tmp_path / "x" / "manifest.json").write_text(json.dumps({"format": "encore-bundle", "format_version": 99}))
    with pytest.raises(DataError, match="format version 99"):
        Bundle.load(tmp_path / "x")


def test_failed_build_keeps_the_last_good_bundle(tmp_path, dataset, encoder, monkeypatch) -> None:
    out = build_bundle(dataset, tmp_path / "bundle", Settings(), encoder=encoder, progress=False)
    before = read_manifest(out)["created_unix"], (out / "catalog.jsonl").read_bytes()

    import retrieval.index as index_mod

    def boom(self, path):
        raise OSError("disk full while writing the index")

    monkeypatch.setattr(index_mod.FaissIndex, "save", boom)
    with pytest.raises(OSError, match="disk full"):
        build_bundle(dataset, out, Settings(), encoder=encoder, progress=False)
    monkeypatch.undo()
    assert (read_manifest(out)["created_unix"], (out / "catalog.jsonl").read_bytes()) == before
    Bundle.load(out)  # still loads
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".bundle")]  # no leftovers


def test_build_command_json_and_errors(tmp_path, tiny_model_path) -> None:
    from typer.testing import CliRunner

    from assistant.cli import app

    (tmp_path / "c.jsonl").write_text(
        '{"id": "a", "title": "Moon Base", "media_type": "movie", "genres": ["science fiction"]}\n'
        '{"id": "b", "title": "Crypt", "media_type": "movie", "genres": ["horror"]}\n')
    runner = CliRunner()
    result = runner.invoke(app, ["build", "--data", str(tmp_path / "c.jsonl"), "--out", str(tmp_path / "b"),
                                 "--no-finetune", "--json"],
                           env={"ENCORE_RETRIEVAL__ENCODER_MODEL": str(tiny_model_path)})
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["dataset"]["items"] == 2 and summary["index"]["count"] == 2
    assert not summary["encoder"]["finetuned"]
    result = runner.invoke(app, ["build", "--data", str(tmp_path / "missing.jsonl"), "--out", str(tmp_path / "b")])
    assert result.exit_code == 2 and "not found" in result.stderr
    Bundle.load(tmp_path / "b")  # the failed build left the good bundle in place
