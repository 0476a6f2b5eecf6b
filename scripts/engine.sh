#!/usr/bin/env bash
# scripts/engine.sh -- make this machine able to run the lab's docker-compose.yml with no registry.
#
#   scripts/engine.sh                 # idempotent: does only what is missing, then says "ready"
#   LABKIT_KAFKA_IMAGE=labkit/kafka-offline:<v> docker compose up -d --wait
#
# Steps, each skipped when already done:
#   1. Docker engine: `apt-get install docker.io` when there is no dockerd.
#   2. dockerd started in the background when `docker info` does not answer (overlay2, else vfs);
#      its log and pid are in $LABKIT_ENGINE_DIR.
#   3. The compose v2 plugin, built from the Go module proxy, when `docker compose version` fails.
#   4. The image labkit/kafka-offline:<KAFKA_VERSION>: a debootstrap'd Debian bookworm minbase with
#      a Java 17 JRE (rootfs tarball and base image cached), plus labkit's cached Kafka jars, laid out
#      like the official apache/kafka image (build context: docker/kafka-offline/).
#
# Environment:
#   LABKIT_ENGINE_DIR   state: dockerd log/pid, rootfs tarball, build context (~/.cache/labkit/engine)
#   LABKIT_ENGINE_STORAGE_DRIVER  force a dockerd storage driver (default: overlay2, then vfs)
#   LABKIT_ENGINE_TIMEOUT         seconds to wait for dockerd to answer (default 60)
#   PYTHON              a Python with labkit installed, used when `labkit` is not on PATH
#   COMPOSE_VERSION     the compose module version to build (default v2.40.3)
#   LABKIT_ENGINE_REBUILD=1       rebuild the Kafka image even if it exists (the base is reused)
# Needs root (or sudo) for apt, dockerd and debootstrap. Docker Hub is never contacted.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STATE=${LABKIT_ENGINE_DIR:-$HOME/.cache/labkit/engine}
TIMEOUT=${LABKIT_ENGINE_TIMEOUT:-60}
COMPOSE_VERSION=${COMPOSE_VERSION:-v2.40.3}
SUITE=bookworm
BASE_IMAGE=labkit/debian-jre17:$SUITE
mkdir -p "$STATE"

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; fi

T0=$SECONDS
STEP_T=$SECONDS
step() { STEP_T=$SECONDS; echo "engine: $*"; }
done_step() { echo "engine:   ... $* ($((SECONDS - STEP_T)) s)"; }
die() { echo "engine: ERROR: $*" >&2; exit 1; }

# The one pinned Kafka release, read from labkit/config.py (never written down twice).
KAFKA_VERSION=$(sed -n 's/^KAFKA_VERSION *= *"\([^"]*\)".*/\1/p' "$REPO/labkit/config.py")
[ -n "$KAFKA_VERSION" ] || die "could not read KAFKA_VERSION from $REPO/labkit/config.py"
IMAGE=labkit/kafka-offline:$KAFKA_VERSION

# --- 1. the Docker engine package -------------------------------------------------------------
apt_install() {
  if [ ! -f "$STATE/.apt-updated" ] || [ -n "$(find "$STATE/.apt-updated" -mmin +1440 2>/dev/null)" ]; then
    $SUDO apt-get update -qq
    touch "$STATE/.apt-updated"
  fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "$@" > "$STATE/apt.log" 2>&1 \
    || { tail -20 "$STATE/apt.log" >&2; die "apt-get install $* failed (log: $STATE/apt.log)"; }
}

step "Docker engine (dockerd)"
if command -v dockerd > /dev/null; then
  done_step "present: $(dockerd --version)"
else
  apt_install docker.io
  done_step "installed docker.io: $(dockerd --version)"
fi

# --- 2. dockerd running ---------------------------------------------------------------------
docker_answers() { timeout 10 docker info > /dev/null 2>&1; }

wait_docker() {  # wait_docker PID: poll `docker info` until a deadline; fail early if dockerd died
  local pid=$1 deadline=$((SECONDS + TIMEOUT))
  while ! docker_answers; do
    if ! kill -0 "$pid" 2>/dev/null; then return 1; fi
    if [ $SECONDS -ge "$deadline" ]; then return 2; fi
    sleep 0.5
  done
}

