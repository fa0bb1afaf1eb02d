# Thin wrapper over the course CLI and pytest; all logic lives in grader/ and tests/.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
BUILD  := $(CURDIR)/build
JOBS   ?= 2
EXECUTOR ?= local

# Keep Jupyter, IPython and matplotlib state inside build/ so nothing is written to $HOME.
export JUPYTER_RUNTIME_DIR := $(BUILD)/jupyter/runtime
export JUPYTER_CONFIG_DIR  := $(BUILD)/jupyter/config
export JUPYTER_DATA_DIR    := $(BUILD)/jupyter/data
export IPYTHONDIR          := $(BUILD)/ipython
export MPLCONFIGDIR        := $(BUILD)/matplotlib
export MPLBACKEND          := Agg

.PHONY: setup demo test assignments check-assignments selfcheck lectures clean

setup: $(VENV)/.installed

$(VENV)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $@

demo: setup
	$(PY) -m grader demo --executor $(EXECUTOR)

test: setup
	$(PY) -m pytest -n $(JOBS)

assignments: setup
	$(PY) -m grader generate

check-assignments: setup
	$(PY) -m grader generate --check

selfcheck: setup
	$(PY) -m grader selfcheck

lectures: setup
	$(PY) -m grader run lectures solutions --profile smoke --workers $(JOBS)

clean:
	rm -rf $(BUILD) grading runs
