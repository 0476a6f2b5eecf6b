# Two commands from a fresh clone:
#   make lab   - set everything up, start the cluster, open JupyterLab on notebooks/
#   make test  - set everything up and run the whole suite, notebooks included
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Jupyter refuses to run as root (containers, CI) unless told to.
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)
# When this make began: `make test` and `make check` record their wall time, install included,
# in .lab-test/timings/ for `make bench` to report (issue 21's targets: 30 and 3 minutes).
START := $(shell date +%s)
TIMED = @mkdir -p .lab-test/timings && echo $$(( $$(date +%s) - $(START) )) > .lab-test/timings/$(1)

.PHONY: setup lab test check engine test-engine up down status bench clean compose-up compose-down

# `make lab OFFLINE=KIT` installs from an offline kit (`labkit bundle KIT`): no index, no Maven.
PIP_OFFLINE := $(if $(OFFLINE),--no-index --find-links $(abspath $(OFFLINE))/wheels,)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(if $(OFFLINE),,$(BIN)/python -m pip install --quiet --upgrade pip)
	$(BIN)/python -m pip install --quiet $(PIP_OFFLINE) -e ".[dev]"
	touch $(STAMP)

setup: $(STAMP)
	$(if $(OFFLINE),sh $(OFFLINE)/install.sh --jars,)
	$(BIN)/labkit fetch

# When JupyterLab exits, labkit says the cluster is still running and how to stop it;
# `make lab STOP=1` stops it instead. `make lab IDLE=60` stops it after 60 min without a client.
lab: setup
	$(BIN)/labkit up $(if $(IDLE),--idle-stop $(IDLE),)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/labkit jupyter $(if $(STOP),--stop-on-exit,) --notebook-dir=notebooks $(ROOT_FLAG)

# The suite runs its own cluster (.lab-test/, ports 19092-19094): a learner's lab is untouched.
# Compose and browser tests skip, with their reason, where no engine or Chromium can be had.
# The fast, cluster-free tests also run on Python 3.10 and 3.13 (pyenv's, where present).
test: setup
	sh tests/test_pythons.sh
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m pytest --junitxml=.lab-test/timings/junit.xml
	$(call TIMED,make_test_s)

# The contributors' fast loop: the tests that need no broker restarts, and notebook 00.
check: setup
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m pytest -m "not slow and not engine and not browser" tests notebooks/00_kafka_and_the_lab_cluster.ipynb
	$(call TIMED,make_check_s)

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

# The suite's and the bench's brokers are stopped before their folders go (never the learner's lab).
clean:
	-LABKIT_STATE_DIR=$(CURDIR)/.lab-test/cluster LABKIT_OWNER=test-suite $(BIN)/labkit down --wipe
	-LABKIT_STATE_DIR=$(CURDIR)/bench/output/cluster LABKIT_OWNER=bench $(BIN)/labkit down --wipe
	rm -rf $(VENV) .lab-test tests/output
