"""Read an attached file in a separate, limited process, so a hostile file can only fail its own attachment.

The parsers (pymupdf, python-docx over lxml, charset detection) run on strangers' bytes. Here they run in a child
Python started isolated (`-I`: nothing from the current directory; a scrubbed environment) with caps on its memory
(RLIMIT_AS) and CPU time (RLIMIT_CPU), and a wall-clock deadline the parent enforces: a file that exhausts any of
them, or crashes the parser outright, fails with a one-line UnreadableFile, and the app goes on. The request (with
any password) travels on the child's standard input, never its command line; the pages come back as one JSON object
on standard output.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from app.ingest.extract import Extracted, PasswordNeeded, UnreadableFile, extract
from app.platform.environment import child_environment, run_in_background

MEMORY_LIMIT = 2 * 2**30  # bytes of address space: pymupdf and lxml on a 200 MB attachment stay well below
CPU_LIMIT_S = 120
WALL_LIMIT_S = 180  # CPU time does not count a child stuck waiting; the parent's deadline does


def extract_isolated(
    path: Path,
    *,
    kind: str,
    name: str,
    password: str | None = None,
) -> Extracted:
    """`extract` in a child process under the limits. Raises UnreadableFile (or PasswordNeeded) naming `name`."""
    outcome = extract_isolated_many([(path, kind, name)], password=password)[0]
    if isinstance(outcome, Exception):
        raise outcome
    return outcome


def extract_isolated_many(
    files: list[tuple[Path, str, str]], *, password: str | None = None
) -> list[Extracted | UnreadableFile | PasswordNeeded]:
    """`extract` of each (path, kind, name) in one child process under the limits: starting a child took longer
    than reading a small text file. If that child fails as a whole (a crash, a limit), each file is read again in a
    child of its own, so a hostile file still fails alone."""
    if not files:
        return []
    try:
        answers = _run_child(files, password)
    except UnreadableFile as failed:
        if len(files) == 1:
            return [failed]
        return [outcome for file in files for outcome in extract_isolated_many([file], password=password)]
    return [_outcome(answer) for answer in answers]


def _run_child(files: list[tuple[Path, str, str]], password: str | None) -> list[dict]:
    """The child's answer for each file; UnreadableFile (naming the file when alone) if the child itself fails."""
    name = files[0][2] if len(files) == 1 else f"one of {len(files)} files"
    wall_limit_s = WALL_LIMIT_S
    request = {"files": [{"path": str(path), "kind": kind, "name": file_name} for path, kind, file_name in files],
               "password": password, "memory_limit": MEMORY_LIMIT, "cpu_limit_s": CPU_LIMIT_S}  # fmt: skip
    try:
        child = subprocess.run(
            [sys.executable, "-I", "-m", "app.ingest.isolated"],
            input=json.dumps(request), capture_output=True, text=True, encoding="utf-8", timeout=wall_limit_s,
            env=child_environment(),
        )  # fmt: skip
    except subprocess.TimeoutExpired as exc:
        raise UnreadableFile(
            f"{name} took over {wall_limit_s:g} s to read and was stopped: it may be damaged or hostile; "
            "attach an intact copy"
        ) from exc
    if child.returncode != 0:
        raise UnreadableFile(f"{name} made its reader fail ({_how(child.returncode)}); attach an intact copy")
    try:
        answers = json.loads(child.stdout)
    except ValueError as exc:
        raise UnreadableFile(f"{name} made its reader fail (no answer); attach an intact copy") from exc
    if isinstance(answers, dict) and "error" in answers:  # the answers as a whole were over the memory cap
        raise UnreadableFile(answers["error"])
    if not isinstance(answers, list) or len(answers) != len(files):
        raise UnreadableFile(f"{name} made its reader fail (no answer); attach an intact copy")
    return answers


def _outcome(answer: dict) -> Extracted | UnreadableFile | PasswordNeeded:
    if "password" in answer:
        return PasswordNeeded(answer["name"], wrong=answer["password"] == "wrong")
    if "error" in answer:
        return UnreadableFile(answer["error"])
    return Extracted(answer["kind"], answer["pages"])


def _how(returncode: int) -> str:
    if returncode == -signal.SIGXCPU or returncode == -signal.SIGKILL:
        return "it used more time or memory than a file may"
    if returncode < 0:
        return f"it crashed with signal {-returncode}"
    return f"exit status {returncode}"


def _limit(memory: int, cpu_s: int) -> None:
    try:
        import resource
    except ImportError:  # Windows: the wall-clock deadline is the only cap
        return
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s + 1))


def main() -> int:
    request = json.loads(sys.stdin.read())
    _limit(request["memory_limit"], request["cpu_limit_s"])
    run_in_background()  # reading yields the CPU to a reply
    # The answer gets standard output to itself: what the parsers print (MuPDF warnings, at C level too) goes to
    # standard error instead.
    answer = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    sys.stdout = sys.stderr
    try:
        answer.write(json.dumps([_answer(file | {"password": request["password"]}) for file in request["files"]]))
    except MemoryError:  # the text itself, as JSON, is more than the cap allows: each file is then read alone
        answer.write(json.dumps({"error": _too_big(request["files"][0]["name"])}))
    answer.close()
    return 0


def _answer(request: dict) -> dict:
    name = request["name"]
    try:
        extracted = extract(Path(request["path"]), kind=request["kind"], name=name, password=request["password"])
    except PasswordNeeded as exc:
        return {"password": "wrong" if exc.wrong else "missing", "name": name}
    except UnreadableFile as exc:
        return {"error": str(exc)}
    except MemoryError:
        return {"error": _too_big(name)}
    except Exception as exc:  # a parser's own bug on this file: it fails alone
        detail = " ".join(f"{type(exc).__name__}: {exc}".split())[:160]
        return {"error": f"{name} could not be read ({detail}); attach an intact copy"}
    return {"kind": extracted.kind, "pages": extracted.pages}


def _too_big(name: str) -> str:
    return f"{name} needs more memory to read than a file may: it may be damaged or hostile; attach an intact copy"


if __name__ == "__main__":
    sys.exit(main())
