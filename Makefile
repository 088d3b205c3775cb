# The two commands: `make rehearse` (the workflows on the local cloud) and `make test`.
# Both create the virtualenv .venv from the pinned requirements when it is missing or stale.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# pytest workers: the suite is CPU-bound (one per core of the two it is sized for; `make test JOBS=1` runs serially)
JOBS ?= 2

.PHONY: rehearse test bench venv policy docs

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

rehearse: venv
	$(PY) -m localcloud rehearse

test: venv
	$(PY) -m pytest -q -n $(JOBS) --dist loadscope

bench: venv
	for b in bench/*.py; do $(PY) $$b || exit 1; done

# The offline policy verdict over every stack variant (no credentials); fails on a mandatory violation.
policy: venv
	for stack in primary dr primary+genomics; do $(PY) -m localcloud policy --stack $$stack || exit 1; done

# Regenerate docs/ from what the program renders (tests/unit/test_docs.py fails when they differ).
docs: venv
	$(PY) -m localcloud.docs
