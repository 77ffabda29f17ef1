"""The bundle: build, load, checksums, and a failed build that leaves the last good one."""

from __future__ import annotations

import json

import numpy as np
import pytest

from assistant.settings import Settings
from retrieval.bundle import Bundle, build_bundle, read_manifest
from retrieval.bundle_store import CURRENT, leftovers, resolve
from retrieval.dataset import Dataset
from retrieval.errors import DataError


def live(out):
    """The folder of the bundle's live generation."""
    return resolve(out).folder


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
    assert {"catalog.jsonl", "interactions.parquet", "item_vectors.npy",
            "index/index.faiss"} <= set(manifest["files"])
    b = Bundle.load(out)
    b._encoder = encoder
    assert b.catalog.ids == dataset.catalog.ids
    assert len(b.interactions) == len(dataset.interactions)
    hits = b.retriever().retrieve("Moon Base", n=3)
    assert len(hits) == 3 and all(h.item_id in b.catalog for h in hits)


def test_corrupt_file_is_named(tmp_path, dataset, encoder) -> None:
    out = build_bundle(dataset, tmp_path / "bundle", Settings(), encoder=encoder, progress=False)
    path = live(out) / "item_vectors.npy"
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(DataError, match=r"item_vectors.npy.*checksum.*encore build"):
        Bundle.load(out)
    (live(out) / "catalog.jsonl").unlink()
    with pytest.raises(DataError, match="missing"):
        Bundle.load(out)


def test_not_a_bundle(tmp_path) -> None:
    with pytest.raises(DataError, match="bundle folder not found"):
        Bundle.load(tmp_path / "nope")
    (tmp_path / "x").mkdir()
    with pytest.raises(DataError, match="no manifest.json"):
        Bundle.load(tmp_path / "x")
    (tmp_path / "x" / "manifest.json").write_text(
        json.dumps({"format": "encore-bundle", "format_version": 99}))
    with pytest.raises(DataError, match="format version 99"):
        Bundle.load(tmp_path / "x")


def test_failed_build_keeps_the_last_good_bundle(tmp_path, dataset, encoder, monkeypatch) -> None:
    out = build_bundle(dataset, tmp_path / "bundle", Settings(), encoder=encoder, progress=False)
    before = read_manifest(out)["created_unix"], (live(out) / "catalog.jsonl").read_bytes()

    import retrieval.index as index_mod

    def boom(self, path):
        raise OSError("disk full while writing the index")

    monkeypatch.setattr(index_mod.FaissIndex, "save", boom)
    with pytest.raises(OSError, match="disk full"):
        build_bundle(dataset, out, Settings(), encoder=encoder, progress=False)
    monkeypatch.undo()
    after = read_manifest(out)["created_unix"], (live(out) / "catalog.jsonl").read_bytes()
    assert after == before
    Bundle.load(out)  # still loads
    assert leftovers(out) == []  # the failed build removed its temporary folder


def test_build_command_json_and_errors(tmp_path, tiny_model_path) -> None:
    from typer.testing import CliRunner

    from assistant.cli import app

    (tmp_path / "c.jsonl").write_text(
        '{"id": "a", "title": "Moon Base", "media_type": "movie", "genres": ["science fiction"]}\n'
        '{"id": "b", "title": "Crypt", "media_type": "movie", "genres": ["horror"]}\n')
    runner = CliRunner()
    result = runner.invoke(app, ["build", "--data", str(tmp_path / "c.jsonl"),
                                 "--out", str(tmp_path / "b"), "--no-finetune", "--json"],
                           env={"ENCORE_RETRIEVAL__ENCODER_MODEL": str(tiny_model_path)})
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["dataset"]["items"] == 2 and summary["index"]["count"] == 2
    assert not summary["encoder"]["finetuned"] and summary["generation"] == "gen-000001"
    result = runner.invoke(app, ["build", "--data", str(tmp_path / "missing.jsonl"),
                                 "--out", str(tmp_path / "b")])
    assert result.exit_code == 2 and "not found" in result.stderr
    Bundle.load(tmp_path / "b")  # the failed build left the good bundle in place


