"""The data root: an explicit folder wins, else $GDL_ZOO_DATA, else an error naming both."""

import pytest

from gdl_zoo.data.data_root import data_root


def test_explicit_folder_wins_over_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("GDL_ZOO_DATA", str(tmp_path / "env"))
    assert data_root(tmp_path / "given", "x") == tmp_path / "given"
    assert data_root(None, "x") == tmp_path / "env"


@pytest.mark.parametrize("env", [None, ""])
def test_no_root_names_both_ways_and_the_expected_file(env, monkeypatch):
    if env is None:
        monkeypatch.delenv("GDL_ZOO_DATA", raising=False)
    else:
        monkeypatch.setenv("GDL_ZOO_DATA", env)
    with pytest.raises(FileNotFoundError, match="data_dir or set the GDL_ZOO_DATA.*holds a/b.txt"):
        data_root(None, "a/b.txt")
