# Shortcuts for tasks.py (which needs nothing but Python >= 3.11; see README.md):
#   make book   = python3 tasks.py book   build the whole rendered book -> _build/html/index.html
#   make test   = python3 tasks.py test   run the whole test suite (PYTEST_ARGS="..." passes options)
#   make run CHAPTER=02_plateaus PARAMS="-p N_fig 1024"   re-run one chapter -> _build/run/02_plateaus/
#   make env | lock | clean | distclean
# Each creates/updates the pinned environment (.venv from requirements.lock) first.

PYTHON      ?= python3
PYTEST_ARGS ?=
CHAPTER     ?=
PARAMS      ?=

.PHONY: help env book test run lock clean distclean

help:
	@sed -n '1,6p' Makefile | sed 's/^# \{0,1\}//'

env book lock clean distclean:
	$(PYTHON) tasks.py $@

test:
	$(PYTHON) tasks.py test $(PYTEST_ARGS)

run:
	@test -n "$(CHAPTER)" || { echo 'usage: make run CHAPTER=02_plateaus PARAMS="-p N_fig 1024"'; exit 2; }
	$(PYTHON) tasks.py run $(CHAPTER) $(PARAMS)
