#!/bin/sh
# Installs the Kafka lab from this offline kit (written by `labkit bundle`): no network, no Maven.
#   sh install.sh [FOLDER]   a venv and the notebooks in FOLDER (default ./kafka-lab), labkit from
#                            the kit's wheels, Kafka's jars into the lab's cache
#   sh install.sh --jars     only the jars (`make lab OFFLINE=KIT` in a clone runs this)
# The jars go to $LABKIT_CACHE, else ~/.cache/labkit; jar folders already there are kept.
set -eu
KIT=$(cd "$(dirname "$0")" && pwd)
PYTHON=${PYTHON:-python3}
CACHE=${LABKIT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/labkit}

want=$(sed -n 's/.*"platform": "\([^"]*\)".*/\1/p' "$KIT/KIT.json")
have=$("$PYTHON" -c 'import sys, sysconfig; print(f"{sysconfig.get_platform()}-py{sys.version_info.major}.{sys.version_info.minor}")')
WHEELS="$KIT/wheels"
if [ "$want" != "$have" ]; then
    other=$(ls -d "$KIT"/wheels-*-py"${have##*-py}" 2>/dev/null | head -1 || true)
    if [ "${1:-}" != "--jars" ] && [ -z "$other" ]; then
        echo "error: this kit was built for $want; this machine is $have." >&2
        echo "Hint: ask for a kit built on (or with --platform for) this machine's platform and Python," >&2
        echo "      or point PYTHON= at a Python $( echo "$want" | sed 's/.*-py//' )." >&2
        exit 2
    fi
    WHEELS=${other:-$WHEELS}
fi

copy_jars() {
    mkdir -p "$CACHE"
    for dir in "$KIT"/cache/*/; do
        name=$(basename "$dir")
        if [ -e "$CACHE/$name" ]; then echo "kept $CACHE/$name"; else cp -R "$dir" "$CACHE/$name" && echo "copied $name"; fi
    done
}

if [ "${1:-}" = "--jars" ]; then
    copy_jars
    exit 0
fi

DEST=${1:-kafka-lab}
"$PYTHON" -m venv "$DEST/.venv"
EXTRAS=$(sed -n 's/.*"extras": "\([^"]*\)".*/\1/p' "$KIT/KIT.json")
"$DEST/.venv/bin/python" -m pip install --quiet --no-index --find-links "$WHEELS" "labkit${EXTRAS:+[$EXTRAS]}"
cp -R "$KIT/notebooks" "$DEST/notebooks"
copy_jars
echo "Installed in $DEST. Next: cd $DEST && .venv/bin/labkit doctor && .venv/bin/labkit up && .venv/bin/labkit jupyter --notebook-dir=notebooks"
