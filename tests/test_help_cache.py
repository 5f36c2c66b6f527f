"""``duban --help`` replayed from var/cache prints what main drew before the cache existed
(tests/help_golden.json: piped, piped at other widths, in a real terminal), draws afresh
whatever changes its page, and never creates var/ where there is none."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest

from flows.commands import help_cache

GOLDEN = Path(__file__).with_name("help_golden.json")
# The entry point, then which of the command machinery the process imported (stderr's last line).
PROBE = ("import sys\nfrom flows.cli import main\nsys.argv[0] = 'duban'\n"
         "try:\n    main()\nfinally:\n"
         "    print(sorted(m for m in ('typer', 'rich', 'flows.commands.app') if m in sys.modules),"
         " file=sys.stderr)\n")
# name → (arguments, extra environment, terminal columns or None for a pipe)
FORMS: dict[str, tuple[tuple[str, ...], dict[str, str], int | None]] = {
    "pipe": (("--help",), {}, None),
    "pipe -h": (("-h",), {}, None),
    "pipe, COLUMNS=60": (("--help",), {"COLUMNS": "60"}, None),
    "pipe, COLUMNS=120": (("--help",), {"COLUMNS": "120"}, None),
    "pipe, FORCE_COLOR": (("--help",), {"FORCE_COLOR": "1"}, None),
    "terminal 80": (("--help",), {"TERM": "xterm-256color"}, 80),
    "terminal 100": (("--help",), {"TERM": "xterm-256color"}, 100),
    "terminal 100, NO_COLOR": (("--help",), {"TERM": "xterm-256color", "NO_COLOR": "1"}, 100),
}


def base_env() -> dict[str, str]:
    """The test's environment without anything that changes how help is drawn."""
    return {k: v for k, v in os.environ.items()
            if k not in help_cache._ENV_NAMES and not k.startswith(help_cache._ENV_PREFIXES)
            and not k.endswith(help_cache._ENV_SUFFIXES)}


def _in_terminal(command: list[str], env: dict[str, str], cwd: Path, columns: int) -> tuple[int, bytes, bytes]:
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, columns, 0, 0))
    process = subprocess.Popen(command, env=env, cwd=cwd, stdin=slave, stdout=slave,
                               stderr=subprocess.PIPE)
    os.close(slave)
    out = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        out += chunk
    os.close(master)
    assert process.stderr is not None
    err = process.stderr.read()
    process.stderr.close()
    return process.wait(timeout=120), out, err


def run_help(form: str, cwd: Path, env: dict[str, str]) -> tuple[dict[str, object], list[str]]:
    """One fresh ``duban`` process: its exit, stdout and stderr, and which machinery it loaded."""
    args, extra, columns = FORMS[form]
    command = [sys.executable, "-c", PROBE, *args]
    env = {**env, **extra}
    if columns is None:
        result = subprocess.run(command, env=env, cwd=cwd, capture_output=True, timeout=120)
        code, out, err = result.returncode, result.stdout, result.stderr
    else:
        code, out, err = _in_terminal(command, env, cwd, columns)
    *messages, loaded = err.decode().splitlines()
    return {"exit": code, "stdout": out.decode().splitlines(keepends=True), "stderr": messages}, \
        json.loads(loaded.replace("'", '"'))


def pages(var: Path) -> list[Path]:
    return sorted((var / "cache").glob("help-*.txt"))


