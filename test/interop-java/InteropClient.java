// The Apache Kafka Java client, driven from interop tests (test/helpers/java-client.ts). A single-file
// program: `java -cp <Kafka's jars> test/interop-java/InteropClient.java <command> [--option value]...`
// (Java 11+ compiles it in memory). Output is one JSON object per line on stdout; logging goes to
// stderr.
//
//   produce --bootstrap HOST:PORT --topic T --count N [--key-prefix key-] [--value-prefix value-]
//           [--value-size BYTES] [--acks all] [--idempotence true] [--compression none]
//           [--partition P] [--linger-ms 0] [--prop name=value]...
//     Sends N keyed records with headers (index, source=java), by default with the idempotent
//     producer and acks=all, as the client's defaults are. Prints {"type":"ack",...} per
//     acknowledged record (partition, offset), {"type":"error",...} per failed one, then
//     {"type":"done","acked":...,"errors":...}. Exit code 1 when any record failed.
//
//   consume --bootstrap HOST:PORT --topic T --count N [--partitions 0,1,...] [--offset earliest|N]
//           [--timeout-ms 30000] [--prop name=value]...
//     Reads with assign() and seek() (no consumer group) from every partition of the topic, or the
//     given ones, until N records have arrived or the timeout passes. Prints {"type":"record",...}
//     per record, then {"type":"done","consumed":...}. Exit code 1 when fewer than N arrived.
//
// Keys, values and header values are printed as UTF-8 strings (null stays null).

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicInteger;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

public class InteropClient {
  public static void main(String[] argv) throws Exception {
    if (argv.length == 0) usage("no command");
    Map<String, String> opts = new HashMap<>();
    Properties extra = new Properties();
    for (int i = 1; i < argv.length; i += 2) {
      if (!argv[i].startsWith("--") || i + 1 >= argv.length) usage("bad argument " + argv[i]);
      String name = argv[i].substring(2);
      String value = argv[i + 1];
      if (name.equals("prop")) {
        int eq = value.indexOf('=');
        if (eq <= 0) usage("--prop wants name=value, got " + value);
        extra.setProperty(value.substring(0, eq), value.substring(eq + 1));
      } else {
        opts.put(name, value);
      }
    }
    int code;
    switch (argv[0]) {
      case "produce": code = produce(opts, extra); break;
      case "consume": code = consume(opts, extra); break;
      default: usage("unknown command " + argv[0]); code = 2;
    }
    System.out.flush();
    System.exit(code);
  }

  static int produce(Map<String, String> opts, Properties extra) throws Exception {
    String topic = required(opts, "topic");
    int count = Integer.parseInt(required(opts, "count"));
    String keyPrefix = opts.getOrDefault("key-prefix", "key-");
    String valuePrefix = opts.getOrDefault("value-prefix", "value-");
    int valueSize = Integer.parseInt(opts.getOrDefault("value-size", "0"));
    Integer partition = opts.containsKey("partition") ? Integer.valueOf(opts.get("partition")) : null;

    Properties props = new Properties();
    props.setProperty(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, required(opts, "bootstrap"));
    props.setProperty(ProducerConfig.CLIENT_ID_CONFIG, "tributary-interop-java");
    props.setProperty(ProducerConfig.ACKS_CONFIG, opts.getOrDefault("acks", "all"));
    props.setProperty(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, opts.getOrDefault("idempotence", "true"));
    props.setProperty(ProducerConfig.COMPRESSION_TYPE_CONFIG, opts.getOrDefault("compression", "none"));
    props.setProperty(ProducerConfig.LINGER_MS_CONFIG, opts.getOrDefault("linger-ms", "0"));
    props.setProperty(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, "30000");
    props.setProperty(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, "15000");
    props.putAll(extra);

    AtomicInteger acked = new AtomicInteger();
    AtomicInteger failed = new AtomicInteger();
    try (KafkaProducer<byte[], byte[]> producer =
        new KafkaProducer<>(props, new ByteArraySerializer(), new ByteArraySerializer())) {
      for (int i = 0; i < count; i++) {
        final int index = i;
        StringBuilder value = new StringBuilder(valuePrefix).append(i);
        while (value.length() < valueSize) value.append('x');
        RecordHeaders headers = new RecordHeaders();
        headers.add("index", utf8(Integer.toString(i)));
        headers.add("source", utf8("java"));
        ProducerRecord<byte[], byte[]> record = new ProducerRecord<>(
            topic, partition, utf8(keyPrefix + i), utf8(value.toString()), headers);
        producer.send(record, (meta, err) -> {
          if (err != null) {
            failed.incrementAndGet();
            emit("{\"type\":\"error\",\"index\":" + index + ",\"error\":" + json(err.toString()) + "}");
          } else {
            acked.incrementAndGet();
            emit("{\"type\":\"ack\",\"index\":" + index + ",\"partition\":" + meta.partition()
                + ",\"offset\":" + meta.offset() + ",\"timestamp\":" + meta.timestamp() + "}");
          }
        });
      }
      producer.flush();
    }
    emit("{\"type\":\"done\",\"acked\":" + acked.get() + ",\"errors\":" + failed.get() + "}");
    return failed.get() == 0 && acked.get() == count ? 0 : 1;
  }

