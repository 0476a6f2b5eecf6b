// The learner notes' kafkajs consumer ("Handling Offsets"), corrected; run from notebook 12.
//
// What changed, and why:
// - autoCommit: false. The notes committed by hand *and* left kafkajs's auto-commit on, so
//   offsets were committed twice and a crash could still skip or repeat records.
// - The committed offset is the offset of the *next* record to read: message.offset + 1.
//   BigInt, because offsets are 64-bit and parseInt loses precision above 2^53.
// - The topic has replication factor 3 (the notes' admin example used 1: one broker lost = data lost).
// - The run is bounded: it stops once every partition's committed offset reaches the end offsets
//   measured after producing, or fails after TIMEOUT_MS.
//
// kafkajs 2.2.4 (Feb 2023) is the last release; the project says it is in maintenance mode
// (github.com/tulios/kafkajs/issues/1753). Confluent's @confluentinc/kafka-javascript offers a
// KafkaJS-compatible API (require('@confluentinc/kafka-javascript').KafkaJS) on librdkafka.
//
// Usage: KAFKA_BROKERS=127.0.0.1:9092,127.0.0.1:9093,127.0.0.1:9094 node offsets.js [topic] [count]
// Optional SASL/SCRAM (the secured lab): KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD.
'use strict';
const { Kafka, logLevel, Partitioners } = require('kafkajs');

const TIMEOUT_MS = 60000;
const brokers = (process.env.KAFKA_BROKERS || '127.0.0.1:9092').split(',');
const topic = process.argv[2] || 'node-orders';
const count = parseInt(process.argv[3] || '6', 10);
const sasl = process.env.KAFKA_SASL_USERNAME
  ? { mechanism: 'scram-sha-512', username: process.env.KAFKA_SASL_USERNAME, password: process.env.KAFKA_SASL_PASSWORD }
  : undefined;

// kafkajs logs the errors it retries (a coordinator still starting); the one that ends the run
// is printed below
const kafka = new Kafka({ clientId: 'labkit-node-example', brokers, sasl, logLevel: logLevel.NOTHING });

async function main() {
  const admin = kafka.admin();
  await admin.connect();
  // a second run finds the topic and reads up to its new end
  if (!(await admin.listTopics()).includes(topic)) {
    await admin.createTopics({ topics: [{ topic, numPartitions: 3, replicationFactor: 3 }], waitForLeaders: true });
  }

  // kafkajs 2's default partitioner is Java's murmur2: the same key lands on the same
  // partition as with Kafka's Java client (librdkafka's default differs: notebook 02).
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  const messages = Array.from({ length: count }, (_, i) => ({ key: `order-${i}`, value: `order ${i} from node` }));
  await producer.send({ topic, acks: -1, messages }); // acks: -1 = all in-sync replicas
  await producer.disconnect();

  const end = {};
  for (const p of await admin.fetchTopicOffsets(topic)) end[p.partition] = BigInt(p.high);
  const groupId = process.env.KAFKA_GROUP || `node-offsets-${Date.now()}`;
  const consumer = kafka.consumer({ groupId });
  const committed = {};
  let consumed = 0;
  const caughtUp = () => Object.entries(end).every(([p, high]) => high === 0n || (committed[p] || 0n) >= high);

  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  const done = new Promise((resolve) => {
    consumer.run({
      autoCommit: false,
      eachMessage: async ({ partition, message }) => {
        consumed += 1; // "processing" the record; only then is it committed
        const next = BigInt(message.offset) + 1n;
        await consumer.commitOffsets([{ topic, partition, offset: next.toString() }]);
        committed[partition] = next;
        if (caughtUp()) resolve();
      },
    });
    if (caughtUp()) resolve();
  });
  await done;
  await consumer.disconnect();

  const [fetched] = await admin.fetchOffsets({ groupId, topics: [topic] });
  await admin.disconnect();
  const stored = Object.fromEntries(fetched.partitions.map((p) => [p.partition, p.offset]));
  console.log(JSON.stringify({ topic, groupId, produced: count, consumed,
    end: Object.fromEntries(Object.entries(end).map(([p, o]) => [p, o.toString()])), committed: stored }));
}

const timer = setTimeout(() => { console.error(`gave up after ${TIMEOUT_MS / 1000} s`); process.exit(2); }, TIMEOUT_MS);
main().then(() => clearTimeout(timer)).catch((err) => { console.error(err.message || err); process.exit(1); });