def test_build_command_without_the_ranker_says_so(tmp_path, tiny_model_path) -> None:
    from typer.testing import CliRunner

    from assistant.cli import app

    (tmp_path / "c.jsonl").write_text(
        '{"id": "a", "title": "Moon Base", "media_type": "movie", "genres": ["science fiction"]}\n')
    result = CliRunner().invoke(app, ["build", "--data", str(tmp_path / "c.jsonl"), "--out",
                                      str(tmp_path / "b"), "--no-finetune", "--no-ranker"],
                                env={"ENCORE_RETRIEVAL__ENCODER_MODEL": str(tiny_model_path)})
    assert result.exit_code == 0, result.output
    ranker = json.loads((live(tmp_path / "b") / "manifest.json").read_text())["ranker"]
    assert ranker["kind"] == "none" and "not requested" in ranker["reason"]


# -- the ranker inside the bundle -------------------------------------------------------------


def _quick_ranker_config():
    from retrieval.config import PipelineConfig

    return PipelineConfig(retrieval={"n_candidates": 40, "collaborative": 30},
                          training={"cuts": 2},
                          ranker={"max_rounds": 15, "min_data_in_leaf": 10, "num_threads": 1})


def test_bundle_round_trip_with_a_trained_ranker(tmp_path, encoder) -> None:
    from retrieval.dataset import load_dataset
    from retrieval.features import FEATURE_SCHEMA, FeatureMatrix
    from retrieval.ranker import LightGBMRanker

    steps: list[str] = []
    ds = load_dataset("demo:60")
    out = build_bundle(ds, tmp_path / "bundle", Settings(), encoder=encoder, progress=False,
                       pipeline=_quick_ranker_config(), on_step=steps.append)
    manifest = read_manifest(out)
    assert manifest["ranker"]["kind"] == "lightgbm" and manifest["ranker"]["rounds"] >= 1
    assert {"ranker/ranker/model.txt", "ranker/ranker/manifest.json", "ranker/stats/arrays.npz",
            "ranker/stats/stats.json", "ranker/training.json"} <= set(manifest["files"])
    assert any("training the lightgbm ranker" in s for s in steps)
    b = Bundle.load(out)
    assert b.has_ranker and isinstance(b.ranker, LightGBMRanker)
    assert b.stats is not None and b.stats.item_ids == ds.catalog.ids
    assert b.stats.popularity(b.stats.rows(ds.catalog.ids)).sum() > 0
    assert b.ranker_training["config"]["training"]["cuts"] == 2
    assert b.pipeline_config == _quick_ranker_config()
    x = np.zeros((2, len(FEATURE_SCHEMA.names)), dtype="float32")
    assert b.ranker.score(FeatureMatrix(x, FEATURE_SCHEMA.names)).shape == (2,)
    # The encoder given to the build is saved with it: the bundle loads the same model.
    assert manifest["encoder"]["folder"] == "encoder"
    assert np.allclose(b.encoder.encode(["Moon Base"]), encoder.encode(["Moon Base"]), atol=1e-5)
    # The ranker's files are under the checksums like everything else.
    model = live(out) / "ranker" / "ranker" / "model.txt"
    model.write_text(model.read_text() + "\n")
    with pytest.raises(DataError, match=r"model.txt.*checksum"):
        Bundle.load(out)


def test_small_log_or_no_ranker_still_loads(tmp_path, dataset, encoder) -> None:
    out = build_bundle(dataset, tmp_path / "small", Settings(), encoder=encoder, progress=False)
    manifest = read_manifest(out)
    assert manifest["ranker"]["kind"] == "none"
    assert "only 12 users" in manifest["ranker"]["reason"]
    b = Bundle.load(out)
    assert not b.has_ranker and b.ranker is None and b.stats is None
    assert b.ranker_training is None
    out = build_bundle(dataset, tmp_path / "off", Settings(), encoder=encoder, progress=False,
                       train_ranker=False)
    assert read_manifest(out)["ranker"] == {"kind": "none",
                                            "reason": "not requested (train_ranker=False)"}
    assert Bundle.load(out).ranker is None


# -- generations behind a pointer ---------------------------------------------------------------


def snapshot(folder) -> dict[str, tuple[int, int, int]]:
    """Every path under ``folder`` with its inode, size and modification time."""
    return {p.relative_to(folder).as_posix(): (p.lstat().st_ino, p.lstat().st_size,
                                               p.lstat().st_mtime_ns)
            for p in sorted(folder.rglob("*"))}


