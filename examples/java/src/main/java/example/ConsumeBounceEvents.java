package example;

import java.io.File;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.Properties;

import org.apache.avro.Schema;
import org.apache.avro.SchemaNormalization;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.message.BinaryMessageDecoder;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * Reads bounce-stream events (Avro single-object encoding: C3 01 + fingerprint + body) from
 * Kafka with read_committed and prints one line per event.
 *
 * <p>Arguments: BOOTSTRAP_SERVERS TOPIC SCHEMA_FILE [MAX_EVENTS]. Stops after MAX_EVENTS events
 * or after 30 seconds without a new one.
 */
public final class ConsumeBounceEvents {
    public static void main(String[] args) throws Exception {
        if (args.length < 3) {
            System.err.println("usage: BOOTSTRAP_SERVERS TOPIC SCHEMA_FILE [MAX_EVENTS]");
            System.exit(2);
        }
        Schema schema = new Schema.Parser().parse(new File(args[2]));
        long maxEvents = args.length > 3 ? Long.parseLong(args[3]) : Long.MAX_VALUE;

        // The fingerprint as Java (and bounce-stream's displays) print it: the 64-bit number
        // in hex. The single-object header holds the same number little-endian.
        long fingerprint = SchemaNormalization.parsingFingerprint64(schema);
        System.out.printf("fingerprint %016x%n", fingerprint);

        // The decoder checks the C3 01 magic and the fingerprint, and resolves the writer schema
        // to this reader schema (add older writer schemas with decoder.addSchema).
        BinaryMessageDecoder<GenericRecord> decoder =
                new BinaryMessageDecoder<>(GenericData.get(), schema);

        Properties props = new Properties();
        props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, args[0]);
        props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        props.put(ConsumerConfig.GROUP_ID_CONFIG, "bounce-stream-java-example");

        long seen = 0;
        long idleSince = System.nanoTime();
        try (KafkaConsumer<byte[], byte[]> consumer =
                new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            consumer.subscribe(List.of(args[1]));
            while (seen < maxEvents && System.nanoTime() - idleSince < 30_000_000_000L) {
                for (ConsumerRecord<byte[], byte[]> rec : consumer.poll(Duration.ofMillis(500))) {
                    GenericRecord event = decoder.decode(ByteBuffer.wrap(rec.value()));
                    System.out.printf("event %s %s %s %s%n", event.get("event_id"),
                            event.get("recipient"), event.get("reason"), java.util.Objects.toString(event.get("status"), "-"));
                    idleSince = System.nanoTime();
                    if (++seen >= maxEvents) {
                        break;
                    }
                }
            }
        }
    }
}
