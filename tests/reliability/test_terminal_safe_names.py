"""Names from strangers (export titles, file names) with line breaks, terminal escape sequences and right-to-left
marks print as visible escapes: one line each, nothing a terminal would act on, and errors stay one line."""

from __future__ import annotations

import json

from exports import GOOD, chatgpt, write
from hostile import assert_one_line_error, run_cli

HOSTILE = "Report\n\x1b]0;owned\x07\x1b[2J\u202efdp.exe\tend"
ACTED_ON = ("\x1b", "\x07", "\u202e", "\t")


def assert_inert(text: str) -> None:
    assert not any(code in text for code in ACTED_ON), text


def test_imported_titles_print_on_one_line_without_escape_sequences(tmp_path):
    data = tmp_path / "data"
    imported = run_cli(data, "import", str(write(tmp_path, [chatgpt(HOSTILE, GOOD)])))
    assert imported.returncode == 0, imported.stderr
    assert imported.stdout.count("\n") == 1 and imported.stdout.startswith("imported ")
    assert "Report\\n\\x1b]0;owned\\x07" in imported.stdout and "\\u202efdp.exe\\tend" in imported.stdout
    listed = run_cli(data, "threads", "list")
    assert listed.stdout.count("\n") == 1
    for output in (imported.stdout, listed.stdout, run_cli(data, "threads", "show", "1").stdout):
        assert_inert(output)
    assert json.loads(run_cli(data, "threads", "list", "--json").stdout)[0]["title"] == HOSTILE  # kept as it is


def test_a_hostile_file_name_is_refused_on_one_line(tmp_path):
    data = tmp_path / "data"
    run_cli(data, "import", str(write(tmp_path, [chatgpt("Files", GOOD)])))
    bad = tmp_path / "evil\n\x1b[31m\u202eexe.txt.bin"
    bad.write_bytes(b"\x00\x01")
    result = run_cli(data, "attach", "--thread", "1", "--no-summary", str(bad))
    assert result.returncode == 1
    [line] = result.stdout.splitlines()
    assert "refused" in line and "cannot be attached" in line
    assert_inert(result.stdout)


def test_an_error_naming_a_hostile_path_stays_one_line(tmp_path):
    result = run_cli(tmp_path / "data", "import", str(tmp_path / "gone\n\x1b[31m\u202e.json"))
    line = assert_one_line_error(result, "cannot read")
    assert_inert(line)
