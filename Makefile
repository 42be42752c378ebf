# ringebu-journal — the two set-up commands are `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install demo test test-sqlite bench clean

# Everything installs from PyPI: PDF/A rendering is Typst (a self-contained wheel) with the fonts
# shipped in ringebu_journal/export/fonts/; no system package is needed.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

# Import bundled sample conversations, judge, review, export a Noark 5 package, validate it.
demo: install
	$(BIN)/ringebu-journal demo --out demo-output

# The whole suite, on SQLite and on PostgreSQL (a local server is started when one is installed).
test: install
	@bash scripts/run-tests.sh

bench: install
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) demo-output .pytest_cache
