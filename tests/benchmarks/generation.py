"""Generation speed: raw llama-cpp-python vs a turn through Threadloom's service and worker, in one run.

Prints tokens/s (generation after the first token) and time to first token, median of N runs, and the app/raw
ratios; then, with the window open, the largest gap between ticks of a 5 ms QTimer while a reply streams (the GUI
thread's worst stall). Same GGUF, same thread counts, same prompts, same sampling on both sides. Asserts nothing.

    THREADLOOM_MODELS_DIR=models .venv/bin/python tests/benchmarks/generation.py [--runs 5] [--tokens 128]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from app.core.domain import ReplyFinished  # noqa: E402
from app.services.models import ModelService  # noqa: E402
from app.services.session import open_session  # noqa: E402

PROMPTS = [
    "Write a long story about a lighthouse keeper.",
    "Explain in detail how bread is made, step by step.",
    "Describe a walk through a forest in autumn, at length.",
    "Write a long letter to a friend about a journey by train.",
    "Tell a long tale about a cat who becomes a sailor.",
    "Describe the history of a small mountain village.",
    "Write a detailed guide to planting a vegetable garden.",
]


def raw_runs(model_path: Path, settings, sampling, prompts: list[str]) -> list[tuple[float, float, int]]:
    """(ttft_s, tokens_per_s, tokens) per prompt, straight through llama-cpp-python."""
    import llama_cpp
    from llama_cpp import Llama
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    llm = Llama(
        model_path=str(model_path),
        n_ctx=settings["n_ctx"],
        n_threads=settings["n_threads"],
        n_threads_batch=settings["n_threads_batch"],
        verbose=False,
    )
    formatter = Jinja2ChatFormatter(
        template=llm.metadata["tokenizer.chat_template"],
        eos_token=llm._model.token_get_text(llm.token_eos()),
        bos_token=llm._model.token_get_text(llm.token_bos()),
        add_generation_prompt=True,
    )
    vocab = llama_cpp.llama_model_get_vocab(llm._model.model)
    results = []
    for prompt in prompts:
        started = time.perf_counter()
        rendered = formatter(messages=[{"role": "user", "content": prompt}])
        tokens = llm.tokenize(rendered.prompt.encode(), add_bos=not rendered.added_special, special=True)
        if sampling.seed is not None:
            llm.set_seed(sampling.seed)
        first = None
        count = 0
        for token in llm.generate(
            tokens,
            temp=sampling.temperature,
            top_p=sampling.top_p,
            top_k=sampling.top_k,
            min_p=sampling.min_p,
            repeat_penalty=sampling.repeat_penalty,
        ):
            if llama_cpp.llama_vocab_is_eog(vocab, token):
                break
            llm.detokenize([token])
            if first is None:
                first = time.perf_counter()
            count += 1
            if count >= sampling.max_tokens:
                break
        end = time.perf_counter()
        results.append((first - started, (count - 1) / (end - first), count))
    return results


def app_runs(session, prompts: list[str]) -> list[tuple[float, float, int]]:
    """The same prompts as new threads through ChatService (store writes and the worker process included)."""
    results = []
    for prompt in prompts:
        thread = session.chat.new_thread()
        started = time.perf_counter()
        first = None
        finished = None
        for event in session.chat.send(thread.id, prompt):
            if first is None and type(event).__name__ == "TokenEvent":
                first = time.perf_counter()
            if isinstance(event, ReplyFinished):
                finished = event
        end_tokens = finished.reply.usage.completion_tokens
        results.append((first - started, finished.reply.timings.tokens_per_s, end_tokens))
    return results


def gui_worst_stall(session, prompt: str) -> tuple[float, int, int]:
    """Largest gap (ms) between 5 ms timer ticks on the GUI thread while the window streams one reply.

    Returns (worst gap, ticks, characters streamed into the view)."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QElapsedTimer, QTimer
    from PySide6.QtWidgets import QApplication

    from app.gui.main_window import FIRST_RUN_SIZE, MainWindow

    app = QApplication.instance() or QApplication([])
    window = MainWindow(session)
    window.resize(FIRST_RUN_SIZE)  # not fitted to the 800 px offscreen screen: figures stay comparable
    window.show()
    while not window.is_settled:
        app.processEvents()
    gaps: list[float] = []
    clock = QElapsedTimer()
    clock.start()
    last = [clock.nsecsElapsed()]

    def tick() -> None:
        now = clock.nsecsElapsed()
        gaps.append((now - last[0]) / 1e6)
        last[0] = now

    timer = QTimer()
    timer.setInterval(5)
    timer.timeout.connect(tick)
    window.composer.setPlainText(prompt)
    window.send_message()
    last[0] = clock.nsecsElapsed()
    timer.start()
    while window.is_streaming:
        app.processEvents()
        time.sleep(0.001)
    timer.stop()
    streamed = len(session.store.current_path(session.store.list_threads()[0].id)[-1].content)
    closed: list[bool] = []
    window.closed.connect(lambda: closed.append(True))
    window.close()  # the session closes in the background: wait for it before its folder goes
    while not closed:
        app.processEvents()
        time.sleep(0.01)
    return max(gaps), len(gaps), streamed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--no-gui", action="store_true")
    args = parser.parse_args()

    models_dir = Path(os.environ.get("THREADLOOM_MODELS_DIR", Path(__file__).resolve().parents[2] / "models"))
    with tempfile.TemporaryDirectory() as data:
        session = open_session(data, models_dir)
        session.chat.sampling = replace(session.chat.sampling, max_tokens=args.tokens, seed=1234)
        spec = ModelService(models_dir).spec()
        app_settings = session.settings
        n_ctx = min(app_settings.n_ctx, spec.context_length)
        settings = {"n_ctx": n_ctx, "n_threads": app_settings.n_threads, "n_threads_batch": app_settings.n_threads_batch}
        prompts = (PROMPTS * ((args.runs // len(PROMPTS)) + 1))[: args.runs]
        print(f"model {spec.name} ({spec.quantization}), {args.runs} runs x {args.tokens} tokens, threads {settings}")
        session.router.preload()
        raw = raw_runs(models_dir / spec.file, settings, session.chat.sampling, prompts)
        app = app_runs(session, prompts)

        def med(rows, i):
            return statistics.median(row[i] for row in rows)

        print(f"{'':8}{'TTFT s':>10}{'tok/s':>10}{'tokens':>10}")
        print(f"{'raw':8}{med(raw, 0):>10.3f}{med(raw, 1):>10.1f}{med(raw, 2):>10.0f}")
        print(f"{'app':8}{med(app, 0):>10.3f}{med(app, 1):>10.1f}{med(app, 2):>10.0f}")
        print(f"ratio app/raw: throughput {med(app, 1) / med(raw, 1):.3f}, TTFT {med(app, 0) / med(raw, 0):.2f}")
        if not args.no_gui:
            stall, ticks, streamed = gui_worst_stall(session, PROMPTS[0])
            print(f"GUI: worst gap between 5 ms ticks while streaming {stall:.1f} ms ({ticks} ticks, {streamed} chars)")
        else:
            session.close()


if __name__ == "__main__":
    main()