  static int consume(Map<String, String> opts, Properties extra) {
    String topic = required(opts, "topic");
    int count = Integer.parseInt(required(opts, "count"));
    String offset = opts.getOrDefault("offset", "earliest");
    long timeoutMs = Long.parseLong(opts.getOrDefault("timeout-ms", "30000"));

    Properties props = new Properties();
    props.setProperty(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, required(opts, "bootstrap"));
    props.setProperty(ConsumerConfig.CLIENT_ID_CONFIG, "tributary-interop-java");
    // No group.id: assign() and seek() need no coordinator, and nothing is committed.
    props.setProperty(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    props.setProperty(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    props.putAll(extra);

    int consumed = 0;
    try (KafkaConsumer<byte[], byte[]> consumer =
        new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
      List<TopicPartition> partitions = new ArrayList<>();
      if (opts.containsKey("partitions")) {
        for (String p : opts.get("partitions").split(",")) partitions.add(new TopicPartition(topic, Integer.parseInt(p.trim())));
      } else {
        for (PartitionInfo p : consumer.partitionsFor(topic, Duration.ofMillis(timeoutMs))) {
          partitions.add(new TopicPartition(topic, p.partition()));
        }
      }
      consumer.assign(partitions);
      if (offset.equals("earliest")) consumer.seekToBeginning(partitions);
      else if (offset.equals("latest")) consumer.seekToEnd(partitions);
      else for (TopicPartition tp : partitions) consumer.seek(tp, Long.parseLong(offset));

      long deadline = System.currentTimeMillis() + timeoutMs;
      while (consumed < count && System.currentTimeMillis() < deadline) {
        for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) {
          consumed++;
          StringBuilder line = new StringBuilder("{\"type\":\"record\"")
              .append(",\"partition\":").append(r.partition())
              .append(",\"offset\":").append(r.offset())
              .append(",\"timestamp\":").append(r.timestamp())
              .append(",\"leaderEpoch\":").append(r.leaderEpoch().map(String::valueOf).orElse("null"))
              .append(",\"key\":").append(json(r.key()))
              .append(",\"value\":").append(json(r.value()))
              .append(",\"headers\":[");
          boolean first = true;
          for (Header h : r.headers()) {
            if (!first) line.append(',');
            first = false;
            line.append('[').append(json(h.key())).append(',').append(json(h.value())).append(']');
          }
          emit(line.append("]}").toString());
        }
      }
    }
    emit("{\"type\":\"done\",\"consumed\":" + consumed + "}");
    return consumed >= count ? 0 : 1;
  }

  static synchronized void emit(String line) {
    System.out.println(line);
  }

  static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  static String json(byte[] bytes) {
    return bytes == null ? "null" : json(new String(bytes, StandardCharsets.UTF_8));
  }

  static String json(String s) {
    if (s == null) return "null";
    StringBuilder out = new StringBuilder("\"");
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"': out.append("\\\""); break;
        case '\\': out.append("\\\\"); break;
        case '\n': out.append("\\n"); break;
        case '\r': out.append("\\r"); break;
        case '\t': out.append("\\t"); break;
        default:
          if (c < 0x20) out.append(String.format("\\u%04x", (int) c));
          else out.append(c);
      }
    }
    return out.append('"').toString();
  }

  static String required(Map<String, String> opts, String name) {
    String v = opts.get(name);
    if (v == null) usage("--" + name + " is required");
    return v;
  }

  static void usage(String why) {
    System.err.println("InteropClient: " + why);
    System.err.println("usage: InteropClient produce|consume --bootstrap HOST:PORT --topic T --count N [--option value]...");
    System.exit(2);
  }
}
