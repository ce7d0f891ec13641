# The README's two commands: `make run` opens the app, `make test` runs the whole test suite.
VENV ?= .venv
BIN := $(VENV)/bin
# Tests keep their copy of the starter model in the repo's models/ folder (git-ignored).
TEST_MODELS := $(CURDIR)/models

.PHONY: run test benchmarks

run: $(VENV)/.installed-app
	$(BIN)/threadloom models pull
	$(BIN)/threadloom

test: $(VENV)/.installed-test
	$(BIN)/threadloom --models-dir $(TEST_MODELS) models pull
	THREADLOOM_MODELS_DIR=$(TEST_MODELS) QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -ra

benchmarks: $(VENV)/.installed-test
	$(BIN)/threadloom --models-dir $(TEST_MODELS) models pull
	THREADLOOM_MODELS_DIR=$(TEST_MODELS) QT_QPA_PLATFORM=offscreen $(BIN)/python tests/benchmarks/generation.py

$(VENV)/.installed-app: pyproject.toml packaging/bootstrap.sh
	packaging/bootstrap.sh $(VENV)
	touch $@

$(VENV)/.installed-test: pyproject.toml packaging/bootstrap.sh
	packaging/bootstrap.sh $(VENV) test
	touch $@ $(VENV)/.installed-app
