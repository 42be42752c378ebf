# ringebu-journal — the two set-up commands are `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install demo test test-sqlite bench bench-web browser-deps chromium axe screenshots clean

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

# The web workspace's speed: 100,000 messages on SQLite, 8 moderators at once on PostgreSQL.
bench-web: install
	$(BIN)/python -m bench web

# The browser tests (tests/web/browser/) need Debian's chromium and axe-core's axe.min.js.
# chromium: installed from Debian only when missing (as root, as on CI); axe-core: from npm into
# .cache/axe-core/ (the tests find it there, or where RINGEBU_JOURNAL_AXE says).
CHROMIUM ?= /usr/bin/chromium
AXE_DIR  := .cache/axe-core
AXE      := $(AXE_DIR)/axe.min.js

browser-deps: install chromium axe

chromium:
	@if [ ! -x "$(CHROMIUM)" ]; then \
	  echo "installing chromium from Debian"; \
	  apt-get update -qq >/dev/null && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null; \
	fi

axe: $(AXE)

$(AXE):
	@mkdir -p $(AXE_DIR)
	@cd $(AXE_DIR) && rm -f axe-core-*.tgz && npm pack --silent axe-core@4 >/dev/null && \
	  tar -xzf axe-core-*.tgz --strip-components=1 package/axe.min.js package/LICENSE && rm -f axe-core-*.tgz
	@test -s $(AXE)

# The PNGs of docs/web.md, taken in chromium from a server on a small prepared database.
screenshots: browser-deps
	$(BIN)/python scripts/web_screenshots.py docs/img

clean:
	rm -rf $(VENV) demo-output .pytest_cache .cache
