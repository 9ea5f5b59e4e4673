# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test lint bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

# mpi: mpi4py and the MPICH wheel, so that `make test` runs the two-process tests under mpiexec.
$(STAMP): $(PY) pyproject.toml
	$(PY) -m pip install -q -e ".[all,test,mpi]"
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/chainrule demo

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks examples
	$(VENV)/bin/ruff format --check src tests benchmarks examples

# One BLAS thread per pytest worker: two workers on two cores, no oversubscription.
test: $(STAMP) lint
	OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 $(VENV)/bin/pytest -n 2

bench: $(STAMP)
	for b in benchmarks/*.py; do $(PY) $$b || exit 1; done

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info .pytest_cache
