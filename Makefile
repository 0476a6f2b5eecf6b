# Two commands from a fresh clone:
#   make lab   - set everything up, start the cluster, open JupyterLab on notebooks/
#   make test  - set everything up and run the whole suite, notebooks included
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Jupyter refuses to run as root (containers, CI) unless told to.
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: setup lab test check engine test-engine up down status bench clean compose-up compose-down

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

setup: $(STAMP)
	$(BIN)/labkit fetch

lab: setup
	$(BIN)/labkit up
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/jupyter lab --ServerApp.ip=127.0.0.1 --notebook-dir=notebooks $(ROOT_FLAG)

# The suite runs its own cluster (.lab-test/, ports 19092-19094): a learner's lab is untouched.
# Compose and browser tests skip, with their reason, where no engine or Chromium can be had.
test: setup
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m pytest

# The contributors' fast loop: the tests that need no broker restarts, and notebook 00.
check: setup
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m pytest -m "not slow and not engine and not browser" tests notebooks/00_kafka_and_the_lab_cluster.ipynb

# A Docker engine, the compose plugin and the offline Kafka image for the compose tests (CI).
engine: setup
	PATH="$(CURDIR)/$(BIN):$$PATH" bash scripts/engine.sh

# The compose engine tests alone, on the suite's own project (needs `make engine`; CI exports
# LABKIT_KAFKA_IMAGE=labkit/kafka-offline:<version> where Docker Hub cannot be reached).
test-engine: setup
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m pytest -m engine tests/cluster

up: setup
	$(BIN)/labkit up

down:
	$(BIN)/labkit down

status:
	$(BIN)/labkit status

# The Docker path (README: Docker): the same cluster as containers of docker-compose.yml.
compose-up: $(STAMP)
	$(BIN)/labkit --backend compose up

compose-down:
	$(BIN)/labkit --backend compose down

bench: setup
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python bench/run.py

clean:
	-$(BIN)/labkit down
	rm -rf $(VENV) .lab-test tests/output
