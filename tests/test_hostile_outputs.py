"""``reconstruct --out DIR`` never deletes or overwrites what it did not write: its outputs are listed in a manifest
with their hashes; a folder that is neither empty nor ours is refused in one line naming it, files a user added
are kept, a file of ours the user changed stops the run, and ``--out .`` works in an empty folder. Write errors
(disk full, read-only) are one line naming the path."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import pytest

from sceneprior.cli.main import main
from sceneprior.inference.outputs import MANIFEST
from sceneprior.training.tiny import save_tiny_run
from test_bad_data_corpus import tree_digest

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory) -> Path:
    return save_tiny_run(tmp_path_factory.mktemp("runs") / "tiny", "pixelnerf", resolution=16)


def _reconstruct(run: Path, out: str | Path, capsys, *extra: str) -> tuple[int, list[str]]:
    code = main(["reconstruct", "--model", str(run), "--out", str(out), "--views", "3", "--resolution", "16",
                 "--mesh-resolution", "8", *extra])
    err = capsys.readouterr().err.strip().splitlines()
    return code, err


def _refused(code: int, err: list[str], culprit: Path | str, words: str) -> None:
    assert code == 2 and len(err) == 1 and err[0].startswith("error: "), err
    assert str(culprit) in err[0] and words in err[0], err[0]


def test_folder_with_a_stray_summary_json_is_refused_and_the_thesis_survives(tiny_run, tmp_path, capsys):
    proj = tmp_path / "proj"
    (proj / "src").mkdir(parents=True)
    (proj / "summary.json").write_text("{}")
    (proj / "src" / "thesis.tex").write_text("x")
    before = tree_digest(proj)
    code, err = _reconstruct(tiny_run, proj, capsys)
    _refused(code, err, proj, "was not written by sceneprior")
    assert tree_digest(proj) == before


def test_rerun_keeps_files_the_user_added_and_removes_only_our_stale_outputs(tiny_run, tmp_path, capsys):
    out = tmp_path / "rec"
    assert _reconstruct(tiny_run, out, capsys, "--views", "4")[0] == 0
    manifest = json.loads((out / MANIFEST).read_text())
    assert manifest["complete"] and "views/view_003.png" in manifest["files"] and "mesh.glb" in manifest["files"]
    (out / "notes.txt").write_text("my notes")
    (out / "views" / "favourite.png").write_bytes((out / "views" / "view_001.png").read_bytes())
    assert _reconstruct(tiny_run, out, capsys, "--views", "2")[0] == 0
    assert (out / "notes.txt").read_text() == "my notes" and (out / "views" / "favourite.png").is_file()
    assert sorted(p.name for p in (out / "views").glob("view_*.png")) == ["view_000.png", "view_001.png"]
    assert set(json.loads((out / MANIFEST).read_text())["files"]) == {
        str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()} - {"notes.txt", "views/favourite.png", MANIFEST}


def test_an_output_the_user_edited_stops_the_run_and_nothing_changes(tiny_run, tmp_path, capsys):
    out = tmp_path / "rec"
    assert _reconstruct(tiny_run, out, capsys, "--no-mesh")[0] == 0
    (out / "index.html").write_text("<p>my edited page</p>")
    before = tree_digest(out)
    code, err = _reconstruct(tiny_run, out, capsys, "--no-mesh")
    _refused(code, err, out / "index.html", "changed since sceneprior wrote it")
    assert tree_digest(out) == before


def test_a_user_file_where_an_output_must_go_is_not_overwritten(tiny_run, tmp_path, capsys):
    out = tmp_path / "rec"
    assert _reconstruct(tiny_run, out, capsys, "--no-mesh")[0] == 0
    (out / "mesh.ply").write_text("the user's own mesh")
    code, err = _reconstruct(tiny_run, out, capsys)  # now with a mesh
    _refused(code, err, out / "mesh.ply", "not written by sceneprior")
    assert (out / "mesh.ply").read_text() == "the user's own mesh"
    assert not list(out.glob(".sceneprior-tmp-*"))


def test_a_manifest_naming_files_outside_the_folder_is_not_obeyed(tiny_run, tmp_path, capsys):
    out = tmp_path / "rec"
    assert _reconstruct(tiny_run, out, capsys, "--no-mesh")[0] == 0
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    manifest = json.loads((out / MANIFEST).read_text())
    manifest["files"]["../victim.txt"] = manifest["files"]["index.html"]
    manifest["files"][str(victim)] = manifest["files"]["index.html"]
    (out / MANIFEST).write_text(json.dumps(manifest))
    assert _reconstruct(tiny_run, out, capsys, "--no-mesh")[0] == 0
    assert victim.read_text() == "keep me"


def test_a_broken_manifest_is_refused_in_one_line(tiny_run, tmp_path, capsys):
    out = tmp_path / "rec"
    out.mkdir()
    (out / MANIFEST).write_text("{not json")
    code, err = _reconstruct(tiny_run, out, capsys)
    _refused(code, err, out / MANIFEST, "not a readable sceneprior output manifest")


def test_out_dot_in_an_empty_folder_writes_there(tiny_run, tmp_path, capsys, monkeypatch):
    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    code, err = _reconstruct(tiny_run, ".", capsys, "--no-mesh")
    assert code == 0, err
    assert (here / "index.html").is_file() and (here / MANIFEST).is_file() and Path.cwd() == here
    assert not [p for p in tmp_path.iterdir() if p.name != "here"]  # nothing written beside it
    assert _reconstruct(tiny_run, ".", capsys, "--no-mesh")[0] == 0  # and again, over its own outputs


def test_out_dot_in_a_folder_of_the_users_is_refused(tiny_run, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "paper.tex").write_text("x")
    code, err = _reconstruct(tiny_run, ".", capsys)
    _refused(code, err, ".", "was not written by sceneprior")
    assert [p.name for p in tmp_path.iterdir()] == ["paper.tex"]


def test_out_is_a_file(tiny_run, tmp_path, capsys):
    (tmp_path / "out").write_text("x")
    code, err = _reconstruct(tiny_run, tmp_path / "out", capsys)
    _refused(code, err, tmp_path / "out", "is not a folder")


@pytest.mark.parametrize("code_, words", [(errno.ENOSPC, "cannot write (No space left on device); free some space"),
                                          (errno.EROFS, "cannot write (Read-only file system); write elsewhere")])
def test_disk_full_or_read_only_while_writing_is_one_line_naming_the_path(tiny_run, tmp_path, capsys, monkeypatch,
                                                                         code_, words):
    from sceneprior.inference import outputs

    def refuse(path, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003
        raise OSError(code_, os.strerror(code_))  # as PIL / the OS report it: no file name

    monkeypatch.setattr(outputs, "write_png", refuse)
    code, err = _reconstruct(tiny_run, tmp_path / "out", capsys)
    _refused(code, err, tmp_path / "out", words)
    assert list(tmp_path.iterdir()) == []



# --------------------------------------------------------------------------------------------- data check's picture


@pytest.fixture
def small_dataset(tmp_path):
    from test_loaders import make_srn_dataset

    make_srn_dataset(tmp_path / "data", num_scenes=1, num_views=3, size=8)
    return tmp_path / "data"


def test_data_check_never_overwrites_a_users_file_named_like_its_picture(small_dataset, tmp_path, capsys, monkeypatch):
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    (work / "data_check.png").write_text("the user's own file")
    assert main(["data", "check", str(small_dataset)]) == 0
    out = capsys.readouterr().out
    assert (work / "data_check.png").read_text() == "the user's own file"
    assert f"plot: {work / 'data_check_1.png'}" in out and "was not written by data check; kept" in out
    assert main(["data", "check", str(small_dataset)]) == 0  # its own picture is replaced, no new name
    assert f"plot: {work / 'data_check_1.png'}" in capsys.readouterr().out and not (work / "data_check_2.png").exists()


def test_data_check_refuses_an_explicit_plot_path_holding_a_users_file(small_dataset, tmp_path, capsys):
    mine = tmp_path / "figure.png"
    mine.write_bytes(b"\x89PNG not ours")
    code = main(["data", "check", str(small_dataset), "--plot", str(mine)])
    _refused(code, capsys.readouterr().err.strip().splitlines(), mine, "was not written by data check")
    assert mine.read_bytes() == b"\x89PNG not ours"
