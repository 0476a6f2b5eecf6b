// Notebook 09: Apache Kafka Streams itself. Words of the input lines, counted per word per
// tumbling window of event time, with a grace period for late records; the final count of each
// window goes to the output topic once the window closes. processing.guarantee=exactly_once_v2.
//
// labkit compiles this file with javac against kafka-streams of the lab's Kafka release and
// runs it as a managed process (labkit/streams/app.py). It prints its topology between
// TOPOLOGY-BEGIN/END lines and every state change as "STATE <new>", which labkit waits on.
//
// Arguments: bootstrap-servers application-id input-topic output-topic state-dir window-s grace-s
import java.time.Duration;
import java.util.Arrays;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;

import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.CloseOptions;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.kstream.Suppressed;
import org.apache.kafka.streams.kstream.TimeWindows;

public final class WindowedCount {
    public static void main(String[] args) throws InterruptedException {
        if (args.length != 7) {
            System.err.println("usage: WindowedCount bootstrap app-id input output state-dir window-s grace-s");
            System.exit(2);
        }
        Properties props = new Properties();
        props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, args[0]);
        props.put(StreamsConfig.APPLICATION_ID_CONFIG, args[1]);
        props.put(StreamsConfig.STATE_DIR_CONFIG, args[4]);
        props.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
        props.put(StreamsConfig.DEFAULT_KEY_SERDE_CLASS_CONFIG, Serdes.StringSerde.class);
        props.put(StreamsConfig.DEFAULT_VALUE_SERDE_CLASS_CONFIG, Serdes.StringSerde.class);
        props.put(StreamsConfig.consumerPrefix("auto.offset.reset"), "earliest");
        // the lab's values: a member that vanished is noticed in 10 s (Streams' default is 45 s)
        props.put(StreamsConfig.consumerPrefix("session.timeout.ms"), "10000");

        Duration window = Duration.ofSeconds(Long.parseLong(args[5]));
        Duration grace = Duration.ofSeconds(Long.parseLong(args[6]));
        StreamsBuilder builder = new StreamsBuilder();
        builder.stream(args[2], Consumed.with(Serdes.String(), Serdes.String()))
            .flatMapValues(line -> Arrays.asList(line.toLowerCase().split("\\W+")))
            .filter((key, word) -> !word.isEmpty())
            // a new key: Kafka Streams writes the records to a repartition topic, keyed by word
            .groupBy((key, word) -> word, Grouped.with("words", Serdes.String(), Serdes.String()))
            .windowedBy(TimeWindows.ofSizeAndGrace(window, grace))
            // the counts live in a RocksDB store, backed by a changelog topic
            .count(Materialized.as("counts"))
            // only each window's final count, once stream time has passed its end + grace
            .suppress(Suppressed.untilWindowCloses(Suppressed.BufferConfig.unbounded()).withName("final"))
            .toStream()
            .map((w, count) -> KeyValue.pair(w.key(), String.format(
                "{\"key\": \"%s\", \"start\": %d, \"end\": %d, \"count\": %d}",
                w.key(), w.window().start(), w.window().end(), count)))
            .to(args[3], Produced.with(Serdes.String(), Serdes.String()));

        Topology topology = builder.build();
        System.out.println("TOPOLOGY-BEGIN");
        System.out.println(topology.describe());
        System.out.println("TOPOLOGY-END");

        KafkaStreams streams = new KafkaStreams(topology, props);
        CountDownLatch stopped = new CountDownLatch(1);
        streams.setStateListener((now, before) -> {
            System.out.println("STATE " + now);
            System.out.flush();
            if (now == KafkaStreams.State.NOT_RUNNING || now == KafkaStreams.State.ERROR) {
                stopped.countDown();
            }
        });
        // SIGTERM (labkit's stop): commit the open transaction, then leave the consumer group;
        // Kafka Streams stays a member by default, so a restart within the session is quick
        // but a new instance would wait for the old member's session to end
        CloseOptions leave = CloseOptions
            .groupMembershipOperation(CloseOptions.GroupMembershipOperation.LEAVE_GROUP)
            .withTimeout(Duration.ofSeconds(20));
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            streams.close(leave);
            stopped.countDown();
        }));
        streams.start();
        stopped.await();
        streams.close(leave);
    }
}
