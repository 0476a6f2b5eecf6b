#!/usr/bin/env bash
# kafka-server-start.sh server.properties [--override k=v ...]: the broker/controller in the foreground.
if [ $# -lt 1 ]; then
  echo "USAGE: $0 [-daemon] server.properties [--override property=value]*" >&2
  exit 1
fi
[ "$1" = "-daemon" ] && shift
KAFKA_HOME=${KAFKA_HOME:-/opt/kafka}
export KAFKA_HEAP_OPTS=${KAFKA_HEAP_OPTS:--Xmx1G -Xms1G}
export KAFKA_JVM_PERFORMANCE_OPTS=${KAFKA_JVM_PERFORMANCE_OPTS:--server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true}
export KAFKA_LOG4J_OPTS=${KAFKA_LOG4J_OPTS:--Dlog4j2.configurationFile=$KAFKA_HOME/config/log4j2.yaml}
export KAFKA_CDS_ARCHIVE=${KAFKA_CDS_ARCHIVE-$KAFKA_HOME/kafka.jsa}
exec "$KAFKA_HOME/bin/kafka-run-class.sh" kafka.Kafka "$@"
