#!/usr/bin/env bash
# Build-time only: train AppCDS archives with one short run of each kind of JVM the image starts:
#   storage.jsa  the set-up (KafkaDockerWrapper setup, which formats storage)
#   kafka.jsa    the server, from start to "ready" to a clean shutdown
#   tools.jsa    a command-line tool (kafka-broker-api-versions.sh, the healthcheck)
# Everything it writes besides the archives stays in a scratch folder that is removed.
set -euo pipefail
K=/opt/kafka
T=$(mktemp -d)
trap 'kill "${SERVER_PID:-}" 2>/dev/null || true; rm -rf "$T"' EXIT
export CLUSTER_ID=cdsTrainingRunOnly00000 KAFKA_NODE_ID=1 KAFKA_PROCESS_ROLES=broker,controller \
  KAFKA_CONTROLLER_QUORUM_VOTERS=1@localhost:39093 KAFKA_CONTROLLER_LISTENER_NAMES=CONTROLLER \
  KAFKA_LISTENERS=PLAINTEXT://localhost:39092,CONTROLLER://localhost:39093 \
  KAFKA_ADVERTISED_LISTENERS=PLAINTEXT://localhost:39092 \
  KAFKA_LISTENER_SECURITY_PROTOCOL_MAP=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT \
  KAFKA_LOG_DIRS="$T/data" KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR=1 KAFKA_HEAP_OPTS=-Xmx256m
mkdir -p "$T/config" "$T/mounted"
KAFKA_CDS_ARCHIVE="" KAFKA_OPTS="-XX:ArchiveClassesAtExit=$K/storage.jsa" \
  "$K/bin/kafka-run-class.sh" kafka.docker.KafkaDockerWrapper setup \
  --default-configs-dir /etc/kafka/docker --mounted-configs-dir "$T/mounted" --final-configs-dir "$T/config"
KAFKA_CDS_ARCHIVE="" KAFKA_OPTS="-XX:ArchiveClassesAtExit=$K/kafka.jsa" \
  KAFKA_LOG4J_OPTS="-Dlog4j2.configurationFile=$T/config/log4j2.yaml" \
  "$K/bin/kafka-server-start.sh" "$T/config/server.properties" > "$T/server.log" 2>&1 &
SERVER_PID=$!
deadline=$((SECONDS + 120))
until grep -q "Kafka Server started" "$T/server.log"; do
  if [ $SECONDS -ge $deadline ] || ! kill -0 "$SERVER_PID" 2>/dev/null; then
    tail -50 "$T/server.log" >&2; echo "training server did not start" >&2; exit 1
  fi
  sleep 1
done
KAFKA_CDS_ARCHIVE="" KAFKA_OPTS="-XX:ArchiveClassesAtExit=$K/tools.jsa" KAFKA_HEAP_OPTS=-Xmx64m \
  "$K/bin/kafka-broker-api-versions.sh" --bootstrap-server localhost:39092 > /dev/null
kill -TERM "$SERVER_PID"
wait "$SERVER_PID" || true
SERVER_PID=""
ls -l "$K"/*.jsa
# Each archive must be usable as made (-Xshare:on fails loudly when it is not).
for a in storage kafka tools; do
  KAFKA_CDS_ARCHIVE="$K/$a.jsa" KAFKA_OPTS="-Xshare:on" "$K/bin/kafka-run-class.sh" -version 2>/dev/null \
    || { echo "$a.jsa is not usable; removed" >&2; rm -f "$K/$a.jsa"; }
done