start_dockerd() {  # start_dockerd DRIVER
  local log="$STATE/dockerd.log"
  echo "engine:   starting dockerd --storage-driver=$1 (log: $log)"
  echo "=== $(date -u +%FT%TZ) dockerd --storage-driver=$1" >> "$log"
  # setsid: dockerd outlives this script and its terminal.
  $SUDO setsid dockerd --storage-driver="$1" >> "$log" 2>&1 < /dev/null &
  local pid=$!
  echo "$pid" > "$STATE/dockerd.pid"
  local rc=0
  wait_docker "$pid" || rc=$?
  if [ $rc -eq 0 ]; then
    echo "$1" > "$STATE/storage-driver"
    return 0
  fi
  if [ $rc -eq 2 ]; then
    tail -20 "$log" >&2
    die "dockerd did not answer within ${TIMEOUT} s (log: $log)"
  fi
  return 1  # dockerd exited: this driver does not work here
}

step "Docker daemon"
if docker_answers; then
  done_step "already answering ($(docker info --format '{{.Driver}}' 2>/dev/null) storage)"
else
  if [ -n "${LABKIT_ENGINE_STORAGE_DRIVER-}" ]; then
    drivers=$LABKIT_ENGINE_STORAGE_DRIVER
  elif [ -s "$STATE/storage-driver" ]; then
    drivers=$(cat "$STATE/storage-driver")  # the one that worked last time (its images live there)
  else
    drivers="overlay2 vfs"
  fi
  started=""
  for d in $drivers; do
    if start_dockerd "$d"; then started=$d; break; fi
    echo "engine:   dockerd exited with --storage-driver=$d; $(tail -1 "$STATE/dockerd.log")"
  done
  [ -n "$started" ] || die "dockerd did not start with any of: $drivers (log: $STATE/dockerd.log)"
  done_step "started, storage driver $started"
fi

# --- 3. the compose v2 plugin ----------------------------------------------------------------
step "docker compose v2 plugin"
if docker compose version > /dev/null 2>&1; then
  done_step "present: $(docker compose version --short 2>/dev/null || docker compose version)"
