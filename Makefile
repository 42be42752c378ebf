# ringebu-journal — the two set-up commands are `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install demo test test-sqlite bench system-deps clean

$(STAMP): pyproject.toml
	@$(MAKE) --no-print-directory system-deps
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

# PDF/A rendering (weasyprint) needs Pango and a font; install them where they are missing.
system-deps:
	@bash scripts/system-deps.sh

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
