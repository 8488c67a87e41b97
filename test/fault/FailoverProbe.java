/*
 * The failover probe of bench/replication.ts and the soak (test/fault/soak.ts): one Java producer
 * (acks=all, idempotent) sending a small record to one partition every --interval-ms, and printing,
 * per record, when it was sent and when its acknowledgement (or failure) came back, in microseconds
 * since the epoch, so that a bench can set them against the moment it killed the partition's leader
 * and a history checker can judge every record (each carries an `id` header, <id-prefix><seq>):
 *
 *   S <seq> <sentMicros>
 *   A <seq> <sentMicros> <ackedMicros> <offset>
 *   E <seq> <sentMicros> <failedMicros> <exception class> <retriable: true|false>
 *
 * The client's retry and reconnect back-offs are capped at 100 ms, and its request timeout is 2 s
 * instead of 30 s, the same for every broker measured: the failover time is then the brokers' and
 * not the client's exponential back-off (1 s at most by default), nor, when the leader hangs
 * (SIGSTOP) rather than dies, the 30 s the client would wait on a request the hung leader holds. Runs from source (Java 11+ single-file launch) on Kafka's classpath.
 *
 *   java -cp <kafka libs> FailoverProbe.java <bootstrap> <topic> <partition> <interval-ms> [id-prefix]
 *       [request-timeout-ms]
 */
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Properties;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.RetriableException;
import org.apache.kafka.common.serialization.ByteArraySerializer;

public class FailoverProbe {
  static long micros() {
    Instant now = Instant.now();
    return now.getEpochSecond() * 1_000_000L + now.getNano() / 1_000;
  }

  public static void main(String[] args) throws Exception {
    String bootstrap = args[0];
    String topic = args[1];
    int partition = Integer.parseInt(args[2]);
    long intervalMs = Long.parseLong(args[3]);
    String idPrefix = args.length > 4 ? args[4] : "java-";
    String requestTimeoutMs = args.length > 5 ? args[5] : "2000";
    Properties props = new Properties();
    props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    props.put(ProducerConfig.ACKS_CONFIG, "all");
    props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
    props.put(ProducerConfig.LINGER_MS_CONFIG, "0");
    props.put(ProducerConfig.RETRY_BACKOFF_MS_CONFIG, "20");
    props.put(ProducerConfig.RETRY_BACKOFF_MAX_MS_CONFIG, "100");
    props.put(ProducerConfig.RECONNECT_BACKOFF_MS_CONFIG, "20");
    props.put(ProducerConfig.RECONNECT_BACKOFF_MAX_MS_CONFIG, "100");
    props.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, requestTimeoutMs);
    props.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, "120000");
    props.put(ProducerConfig.CLIENT_ID_CONFIG, "tributary-failover-probe");
    PrintStream out = new PrintStream(System.out, true, "UTF-8");
    try (KafkaProducer<byte[], byte[]> producer =
        new KafkaProducer<>(props, new ByteArraySerializer(), new ByteArraySerializer())) {
      byte[] value = new byte[100];
      // Runs until the bench kills it (its stdin closing is the other way out).
      Thread stdinWatch = new Thread(() -> {
        try {
          while (System.in.read() >= 0) {}
        } catch (Exception ignored) {
        }
        System.exit(0);
      });
      stdinWatch.setDaemon(true);
      stdinWatch.start();
      for (long seq = 0; ; seq++) {
        final long s = seq;
        final long sent = micros();
        byte[] id = (idPrefix + seq).getBytes(StandardCharsets.UTF_8);
        ProducerRecord<byte[], byte[]> record = new ProducerRecord<>(topic, partition, null, value);
        record.headers().add("id", id);
        synchronized (out) {
          out.println("S " + s + " " + sent);
        }
        producer.send(record, (meta, err) -> {
          long at = micros();
          synchronized (out) {
            if (err == null) out.println("A " + s + " " + sent + " " + at + " " + meta.offset());
            else
              out.println("E " + s + " " + sent + " " + at + " " + err.getClass().getSimpleName() + " "
                  + (err instanceof RetriableException));
          }
        });
        Thread.sleep(intervalMs);
      }
    }
  }
}