def test_builds_add_generations_behind_the_pointer(tmp_path, dataset, encoder) -> None:
    out = tmp_path / "bundle"
    for _ in range(3):
        build_bundle(dataset, out, Settings(), encoder=encoder, progress=False,
                     train_ranker=False)
    # The live generation, the one before it, the pointer and the build lock; nothing else.
    assert sorted(p.name for p in out.iterdir()) == [".build.lock", CURRENT, "gen-000002",
                                                     "gen-000003"]
    assert (out / CURRENT).read_text() == "gen-000003\n"
    b = Bundle.load(out)
    assert b.path == out / "gen-000003" and b.root == out
    # A loaded bundle keeps reading its own generation while the next build swaps in.
    build_bundle(dataset, out, Settings(), encoder=encoder, progress=False, train_ranker=False)
    assert (b.path / "catalog.jsonl").is_file() and leftovers(out) == []


def test_flat_bundle_loads_as_is_and_the_next_build_adopts_it(tmp_path, dataset,
                                                               encoder) -> None:
    import shutil

    src = build_bundle(dataset, tmp_path / "src", Settings(), encoder=encoder, progress=False,
                       train_ranker=False)
    flat = tmp_path / "flat"
    shutil.copytree(live(src), flat)  # the older layout: manifest.json directly in the folder
    before = snapshot(tmp_path)
    assert Bundle.load(flat).path == flat and read_manifest(flat)["format"] == "encore-bundle"
    assert snapshot(tmp_path) == before  # reading moved, renamed and deleted nothing
    build_bundle(dataset, flat, Settings(), encoder=encoder, progress=False, train_ranker=False)
    # The flat bundle became gen-000000 (kept as the previous one), then its files went.
    assert sorted(p.name for p in flat.iterdir()) == [".build.lock", CURRENT, "gen-000000",
                                                      "gen-000001"]
    assert Bundle.load(flat).path == flat / "gen-000001"
    assert Bundle.load(flat / "gen-000000").catalog.ids == dataset.catalog.ids


def test_two_crashes_of_the_old_swap_never_pick_the_half_deleted_folder(
        tmp_path, dataset, encoder) -> None:
    """The issue's case: the old swap left a half-deleted ``.bundle.old-111`` (touched last)
    and the intact ``.bundle.old-222`` after two crashes, and no ``bundle`` at all."""
    import os
    import shutil

    site = tmp_path / "site"
    src = build_bundle(dataset, site / "src", Settings(), encoder=encoder, progress=False,
                       train_ranker=False)
    intact, half = site / ".bundle.old-222", site / ".bundle.old-111"
    shutil.copytree(live(src), intact)
    shutil.copytree(live(src), half)
    (half / "catalog.jsonl").unlink()
    os.utime(half, None)
    os.utime(intact, (1, 1))  # modification times would choose the wrong one
    shutil.rmtree(src)
    before = snapshot(site)
    b = Bundle.load(site / "bundle")
    assert b.path == intact and b.catalog.ids == dataset.catalog.ids
    assert snapshot(site) == before  # and nothing was renamed
    build_bundle(dataset, site / "bundle", Settings(), encoder=encoder, progress=False,
                 train_ranker=False)
    assert sorted(p.name for p in site.iterdir()) == ["bundle"]  # old leftovers gone
    assert sorted(p.name for p in (site / "bundle").iterdir()) == [
        ".build.lock", CURRENT, "gen-000000", "gen-000001"]
    assert Bundle.load(site / "bundle" / "gen-000000").path.name == "gen-000000"


def test_a_second_build_into_the_same_folder_is_refused(tmp_path, dataset, encoder) -> None:
    from retrieval.bundle_store import write_generation

    out = build_bundle(dataset, tmp_path / "bundle", Settings(), encoder=encoder,
                       progress=False, train_ranker=False)
    with pytest.raises(RuntimeError, match="wrote no manifest"), write_generation(out):
        with pytest.raises(DataError, match="another build"):
            build_bundle(dataset, out, Settings(), encoder=encoder, progress=False)
    Bundle.load(out)
    assert leftovers(out) == []


def test_a_file_is_not_a_bundle_folder(tmp_path, dataset, encoder) -> None:
    (tmp_path / "f").write_text("x")
    with pytest.raises(DataError, match="a file"):
        build_bundle(dataset, tmp_path / "f", Settings(), encoder=encoder, progress=False)
    with pytest.raises(DataError, match="a file"):
        Bundle.load(tmp_path / "f")
