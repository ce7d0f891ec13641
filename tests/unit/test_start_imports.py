"""What a start leaves out: opening the window's session and importing the window load neither numpy (through the
sqlite-vec package, whose extension is found by path) nor httpx (imported by the first download or hosted call).
Each was ~0.1-0.2 s of tests/benchmarks/cold_start.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
START = """
import json, sys
from app.gui.main_window import MainWindow
from app.services.session import open_session
from app.store.health import check_vector_search
session = open_session(sys.argv[1], sys.argv[2])
found = check_vector_search(session.store)  # a KNN query over a vec0 table
session.close()
print(json.dumps({"vec": found, "loaded": sorted(m for m in ("numpy", "httpx", "sqlite_vec") if m in sys.modules)}))
"""


def test_a_start_loads_sqlite_vec_by_path_without_numpy_or_httpx(tmp_path, models_dir):
    started = subprocess.run(
        [sys.executable, "-c", START, str(tmp_path / "data"), str(models_dir)],
        cwd=REPO, env={**os.environ, "QT_QPA_PLATFORM": "offscreen"}, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert started.returncode == 0, started.stderr
    seen = json.loads(started.stdout.splitlines()[-1])
    assert seen["vec"].startswith("sqlite-vec v")  # the extension is loaded and answers
    assert seen["loaded"] == []
