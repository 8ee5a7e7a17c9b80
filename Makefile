# publisher: `make book` builds the sample books into build/, `make test` runs the tests.
# The first use creates .venv and installs what the machine lacks (Debian packages when run as root
# with apt-get; otherwise it stops with one line naming what to install).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
BOOKS  := books/handbook.yml books/ereader.yml books/course-intro.yml books/course-genai.yml books/course-ethics.yml
STAMP  := $(VENV)/.installed

# Debian packages: what WeasyPrint needs to render, the fonts the theme uses (Chinese, Japanese and Korean from
# Noto CJK, emoji in colour from Noto Color Emoji; DejaVu draws Arabic, Hebrew, Cyrillic and Greek), and for the tests
# poppler (pdftotext, pdftoppm), a Java runtime for EPUBCheck and headless Chromium with its driver for the
# web edition's browser tests.
BOOK_DEBS := libpango-1.0-0:libpango-1.0-0 libpangoft2-1.0-0:libpangoft2-1.0-0 \
             fonts-dejavu-core:fonts-dejavu-core fonts-dejavu-extra:fonts-dejavu-extra \
             fonts-linuxlibertine:fonts-linuxlibertine \
             fonts-noto-cjk:fonts-noto-cjk fonts-noto-color-emoji:fonts-noto-color-emoji \
             libharfbuzz-subset0:libharfbuzz-subset0
TEST_DEBS := pdftotext:poppler-utils java:default-jre-headless chromium:chromium chromedriver:chromium-driver

.PHONY: all book test bench lint readme-images docs golden clean sysdeps-book sysdeps-test

all: book

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || \
	  { echo "make: publisher needs Python 3.11 or newer: install it and run 'make PYTHON=python3.11'"; exit 1; }
	@[ -x $(BIN)/python ] || $(PYTHON) -m venv $(VENV) || \
	  { echo "make: cannot create a virtual environment: install python3-venv"; exit 1; }
	$(BIN)/python -m pip install -q --disable-pip-version-check -e '.[dev]'
	@touch $@

# $(1): pairs "command-or-package:debian-package"; installs the packages whose command (or package) is
# missing, or stops with one line naming them.
define need_debs
	@missing=""; for pair in $(1); do have=$${pair%%:*}; p=$${pair#*:}; \
	  command -v $$have >/dev/null 2>&1 || dpkg-query -W -f='$${Status}' $$have 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if ! command -v dpkg-query >/dev/null; then \
	    echo "make: cannot check system packages here; install Pango, DejaVu fonts, poppler-utils and a Java runtime"; \
	  elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "make: installing$$missing"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing) >/dev/null || \
	      { echo "make: apt-get could not install$$missing"; exit 1; }; \
	  else echo "make: missing system packages: sudo apt-get install$$missing"; exit 1; fi; \
	fi
endef

sysdeps-book:
	$(call need_debs,$(BOOK_DEBS))

sysdeps-test: sysdeps-book
	$(call need_debs,$(TEST_DEBS))

book: $(STAMP) sysdeps-book
	$(BIN)/publisher build $(BOOKS) --out build
	@echo "make: the unresolved-link warnings above are planted on purpose (books/kb/BROKEN-LINKS.txt lists them):"
	@echo "make: publisher reports a link to nothing with its place and never drops it silently. The command is $(BIN)/publisher"

# On every core (pytest-xdist); the tests that share a build run on one worker (tests/conftest.py).
test: $(STAMP) sysdeps-test
	$(BIN)/python -m pytest -q -n auto --dist loadgroup

# Stage timings and peak memory on synthetic vaults of 50, 200 and 1000 articles, beside pandoc and WeasyPrint
# alone and the peers (pandoc -> typst, pandoc -> HTML -> WeasyPrint: bench/peers.py);
# writes bench/results/latest.{json,md}. BENCH_ARGS=--quick for N=50 only, or --sizes 50,200.
bench: $(STAMP) sysdeps-book
	$(BIN)/python -m pip install -q --disable-pip-version-check -e '.[dev,bench]'  # the peers' `typst` package
	$(BIN)/python bench/run.py $(BENCH_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check publisher tests

# Real pages of the sample handbook, for the README, and a page of its web edition as Chromium shows it.
readme-images: book sysdeps-test
	$(BIN)/python docs/make_images.py build/handbook.pdf docs/images
	$(BIN)/publisher build books/handbook.yml --format html --out build -q
	chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1200,760 \
	  --screenshot=docs/images/web.png file://$(CURDIR)/build/handbook/chapter-04.html 2>/dev/null

# docs/manifest.md, the manifest reference, from the schema manifest.py validates with (publisher/schema.py);
# README's table of the normalizer's steps, from their declarations (normalize.STEPS).
docs: $(STAMP)
	$(BIN)/python -c 'from publisher.schema import reference; open("docs/manifest.md", "w", encoding="utf-8").write(reference())'
	$(BIN)/python -c 'from pathlib import Path; from publisher.context import with_table; from publisher.normalize import STEPS; \
	  p = Path("README.md"); p.write_text(with_table(p.read_text(encoding="utf-8"), STEPS), encoding="utf-8")'

clean:
	rm -rf build .pytest_cache

# Rewrite the expected diagnostics of tests/data/manifest-errors and tests/data/hostile, and the normalized
# books of tests/golden/, after a deliberate change (read the diff).
golden: $(STAMP)
	UPDATE_GOLDEN=1 $(BIN)/python -m pytest -q tests/test_manifest_errors.py tests/test_editions.py
	UPDATE_GOLDEN=1 $(BIN)/python -m pytest -q tests/test_hostile.py -k hostile_input
	UPDATE_GOLDEN=1 $(BIN)/python -m pytest -q tests/test_golden.py