else
  GO=$(command -v go || echo /usr/local/go/bin/go)
  [ -x "$GO" ] || die "docker compose is missing and there is no Go toolchain to build it (install Go >= 1.24)"
  plugins=${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins
  mkdir -p "$plugins"
  dir=$(cd "$STATE" && "$GO" mod download -json "github.com/docker/compose/v2@$COMPOSE_VERSION" 2>> "$STATE/compose-build.log" \
        | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  [ -n "$dir" ] && [ -d "$dir" ] || die "go mod download of compose $COMPOSE_VERSION gave no module directory"
  echo "engine:   go build compose $COMPOSE_VERSION (log: $STATE/compose-build.log)"
  (cd "$dir" && GOFLAGS=-mod=mod "$GO" build -trimpath \
      -ldflags "-s -w -X github.com/docker/compose/v2/internal.Version=$COMPOSE_VERSION" \
      -o "$plugins/docker-compose" ./cmd) > "$STATE/compose-build.log" 2>&1 \
    || { tail -20 "$STATE/compose-build.log" >&2; die "building compose $COMPOSE_VERSION failed"; }
  docker compose version > /dev/null || die "docker compose still fails after the build"
  done_step "built $COMPOSE_VERSION into $plugins"
fi

# --- 4. the Kafka image ----------------------------------------------------------------------
image_exists() { docker image inspect "$1" > /dev/null 2>&1; }

apt_mirror() {  # the Debian mirror apt already uses on this machine
  local m=""
  if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    m=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources)
  fi
  if [ -z "$m" ] && [ -f /etc/apt/sources.list ]; then
    m=$(awk '$1 == "deb" && $0 !~ /security/ {for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) {print $i; exit}}' /etc/apt/sources.list)
  fi
  echo "${m:-http://deb.debian.org/debian}"
}

kafka_libs() {  # labkit's cache of the jars, fetched when missing
  local libs=${XDG_CACHE_HOME:-$HOME/.cache}/labkit/kafka-$KAFKA_VERSION/libs
  if [ -n "${LABKIT_CACHE_DIR-}" ]; then libs=$LABKIT_CACHE_DIR/kafka-$KAFKA_VERSION/libs; fi
  if [ ! -f "$libs/MANIFEST" ]; then
    echo "engine:   no cached jars in $libs: labkit fetch" >&2
    if command -v labkit > /dev/null; then
      labkit fetch >&2
    else
      "${PYTHON:-python3}" -m labkit.cli fetch >&2
    fi
  fi
  [ -f "$libs/MANIFEST" ] || die "the Kafka jars are not in $libs after labkit fetch"
  echo "$libs"
}

# The image carries a digest of its build context (docker/kafka-offline/ but its README, and the
# version): a change to those rebuilds it (Docker's layer cache keeps that quick); else it is reused.
CONTEXT_DIGEST=$( (echo "$KAFKA_VERSION"; cd "$REPO/docker/kafka-offline" && find . -type f ! -name "*.md" -print0 | sort -z \
  | xargs -0 sha256sum) | sha256sum | cut -c1-16)
image_digest() { docker image inspect -f '{{index .Config.Labels "labkit.context-digest"}}' "$IMAGE" 2>/dev/null || true; }

step "image $IMAGE"
if [ "$(image_digest)" = "$CONTEXT_DIGEST" ] && [ -z "${LABKIT_ENGINE_REBUILD-}" ]; then
  done_step "present (context $CONTEXT_DIGEST)"
else
  if image_exists "$IMAGE"; then echo "engine:   $IMAGE is from another build context: rebuilding"; fi
  libs=$(kafka_libs)
  # 4a. the base: Debian minbase + Java 17 JRE, as a tarball (kept) and an imported image.
  if ! image_exists "$BASE_IMAGE"; then
    rootfs_tar=$STATE/rootfs-$SUITE-jre17.tar
    if [ ! -s "$rootfs_tar" ]; then
      command -v debootstrap > /dev/null || apt_install debootstrap
      mirror=$(apt_mirror)
      rootfs=$STATE/rootfs-$SUITE.tmp
      $SUDO rm -rf "$rootfs"
      echo "engine:   debootstrap $SUITE minbase + openjdk-17-jre-headless from $mirror"
      $SUDO debootstrap --variant=minbase --include=openjdk-17-jre-headless "$SUITE" "$rootfs" "$mirror" \
        > "$STATE/debootstrap.log" 2>&1 || { tail -20 "$STATE/debootstrap.log" >&2; die "debootstrap failed (log: $STATE/debootstrap.log)"; }
      # Leaner: no apt lists, caches or docs in the image.
      $SUDO rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* \
        "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/locale/*
      $SUDO tar -C "$rootfs" --numeric-owner -cf "$rootfs_tar.tmp" .
      mv "$rootfs_tar.tmp" "$rootfs_tar"
      $SUDO rm -rf "$rootfs"
    fi
    echo "engine:   docker import $rootfs_tar as $BASE_IMAGE"
    docker import "$rootfs_tar" "$BASE_IMAGE" > /dev/null
  fi
  # 4b. the build context: docker/kafka-offline/ plus the jars (hard links when possible).
  ctx=$STATE/context-$KAFKA_VERSION
  rm -rf "$ctx"
  mkdir -p "$ctx/libs"
  cp -r "$REPO/docker/kafka-offline/." "$ctx/"
  cp -l "$libs"/*.jar "$ctx/libs/" 2>/dev/null || cp "$libs"/*.jar "$ctx/libs/"
  old_id=$(docker image inspect -f '{{.Id}}' "$IMAGE" 2>/dev/null || true)
  echo "engine:   docker build $IMAGE (log: $STATE/build.log)"
  DOCKER_BUILDKIT=0 docker build --build-arg BASE_IMAGE="$BASE_IMAGE" --build-arg KAFKA_VERSION="$KAFKA_VERSION" \
    --label labkit.context-digest="$CONTEXT_DIGEST" -t "$IMAGE" "$ctx" > "$STATE/build.log" 2>&1 || { tail -30 "$STATE/build.log" >&2; die "docker build failed (log: $STATE/build.log)"; }
  rm -rf "$ctx"
  new_id=$(docker image inspect -f '{{.Id}}' "$IMAGE")
  if [ -n "$old_id" ] && [ "$old_id" != "$new_id" ]; then docker image rm "$old_id" > /dev/null 2>&1 || true; fi
  cds=$(docker run --rm --entrypoint sh "$IMAGE" -c 'ls /opt/kafka/*.jsa 2>/dev/null | xargs -r -n1 basename | tr "\n" " "')
  done_step "built ($(docker image inspect -f '{{.Size}}' "$IMAGE" | awk '{printf "%d MB", $1/1e6}'); AppCDS: ${cds:-none})"
fi

echo "engine: ready in $((SECONDS - T0)) s: docker $(docker version -f '{{.Server.Version}}') ($(docker info -f '{{.Driver}}') storage), compose $(docker compose version --short), image $IMAGE; use LABKIT_KAFKA_IMAGE=$IMAGE"
