#!/usr/bin/env bash
exec "${KAFKA_HOME:-/opt/kafka}/bin/kafka-run-class.sh" org.apache.kafka.tools.BrokerApiVersionsCommand "$@"
