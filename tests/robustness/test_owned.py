"""The ownership rules of folders facefarm builds whole (datasheet, exports), without rendering."""

from __future__ import annotations

import pytest

from facefarm.dataset.source import staged_folder
from facefarm.sample.owned import OWNER_FILE, NotOurs, check_replaceable


def test_a_file_in_the_way_of_the_folder_or_of_its_parent_is_refused(tmp_path):
    f = tmp_path / "f"
    f.write_text("x")
    for dest in (f, f / "coco"):
        with pytest.raises(NotOurs, match="is a file, not a folder") as e:
            check_replaceable(dest)
        assert e.value.path == f
    (tmp_path / "link").symlink_to(tmp_path)
    with pytest.raises(NotOurs, match="symbolic link"):
        check_replaceable(tmp_path / "link")
    assert f.read_text() == "x"


def test_staged_folder_replaces_its_own_output_only(tmp_path):
    dest = tmp_path / "coco"
    with staged_folder(dest) as tmp:
        (tmp / "a").mkdir()
        (tmp / "a" / "1.png").write_bytes(b"1")
    assert (dest / OWNER_FILE).exists() and (dest / "a" / "1.png").exists()
    with staged_folder(dest) as tmp:  # its own: replaced whole
        (tmp / "2.png").write_bytes(b"2")
    assert sorted(p.name for p in dest.rglob("*")) == [OWNER_FILE, "2.png"]
    (dest / "README").write_text("mine")
    with pytest.raises(NotOurs, match="README"):
        with staged_folder(dest) as tmp:
            (tmp / "3.png").write_bytes(b"3")
    assert (dest / "README").read_text() == "mine" and (dest / "2.png").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["coco"]  # no temporary left


def test_a_file_added_while_building_stops_the_swap(tmp_path):
    dest = tmp_path / "sheet"
    dest.mkdir()
    with pytest.raises(NotOurs, match="late.txt"):
        with staged_folder(dest) as tmp:
            (tmp / "datasheet.md").write_text("x")
            (dest / "late.txt").write_text("saved meanwhile")
    assert (dest / "late.txt").read_text() == "saved meanwhile"


@pytest.mark.parametrize("url", [False, True])
def test_overwrite_deletes_only_sample_names_locally_and_through_fsspec(tmp_path, url):
    from facefarm.catalog.vocabulary import sample_id
    from facefarm.farm import job as jobs
    from facefarm.farm.plan import Job
    from facefarm.sample import writer
    from facefarm.sample.store import open_store

    store = open_store(f"local://{tmp_path}" if url else str(tmp_path))
    job = Job(catalog={"catalog_version": 1}, catalog_hash="c" * 64, seed=0, n=4, backend="pyrender")
    jobs.claim_output(store, job)
    for i in range(3):
        writer.write_sample(
            store,
            sample_id(i),
            {"image": b"x"},
            {"sample_id": sample_id(i), "index": i, "seed": 0, "catalog_hash": "c" * 64},
        )
    (tmp_path / "samples" / "notes.txt").write_text("keep")
    assert jobs.scan(store, 4).done == [0, 1, 2]
    other = Job(catalog={"catalog_version": 1}, catalog_hash="d" * 64, seed=0, n=4, backend="pyrender")
    assert jobs.claim_output(store, other, overwrite=True).overwritten
    assert sorted(p.name for p in (tmp_path / "samples").iterdir()) == ["notes.txt"]


def test_without_job_json_overwrite_deletes_only_what_facefarm_records_list(tmp_path):
    from facefarm.catalog.vocabulary import sample_id
    from facefarm.farm import job as jobs
    from facefarm.farm.plan import Job
    from facefarm.sample import writer
    from facefarm.sample.store import open_store

    store = open_store(tmp_path)
    writer.write_sample(
        store,
        sample_id(1),
        {"image": b"x"},
        {"sample_id": sample_id(1), "index": 1, "render": {"generator": "facefarm"}},
    )
    (tmp_path / "samples" / "000000.png").write_bytes(b"a user's photo")
    job = Job(catalog={"catalog_version": 1}, catalog_hash="c" * 64, seed=0, n=4, backend="pyrender")
    with pytest.raises(jobs.JobMismatch, match="000000.png.*no facefarm record lists it"):
        jobs.claim_output(store, job, overwrite=True)
    assert sorted(p.name for p in (tmp_path / "samples").iterdir()) == ["000000.png", "000001.json", "000001.png"]
    (tmp_path / "samples" / "000000.png").rename(tmp_path / "photo.png")
    jobs.claim_output(store, job, overwrite=True)
    assert not (tmp_path / "samples").exists() and (tmp_path / "photo.png").exists()


def test_an_export_of_a_facefarm_without_ownership_files_is_recognised_at_its_place_only(tmp_path):
    from facefarm.dataset.source import legacy_export

    ds = tmp_path / "ds"
    old = ds / "exports" / "facesynthetics"
    (old / "train").mkdir(parents=True)
    for name in ("000000.png", "000000_seg.png", "000000_ldmks.txt"):
        (old / "train" / name).write_bytes(b"x")
    (ds / "dataset.json").write_text('{"generator": "facefarm"}')
    assert check_replaceable(old, legacy_export("facesynthetics")) == {
        "train/000000.png",
        "train/000000_seg.png",
        "train/000000_ldmks.txt",
    }
    (old / "README").write_text("mine")
    with pytest.raises(NotOurs, match="README"):
        check_replaceable(old, legacy_export("facesynthetics"))
    (old / "README").unlink()
    (ds / "dataset.json").write_text('{"generator": "someone else"}')  # not a facefarm dataset: no proof
    with pytest.raises(NotOurs, match="000000"):
        check_replaceable(old, legacy_export("facesynthetics"))


def test_a_file_slipping_in_during_the_swap_is_kept_in_sight(tmp_path, monkeypatch):
    import facefarm.dataset.source as source

    dest = tmp_path / "sheet"
    with staged_folder(dest) as tmp:
        (tmp / "a.md").write_text("1")
    real = source.remove_owned

    def late(folder, files):  # a file saved between the last check and the swap
        (folder / "late.txt").write_text("mine")
        return real(folder, files)

    monkeypatch.setattr(source, "remove_owned", late)
    with pytest.warns(UserWarning, match="moved to"):
        with staged_folder(dest) as tmp:
            (tmp / "a.md").write_text("2")
    (kept,) = tmp_path.glob("sheet-kept-*")
    assert (kept / "late.txt").read_text() == "mine" and (dest / "a.md").read_text() == "2"
