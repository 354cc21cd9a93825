# Both user-facing targets create .venv and install what they need on first use.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.prunekit-installed
export TF_CPP_MIN_LOG_LEVEL ?= 2
export PYTHONUNBUFFERED := 1

.PHONY: study test bench reproduce plugins clean

$(STAMP): pyproject.toml constraints.txt plugins/prunekit-example/pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints.txt -e '.[test,ray]' -e plugins/prunekit-example
	touch $(STAMP)

study: $(STAMP)
	$(VENV)/bin/prunekit-study --config=configs/quick.py --workdir=runs/quick-$$(date +%Y%m%d-%H%M%S)

test: $(STAMP)
	$(PY) -m pytest -q -n 2 tests

# The digits variants of the four seed studies and the timing axis, then the seed studies'
# mnist1d variants (each within 30 min on 2 CPU cores: see each config's docstring); longer
# than make test.
reproduce: $(STAMP)
	for c in oneshot_vs_gradual loss_modelling contrastive_timing ssl_masks timing_axis; do \
	  $(VENV)/bin/prunekit-study --config=configs/$$c.py:digits --workdir=runs/$$c-digits || exit 1; done
	for c in oneshot_vs_gradual loss_modelling contrastive_timing ssl_masks; do \
	  $(VENV)/bin/prunekit-study --config=configs/$$c.py:mnist1d --workdir=runs/$$c-mnist1d || exit 1; done

bench: $(STAMP)
	for b in benchmarks/bench_*.py; do echo "== $$b"; $(PY) $$b || echo "== $$b: a target was missed (or it failed): see above"; done

plugins: $(STAMP)
	$(VENV)/bin/prunekit-plugins

clean:
	rm -rf $(VENV) runs build *.egg-info
