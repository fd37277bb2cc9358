package dev.ferry.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ferry.testkit.PrivateKafka;
import dev.ferry.testkit.PrivatePostgresTest;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.sql.Connection;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Changes of a megabyte and more through the {@code kafka} sink, end to end: a change of 1.5 MB
 * arrives whole in a topic that takes it ({@code docs}, made by Ferry with {@code topic_config}
 * {@code max.message.bytes} of 4 MiB) with no producer property set, although the producer's own
 * default {@code max.request.size} is 1 MB; a change of 300 kB into a topic an administrator made
 * with {@code max.message.bytes} of 200 kB ({@code notes}), and one of 20 MB into {@code docs}, are
 * set aside in the dead-letter log with a reason naming their size, the limit and the settings to
 * raise, and the run goes on on the same producer (the sink aborts each refused transaction and keeps
 * it); the changes around them, and 400 small changes of one transaction that together pass the
 * 200 kB, arrive exactly once, in order.
 */
class KafkaLargeChangesIT extends PrivatePostgresTest {
    private static final ObjectMapper MAPPER = new ObjectMapper();
    @RegisterExtension
    static final PrivateKafka KAFKA = new PrivateKafka();

    @TempDir
    Path dir;

    @Test
    void aChangeTheTopicTakesArrivesWholeAndOneItRefusesIsDeadLetteredWhileTheRestArrivesOnce() throws Exception {
        String db = "kbig";
        pg.createDatabase(db);
        pg.execute(db, "CREATE TABLE docs (id int PRIMARY KEY, body text)",
                "CREATE TABLE notes (id int PRIMARY KEY, body text)",
                "INSERT INTO docs SELECT g, 'doc ' || g FROM generate_series(1, 3) g",
                "INSERT INTO notes SELECT g, 'note ' || g FROM generate_series(1, 3) g");
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", KAFKA.broker().bootstrapServers()))) {
            admin.createTopics(List.of(new NewTopic(db + ".public.notes", 1, (short) 1)
                    .configs(Map.of("max.message.bytes", "204800")))).all().get();
        }
        JsonlPipelineFile.writeWithSink(dir, pg, db, pg.user(),
                "  type: kafka",
                "  bootstrap_servers: " + KAFKA.broker().bootstrapServers(),
                "  topic_config: {max.message.bytes: '4194304'}");
        Map<String, String> env = Map.of("PW", pg.password());
        run(env, 0, "run", "-c", "pipeline.yaml", "--once");

        pg.execute(db,
                "INSERT INTO docs VALUES (4, (SELECT string_agg(md5('d' || i), '') FROM generate_series(1, 49152) i))",
                "INSERT INTO notes VALUES (4, 'before the wide one')",
                "INSERT INTO notes VALUES (5, (SELECT string_agg(md5('n' || i), '') FROM generate_series(1, 9600) i))",
                "INSERT INTO notes VALUES (6, 'after the wide one')",
                "UPDATE docs SET body = (SELECT string_agg(md5('u' || i), '') FROM generate_series(1, 655360) i) "
                        + "WHERE id = 1",
                "INSERT INTO docs VALUES (5, 'after the huge one')",
                "INSERT INTO notes SELECT g, repeat(md5(g::text), 32) FROM generate_series(100, 499) g");
        FerryProcess changes = run(env, 0, "run", "-c", "pipeline.yaml", "--once");
        System.out.println("KafkaLargeChangesIT, the run of the changes:\n" + changes.stderr());
        // each refusal aborted its transaction and kept the producer: isolating the two took no new fencing
        assertThat(changes.stderr().split("transactions ready", -1)).as(changes.stderr()).hasSize(2);

        List<String> docs = new ArrayList<>();
        String wideBody = null;
        for (ConsumerRecord<byte[], byte[]> r : KAFKA.broker().readCommitted(db + ".public.docs")) {
            JsonNode v = MAPPER.readTree(r.value());
            JsonNode row = v.get("op").asText().equals("d") ? v.get("before") : v.get("after");
            docs.add(row.get("id").asInt() + " " + v.get("op").asText());
            if (row.get("id").asInt() == 4) {
                wideBody = row.get("body").asText();
            }
        }
        assertThat(docs).as("the 1.5 MB insert arrives, the 20 MB update does not, each change once")
                .containsExactly("1 r", "2 r", "3 r", "4 c", "5 c");
        try (Connection c = pg.connect(db); ResultSet rs = c.createStatement().executeQuery(
                "SELECT md5(body), length(body) FROM docs WHERE id = 4")) {
            rs.next();
            assertThat(wideBody).hasSize(rs.getInt(2));
            assertThat(HexFormat.of().formatHex(MessageDigest.getInstance("MD5")
                    .digest(wideBody.getBytes(StandardCharsets.UTF_8)))).as("the 1.5 MB body arrived intact")
                    .isEqualTo(rs.getString(1));
        }

        List<String> notes = new ArrayList<>();
        for (ConsumerRecord<byte[], byte[]> r : KAFKA.broker().readCommitted(db + ".public.notes")) {
            JsonNode v = MAPPER.readTree(r.value());
            notes.add(v.get("after").get("id").asInt() + " " + v.get("op").asText());
        }
        List<String> expected = new ArrayList<>(List.of("1 r", "2 r", "3 r", "4 c", "6 c"));
        for (int id = 100; id <= 499; id++) {
            expected.add(id + " c");
        }
        assertThat(notes).as("the 300 kB insert does not arrive; the changes around it do, each once")
                .containsExactlyElementsOf(expected);

        String list = run(env, 0, "dlq", "list", "-c", "pipeline.yaml").stdout();
        assertThat(list).contains("2 event(s)");
        String notesEntry = list.lines().filter(l -> l.contains("public.notes")).findFirst().orElseThrow();
        assertThat(notesEntry).contains("a record of 307,").contains("topic kbig.public.notes, which takes at most 204,800");
        String docsEntry = list.lines().filter(l -> l.contains("public.docs")).findFirst().orElseThrow();
        assertThat(docsEntry).contains("a record of 20,").contains("topic kbig.public.docs, which takes at most 4,194,304");
        String show = run(env, 0, "dlq", "show", "-c", "pipeline.yaml", notesEntry.split(" ")[0]).stdout();
        assertThat(show).as("the reason says what to raise").contains("its max.message.bytes")
                .contains("--entity-name kbig.public.notes --add-config max.message.bytes=")
                .contains("the broker's message.max.bytes");

        // a third run finds nothing new: nothing is written again, nothing is set aside again
        run(env, 0, "run", "-c", "pipeline.yaml", "--once");
        assertThat(KAFKA.broker().readCommitted(db + ".public.notes")).hasSize(expected.size());
        assertThat(KAFKA.broker().readCommitted(db + ".public.docs")).hasSize(5);
        assertThat(run(env, 0, "dlq", "list", "-c", "pipeline.yaml").stdout()).contains("2 event(s)");
    }

    private FerryProcess run(Map<String, String> env, int exit, String... args) throws Exception {
        FerryProcess p = FerryProcess.start(dir, env, args);
        assertThat(p.waitFor()).as(String.join(" ", args) + "\n" + p.stdout() + p.stderr()).isEqualTo(exit);
        return p;
    }
}
