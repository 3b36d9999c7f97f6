"""Checkpoint-load errors that name the real cause (issue 15, point 4): a missing local folder is a missing
folder; a hub id with the hub switched off (HF_HUB_OFFLINE=1) fails at once and says so; advice names the
hub command line that is installed; a dtype outside the choices is answered with the choices, before any
model loads."""

from __future__ import annotations

from cli_errors_fixtures import media, run, run_process  # noqa: F401

from unireward_sdk.model_refs import hub_cli

SCORE = ("score", "--task", "image_generation", "--mode", "pairwise", "--prompt", "a red square")


def test_a_missing_local_folder_is_reported_as_one(capsys, media, monkeypatch):
    monkeypatch.chdir(media["red"].parent)
    code, out, err = run(capsys, *SCORE, "--model", "./nomodel", "--media", "red.png", "blue.png")
    assert code == 1 and out == ""
    assert "local folder './nomodel' does not exist" in err
    assert "repo id" not in err.lower() and "download" not in err  # not a hub id, nothing to download


def test_offline_a_hub_id_fails_at_once_and_says_why(media):
    proc = run_process(*SCORE, "--model", "someorg/no-such-judge", "--media", media["red"], media["blue"],
                       env={"HF_HUB_OFFLINE": "1"})
    assert proc.returncode == 1
    assert "HF_HUB_OFFLINE is set" in proc.stderr and "local hub cache does not hold it" in proc.stderr
    assert f"`{hub_cli()} download someorg/no-such-judge`" in proc.stderr
    assert "Retrying" not in proc.stderr  # the hub client was never asked: no network back-off


def test_advice_names_the_installed_hub_command_line():
    from importlib import metadata

    scripts = {ep.name for ep in metadata.entry_points(group="console_scripts")}
    assert hub_cli() in scripts | {"hf"}
    if "hf" in scripts:
        assert hub_cli() == "hf"  # huggingface_hub 1.x ships `hf` only


def test_an_unknown_dtype_is_answered_with_the_choices_before_loading(capsys, media):
    # the model folder does not exist: the dtype must be refused before the checkpoint is even looked at
    code, out, err = run(capsys, *SCORE, "--model", media["red"].parent / "no_such_model", "--dtype", "int8",
                         "--media", media["red"], media["blue"])
    assert code == 2 and out == ""
    assert "dtype 'int8'" in err
    assert all(name in err for name in ("bfloat16", "float16", "float32"))
    assert "no_such_model" not in err and "holds the model" not in err
