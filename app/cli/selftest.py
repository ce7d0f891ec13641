"""`threadloom --self-test`: one line per check with its time, then exit 0 only if every check passed.

The checks are app.services.selftest's, plus the window's (app.gui.selftest) when Qt can be imported. The data
folder is a temporary one; models come from the usual models folder (`--models-dir`, $THREADLOOM_MODELS_DIR, else
`models/` in the data directory `--data-dir` or $THREADLOOM_HOME names, else the platform's).
"""

from __future__ import annotations

import argparse
import sys
import time

from app.platform.paths import data_dir, models_dir
from app.services.selftest import Check, CheckResult, SelfTest


def run_self_test(args: argparse.Namespace) -> int:
    models = models_dir(data_dir(args.data_dir), args.models_dir)
    test = SelfTest(models)
    test.checks.append(_window_check(test))
    print(f"threadloom self-test: models from {models}", flush=True)
    started = time.perf_counter()

    def report(result: CheckResult) -> None:
        print(result.line(), flush=True)

    results = test.run(report)
    failed = [result.name for result in results if not result.passed]
    total = time.perf_counter() - started
    if failed:
        print(f"threadloom: error: self-test failed ({total:.2f} s): {', '.join(failed)}", file=sys.stderr)
        return 1
    print(f"all {len(results)} checks passed in {total:.2f} s", flush=True)
    return 0


def _window_check(test: SelfTest) -> Check:
    def run() -> str:
        from app.gui.selftest import check_window  # Qt only when the check runs

        return check_window(test.session)

    return Check("window", run, needs=("data folder",))