def test_help_is_drawn_once_then_replayed_as_main_printed_it(tmp_path: Path) -> None:
    (tmp_path / "var").mkdir()
    env = {**base_env(), "DUBAN_VAR": str(tmp_path / "var")}
    drawn = {form: run_help(form, tmp_path, env) for form in FORMS}
    replayed = {form: run_help(form, tmp_path, env) for form in FORMS}
    got = {form: result for form, (result, _) in drawn.items()}
    if os.environ.get("DUBAN_WRITE_HELP_GOLDEN"):
        GOLDEN.write_text(json.dumps(got, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    expected = json.loads(GOLDEN.read_text(encoding="utf-8"))
    assert set(expected) == set(FORMS)
    assert "\x1b[" in "".join(expected["terminal 80"]["stdout"])  # the terminal forms are coloured
    assert expected["terminal 100, NO_COLOR"]["stdout"] != expected["terminal 100"]["stdout"]
    assert expected["pipe"]["stdout"][1].startswith(" 用法：duban [选项] 命令 [参数]...")
    assert len(expected["pipe, COLUMNS=60"]["stdout"]) > len(expected["pipe, COLUMNS=120"]["stdout"])
    for form in FORMS:
        first, first_loaded = drawn[form]
        again, again_loaded = replayed[form]
        assert first == expected[form], f"{form}: drawn afresh, not what main printed"
        assert again == expected[form], f"{form}: replayed, not what main printed"
        assert "flows.commands.app" in first_loaded
        assert again_loaded == [], f"{form}: the replay imported {again_loaded}"
    # one page per distinct drawing (the two terminals and widths are all different pages)
    assert len(pages(tmp_path / "var")) == len(FORMS)


def test_a_stored_page_is_what_is_replayed_and_only_for_its_own_key(tmp_path: Path) -> None:
    (tmp_path / "var").mkdir()
    env = {**base_env(), "DUBAN_VAR": str(tmp_path / "var")}
    run_help("pipe", tmp_path, env)
    [page] = pages(tmp_path / "var")
    page.write_text("旧的帮助\n", encoding="utf-8")
    assert run_help("pipe", tmp_path, env)[0]["stdout"] == ["旧的帮助\n"]
    # another width is another page, drawn afresh
    wide, loaded = run_help("pipe, COLUMNS=120", tmp_path, env)
    assert wide == json.loads(GOLDEN.read_text(encoding="utf-8"))["pipe, COLUMNS=120"]
    assert "flows.commands.app" in loaded


def test_no_var_folder_is_made_for_help(tmp_path: Path) -> None:
    env = {**base_env(), "DUBAN_VAR": str(tmp_path / "var")}
    for _ in range(2):
        result, loaded = run_help("pipe", tmp_path, env)
        assert result["exit"] == 0 and "flows.commands.app" in loaded
    assert not (tmp_path / "var").exists()


def test_the_key_follows_the_code_the_terminal_and_the_environment(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for package in help_cache._PACKAGES:
        (tmp_path / package).mkdir(parents=True, exist_ok=True)
    source = tmp_path / "flows" / "commands" / "units.py"
    source.write_text("'''单位'''\n", encoding="utf-8")
    monkeypatch.setattr(help_cache, "_DUBAN", tmp_path)
    for name in list(os.environ):
        if name not in base_env():
            monkeypatch.delenv(name)
    key = help_cache.fingerprint(("--help",))
    assert help_cache.fingerprint(("--help",)) == key
    assert help_cache.fingerprint(("-h",)) != key
    argv = sys.argv
    monkeypatch.setattr(sys, "argv", ["/usr/local/bin/duban2", "--help"])  # the usage line's name
    assert help_cache.fingerprint(("--help",)) != key
    monkeypatch.setattr(sys, "argv", argv)
    monkeypatch.setenv("HOME_OF_SOMETHING_ELSE", "x")  # unrelated variables do not matter
    assert help_cache.fingerprint(("--help",)) == key
    for name, value in (("COLUMNS", "100"), ("TERM", "dumb"), ("NO_COLOR", "1"), ("TYPER_USE_RICH", "0"),
                        ("_TYPER_FORCE_DISABLE_TERMINAL", "1"), ("DUBAN_VAR", "elsewhere"),
                        ("UNICODE_VERSION", "9.0.0"), ("_DUBAN_COMPLETE", "bash_source"),
                        ("_DUBAN2_COMPLETE", "zsh_source")):
        monkeypatch.setenv(name, value)
        assert help_cache.fingerprint(("--help",)) != key, name
        monkeypatch.delenv(name)
    assert help_cache.fingerprint(("--help",)) == key
    source.write_text("'''单位与节点'''\n", encoding="utf-8")  # a help text edited
    assert help_cache.fingerprint(("--help",)) != key


def test_the_recorder_gives_up_when_output_goes_around_it() -> None:
    import io

    stream = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    recorder = help_cache.Recorder(stream)
    with pytest.raises(TypeError):
        recorder.write(b"")  # type: ignore[arg-type]  # click's probe for a binary stream
    recorder.write("用法")
    assert recorder.parts == ["用法"] and not recorder.bypassed
    assert recorder.encoding == "utf-8"
    recorder.buffer.write(b"x")
    assert recorder.bypassed


def test_a_page_with_anything_on_stderr_is_not_kept(tmp_path: Path) -> None:
    from plan import plan_file

    (tmp_path / "var").mkdir()
    plan_file.set_cache_dir(tmp_path / "var" / "cache")
    try:
        for warned in (False, True):
            recording = help_cache.Recording()
            try:
                print("用法：duban")
                if warned:
                    print("警告：…", file=sys.stderr)
            finally:
                recording.stop()
            recording.store(f"key-{warned}")
    finally:
        plan_file.set_cache_dir(None)
    assert [p.name for p in pages(tmp_path / "var")] == ["help-key-False.txt"]
    assert (tmp_path / "var" / "cache" / "help-key-False.txt").read_text(encoding="utf-8") == "用法：duban\n"
