#!/bin/sh
# "Python 3.10+" held true: the suite's fast, cluster-free tests on pyenv's 3.10 and 3.13.
#   sh tests/test_pythons.sh            (about 2 minutes the first time, seconds after)
# Each interpreter gets a venv in .lab-test/py-<version> with labkit's runtime needs (no Jupyter).
# A missing interpreter is skipped with the reason printed; any failing test fails the script.
set -u
cd "$(dirname "$0")/.."
ROOT=$(pwd)
status=0
TESTS="tests/test_isolation.py tests/chaos/test_failover.py tests/test_clients.py
       tests/cluster/test_lifecycle.py tests/cluster/test_fetch.py tests/test_packaging.py"
# cluster-free: no `lab` fixture, no throwaway cluster, no Maven run
PICK="not slow and not jupyter and not round_trip and not fresh_topic and not types and not carry_hints
      and not rejects and not unknown_fault and not cache_holds and not partial_cache and not kafka_home_is
      and not fresh_fetch and not this_session"
for want in 3.10 3.13; do
    py=$(ls -d /root/.pyenv/versions/$want.*/bin/python 2>/dev/null | sort -V | tail -1)
    if [ -z "$py" ]; then
        echo "SKIP Python $want: no /root/.pyenv/versions/$want.*/bin/python on this machine"
        continue
    fi
    venv="$ROOT/.lab-test/py-$want"
    if [ ! -x "$venv/bin/pytest" ]; then
        "$py" -m venv "$venv" || { echo "FAIL Python $want: venv"; status=1; continue; }
        "$venv/bin/pip" install -q "confluent-kafka>=2.13" "psutil>=5.9" "pandas>=2.0" "pytest>=8" \
            "pytest-timeout>=2.2" tomli || { echo "FAIL Python $want: pip"; status=1; continue; }
        "$venv/bin/pip" install -q --no-deps -e . || { echo "FAIL Python $want: labkit"; status=1; continue; }
    fi
    echo "== Python $want ($py)"
    # -o addopts= : the project's addopts name nbval, which this venv does not need
    PATH="$venv/bin:$PATH" "$venv/bin/python" -m pytest -q -o addopts= -p no:cacheprovider \
        -k "$(echo $PICK)" $TESTS || status=1
done
exit $status
