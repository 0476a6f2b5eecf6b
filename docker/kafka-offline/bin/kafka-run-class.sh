#!/usr/bin/env bash
# kafka-run-class.sh [-daemon] [-name NAME] [-loggc] CLASS [ARGS...]
# A thin stand-in for Kafka's script: one JVM, Kafka's jars on the classpath, the same
# environment variables (KAFKA_HEAP_OPTS, KAFKA_JVM_PERFORMANCE_OPTS, KAFKA_LOG4J_OPTS, KAFKA_OPTS).
# -daemon/-name/-loggc are accepted and ignored: in a container the process stays in the foreground.
set -e
while [ $# -gt 0 ]; do
  case "$1" in
    -daemon|-loggc) shift ;;
    -name) shift 2 ;;
    *) break ;;
  esac
done
if [ $# -lt 1 ]; then
  echo "USAGE: $0 [-daemon] [-name servicename] [-loggc] classname [opts]" >&2
  exit 1
fi
KAFKA_HOME=${KAFKA_HOME:-/opt/kafka}
JAVA=${JAVA_HOME:+$JAVA_HOME/bin/}java
: "${KAFKA_HEAP_OPTS:=-Xmx256M}"
# Short-lived JVMs (tools, the healthcheck, the set-up) start fastest with C1 only and the serial GC:
# with the tools' AppCDS archive a healthcheck takes about 1 s instead of 3-4 s on a busy 2-core VM.
# kafka-server-start.sh sets the server's own G1 options.
: "${KAFKA_JVM_PERFORMANCE_OPTS:=-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Djava.awt.headless=true}"
: "${KAFKA_LOG4J_OPTS:=-Dlog4j2.configurationFile=$KAFKA_HOME/config/tools-log4j2.yaml}"
# An AppCDS archive for this entry point when the image has one (KAFKA_CDS_ARCHIVE names it; the
# tools' archive by default, empty for none).
# A dynamic archive only serves the class path it was made with, so the path is spelled out in a
# fixed (sorted) order rather than left to the JVM's expansion of libs/*.
KAFKA_CP=$(printf '%s:' "$KAFKA_HOME"/libs/*.jar)
KAFKA_CP=${KAFKA_CP%:}
KAFKA_CDS_ARCHIVE=${KAFKA_CDS_ARCHIVE-$KAFKA_HOME/tools.jsa}
CDS=""
if [ -n "$KAFKA_CDS_ARCHIVE" ] && [ -r "$KAFKA_CDS_ARCHIVE" ]; then
  CDS="-XX:SharedArchiveFile=$KAFKA_CDS_ARCHIVE -Xshare:auto"
fi
# shellcheck disable=SC2086  # the *_OPTS variables are word lists by design
exec "$JAVA" $KAFKA_HEAP_OPTS $KAFKA_JVM_PERFORMANCE_OPTS $CDS $KAFKA_LOG4J_OPTS \
  -Dkafka.logs.dir="${LOG_DIR:-$KAFKA_HOME/logs}" ${KAFKA_OPTS-} -cp "$KAFKA_CP" "$@"
