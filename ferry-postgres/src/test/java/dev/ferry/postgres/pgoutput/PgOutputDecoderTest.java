package dev.ferry.postgres.pgoutput;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * pgoutput protocol version 1 messages built by hand, byte for byte as PostgreSQL's "Logical
 * Replication Message Formats" describes them (all integers big-endian, strings NUL-terminated).
 */
class PgOutputDecoderTest {
    /** Stands for an unchanged TOAST value ('u') in {@link Wire#tuple}. */
    private static final Object UNCHANGED = new Object();

    private interface IoAction {
        void run() throws IOException;
    }

    /** Writes the wire form of one message. */
    private static final class Wire {
        private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        private final DataOutputStream out = new DataOutputStream(bytes);

        static Wire tag(char tag) {
            return new Wire().int8(tag);
        }

        Wire int8(int v) {
            return write(() -> out.writeByte(v));
        }

        Wire int16(int v) {
            return write(() -> out.writeShort(v));
        }

        Wire int32(int v) {
            return write(() -> out.writeInt(v));
        }

        Wire int64(long v) {
            return write(() -> out.writeLong(v));
        }

        Wire string(String s) {
            return write(() -> {
                out.write(s.getBytes(StandardCharsets.UTF_8));
                out.writeByte(0);
            });
        }

        /** TupleData: each value is a String (sent as 't'), null ('n'), or {@link #UNCHANGED} ('u'). */
        Wire tuple(Object... values) {
            int16(values.length);
            for (Object v : values) {
                if (v == null) {
                    int8('n');
                } else if (v == UNCHANGED) {
                    int8('u');
                } else {
                    byte[] b = ((String) v).getBytes(StandardCharsets.UTF_8);
                    int8('t').int32(b.length);
                    write(() -> out.write(b));
                }
            }
            return this;
        }

        Wire bytes(byte[] raw) {
            return write(() -> out.write(raw));
        }

        byte[] bytes() {
            return bytes.toByteArray();
        }

        ByteBuffer buffer() {
            return ByteBuffer.wrap(bytes());
        }

        private Wire write(IoAction a) {
            try {
                a.run();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            return this;
        }
    }

    @Test
    void begin() {
        ByteBuffer buf = Wire.tag('B').int64(0x16_B374D848L).int64(817_000_000_123_456L).int32(0xFFFF_FFFE).buffer();

        assertThat(PgOutputDecoder.decode(buf))
                .isEqualTo(new PgOutputMessage.Begin(0x16_B374D848L, 817_000_000_123_456L, 4_294_967_294L));
        assertThat(buf.hasRemaining()).isFalse();
    }

    @Test
    void commitSkipsTheFlags() {
        ByteBuffer buf = Wire.tag('C').int8(0).int64(100).int64(148).int64(817_000_000_000_001L).buffer();

        assertThat(PgOutputDecoder.decode(buf)).isEqualTo(new PgOutputMessage.Commit(100, 148, 817_000_000_000_001L));
        assertThat(buf.hasRemaining()).isFalse();
    }

    @Test
    void relationWithKeyFlagsAndTypmods() {
        ByteBuffer buf = Wire.tag('R').int32(16384).string("public").string("orders").int8('d').int16(3)
                .int8(1).string("id").int32(20).int32(-1)
                .int8(0).string("amount").int32(1700).int32((12 << 16 | 2) + 4)
                .int8(0).string("note").int32(1043).int32(24)
                .buffer();

        assertThat(PgOutputDecoder.decode(buf)).isEqualTo(new PgOutputMessage.Relation(16384, "public", "orders", 'd', List.of(
                new PgOutputMessage.RelationColumn("id", 20, -1, true),
                new PgOutputMessage.RelationColumn("amount", 1700, (12 << 16 | 2) + 4, false),
                new PgOutputMessage.RelationColumn("note", 1043, 24, false))));
        assertThat(buf.hasRemaining()).isFalse();
    }

    @Test
    void relationInPgCatalogHasAnEmptyNamespaceOnTheWire() {
        ByteBuffer buf = Wire.tag('R').int32(1).string("").string("t").int8('f').int16(0).buffer();

        PgOutputMessage.Relation r = (PgOutputMessage.Relation) PgOutputDecoder.decode(buf);

        assertThat(r.namespace()).isEqualTo("pg_catalog");
        assertThat(r.replicaIdentity()).isEqualTo('f');
        assertThat(r.columns()).isEmpty();
    }

    @Test
    void relationNamesInUtf8() {
        ByteBuffer buf = Wire.tag('R').int32(7).string("größe").string("日本").int8('d').int16(1)
                .int8(1).string("ключ").int32(23).int32(-1).buffer();

        PgOutputMessage.Relation r = (PgOutputMessage.Relation) PgOutputDecoder.decode(buf);

        assertThat(r.namespace()).isEqualTo("größe");
        assertThat(r.name()).isEqualTo("日本");
        assertThat(r.columns().get(0).name()).isEqualTo("ключ");
    }

    @Test
    void typeMessage() {
        ByteBuffer buf = Wire.tag('Y').int32(90001).string("public").string("mood").buffer();

        assertThat(PgOutputDecoder.decode(buf)).isEqualTo(new PgOutputMessage.Type(90001, "public", "mood"));
    }

    @Test
    void insertWithNullAndMultibyteText() {
        ByteBuffer buf = Wire.tag('I').int32(16384).int8('N').tuple("7", null, "naïve 日本 🚢", "").buffer();

        PgOutputMessage.Insert insert = (PgOutputMessage.Insert) PgOutputDecoder.decode(buf);

        assertThat(insert.relationId()).isEqualTo(16384);
        assertThat(insert.after().texts()).containsExactly("7", null, "naïve 日本 🚢", "");
        assertThat(insert.after().unchanged()).containsExactly(false, false, false, false);
        assertThat(buf.hasRemaining()).isFalse();
    }

    @Test
    void updateWithoutOldTupleAndAnUnchangedToastColumn() {
        ByteBuffer buf = Wire.tag('U').int32(16384).int8('N').tuple("7", UNCHANGED, "b").buffer();

        PgOutputMessage.Update update = (PgOutputMessage.Update) PgOutputDecoder.decode(buf);

        assertThat(update.before()).isNull();
        assertThat(update.beforeIsKeyOnly()).isFalse();
        assertThat(update.after().texts()).containsExactly("7", null, "b");
        assertThat(update.after().unchanged()).containsExactly(false, true, false);
        assertThat(buf.hasRemaining()).isFalse();
    }

    @Test
    void updateWithOldKey() {
        ByteBuffer buf = Wire.tag('U').int32(5).int8('K').tuple("1", null).int8('N').tuple("2", "x").buffer();

        PgOutputMessage.Update update = (PgOutputMessage.Update) PgOutputDecoder.decode(buf);

        assertThat(update.beforeIsKeyOnly()).isTrue();
        assertThat(update.before().texts()).containsExactly("1", null);
        assertThat(update.after().texts()).containsExactly("2", "x");
        assertThat(buf.hasRemaining()).isFalse();
    }

    @Test
    void updateWithOldRow() {
        ByteBuffer buf = Wire.tag('U').int32(5).int8('O').tuple("1", "old").int8('N').tuple("1", "new").buffer();

        PgOutputMessage.Update update = (PgOutputMessage.Update) PgOutputDecoder.decode(buf);

        assertThat(update.beforeIsKeyOnly()).isFalse();
        assertThat(update.before().texts()).containsExactly("1", "old");
        assertThat(update.after().texts()).containsExactly("1", "new");
    }

    @Test
    void updateWithoutNewTupleIsRejected() {
        ByteBuffer buf = Wire.tag('U').int32(5).int8('K').tuple("1").int8('X').buffer();

        assertThatThrownBy(() -> PgOutputDecoder.decode(buf)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("expected 'N'");
    }

    @Test
    void insertWithoutNewTupleMarkerIsRejected() {
        ByteBuffer buf = Wire.tag('I').int32(5).int8('K').tuple("1").buffer();

        assertThatThrownBy(() -> PgOutputDecoder.decode(buf)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void deleteWithKeyAndWithOldRow() {
        PgOutputMessage.Delete byKey = (PgOutputMessage.Delete) PgOutputDecoder.decode(
                Wire.tag('D').int32(9).int8('K').tuple("42", null).buffer());
        PgOutputMessage.Delete byRow = (PgOutputMessage.Delete) PgOutputDecoder.decode(
                Wire.tag('D').int32(9).int8('O').tuple("42", "gone").buffer());

        assertThat(byKey.relationId()).isEqualTo(9);
        assertThat(byKey.beforeIsKeyOnly()).isTrue();
        assertThat(byKey.before().texts()).containsExactly("42", null);
        assertThat(byRow.beforeIsKeyOnly()).isFalse();
        assertThat(byRow.before().texts()).containsExactly("42", "gone");
    }

    @Test
    void truncateWithOptions() {
        PgOutputMessage.Truncate plain = (PgOutputMessage.Truncate) PgOutputDecoder.decode(
                Wire.tag('T').int32(2).int8(0).int32(16384).int32(16390).buffer());
        PgOutputMessage.Truncate both = (PgOutputMessage.Truncate) PgOutputDecoder.decode(
                Wire.tag('T').int32(1).int8(3).int32(16384).buffer());
        PgOutputMessage.Truncate restart = (PgOutputMessage.Truncate) PgOutputDecoder.decode(
                Wire.tag('T').int32(1).int8(2).int32(16384).buffer());

        assertThat(plain).isEqualTo(new PgOutputMessage.Truncate(List.of(16384, 16390), false, false));
        assertThat(both).isEqualTo(new PgOutputMessage.Truncate(List.of(16384), true, true));
        assertThat(restart).isEqualTo(new PgOutputMessage.Truncate(List.of(16384), false, true));
    }

    @Test
    void logicalDecodingMessage() {
        // 'M': Int8 flags (1 = transactional), Int64 LSN, String prefix, Int32 length, Byte[n] content
        byte[] content = "add-tables x 16384".getBytes(StandardCharsets.UTF_8);
        ByteBuffer buf = Wire.tag('M').int8(1).int64(0x16B374D848L).string("ferry:slot").int32(content.length)
                .bytes(content).buffer();

        PgOutputMessage.LogicalMessage m = (PgOutputMessage.LogicalMessage) PgOutputDecoder.decode(buf);

        assertThat(m.transactional()).isTrue();
        assertThat(m.lsn()).isEqualTo(0x16B374D848L);
        assertThat(m.prefix()).isEqualTo("ferry:slot");
        assertThat(new String(m.content(), StandardCharsets.UTF_8)).isEqualTo("add-tables x 16384");
        assertThat(buf.hasRemaining()).isFalse();
        PgOutputMessage.LogicalMessage plain = (PgOutputMessage.LogicalMessage) PgOutputDecoder.decode(
                Wire.tag('M').int8(0).int64(1).string("other").int32(0).buffer());
        assertThat(plain.transactional()).isFalse();
        assertThat(plain.content()).isEmpty();
    }

    @Test
    void protocolTwoStreamMessages() {
        assertThat(PgOutputDecoder.decode(Wire.tag('S').int32(0xFFFFFFF0).int8(1).buffer()))
                .isEqualTo(new PgOutputMessage.StreamStart(0xFFFFFFF0L, true));
        assertThat(PgOutputDecoder.decode(Wire.tag('S').int32(7).int8(0).buffer()))
                .isEqualTo(new PgOutputMessage.StreamStart(7, false));
        assertThat(PgOutputDecoder.decode(Wire.tag('E').buffer())).isEqualTo(new PgOutputMessage.StreamStop());
        assertThat(PgOutputDecoder.decode(Wire.tag('c').int32(7).int8(0).int64(0x100).int64(0x180).int64(42).buffer()))
                .isEqualTo(new PgOutputMessage.StreamCommit(7, 0x100, 0x180, 42));
        assertThat(PgOutputDecoder.decode(Wire.tag('A').int32(7).int32(9).buffer()))
                .isEqualTo(new PgOutputMessage.StreamAbort(7, 9));
    }

    @Test
    void insideAStreamBlockDataMessagesCarryTheXidOfTheirSubtransaction() {
        ByteBuffer insert = Wire.tag('I').int32(9).int32(16384).int8('N').tuple("1", "a").buffer();
        assertThat(PgOutputDecoder.streamedXid(insert)).isEqualTo(9);
        assertThat(insert.position()).as("peeking leaves the buffer as it was").isZero();

        PgOutputMessage.Insert i = (PgOutputMessage.Insert) PgOutputDecoder.decode(insert, true);

        assertThat(i.relationId()).isEqualTo(16384);
        assertThat(i.after().texts()).containsExactly("1", "a");
        ByteBuffer relation = Wire.tag('R').int32(9).int32(3).string("s").string("t").int8('d').int16(0).buffer();
        assertThat(((PgOutputMessage.Relation) PgOutputDecoder.decode(relation, true)).id()).isEqualTo(3);
        assertThat(PgOutputDecoder.streamedXid(Wire.tag('c').int32(7).buffer())).as("stream commit: no data xid")
                .isEqualTo(-1);
    }

    @Test
    void unknownTagIsIgnored() {
        // 'O' Origin: Int64 commit LSN, String name
        assertThat(PgOutputDecoder.decode(Wire.tag('O').int64(1).string("node_a").buffer()))
                .isEqualTo(new PgOutputMessage.Ignored('O'));
        assertThat(PgOutputDecoder.decode(Wire.tag('Z').buffer())).isEqualTo(new PgOutputMessage.Ignored('Z'));
    }

    @Test
    void unknownTupleKindIsRejected() {
        ByteBuffer buf = Wire.tag('I').int32(1).int8('N').int16(1).int8('b').int32(0).buffer();

        assertThatThrownBy(() -> PgOutputDecoder.decode(buf)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'b'");
    }

    @Test
    void sliceWithNonZeroArrayOffset() {
        byte[] relation = Wire.tag('R').int32(3).string("sch").string("tbl").int8('d').int16(1)
                .int8(1).string("é").int32(25).int32(-1).bytes();
        byte[] insert = Wire.tag('I').int32(3).int8('N').tuple("ünï", UNCHANGED, null).bytes();
        ByteBuffer relationSlice = ByteBuffer.wrap(withPadding(relation, 5), 5, relation.length).slice();
        ByteBuffer insertSlice = ByteBuffer.wrap(withPadding(insert, 5), 5, insert.length).slice();
        assertThat(relationSlice.arrayOffset()).isEqualTo(5);
        assertThat(relationSlice.position()).isZero();

        PgOutputMessage.Relation r = (PgOutputMessage.Relation) PgOutputDecoder.decode(relationSlice);
        PgOutputMessage.Insert i = (PgOutputMessage.Insert) PgOutputDecoder.decode(insertSlice);

        assertThat(r).isEqualTo(new PgOutputMessage.Relation(3, "sch", "tbl", 'd',
                List.of(new PgOutputMessage.RelationColumn("é", 25, -1, true))));
        assertThat(i.relationId()).isEqualTo(3);
        assertThat(i.after().texts()).containsExactly("ünï", null, null);
        assertThat(i.after().unchanged()).containsExactly(false, true, false);
        assertThat(relationSlice.hasRemaining()).isFalse();
        assertThat(insertSlice.hasRemaining()).isFalse();
    }

    @Test
    void bufferPositionedPastTheStartOfItsArray() {
        // the JDBC driver hands over ByteBuffer.wrap(data, headerLength, rest): position > 0, arrayOffset 0
        byte[] insert = Wire.tag('I').int32(3).int8('N').tuple("a", "日本").bytes();
        ByteBuffer buf = ByteBuffer.wrap(withPadding(insert, 25), 25, insert.length);

        PgOutputMessage.Insert i = (PgOutputMessage.Insert) PgOutputDecoder.decode(buf);

        assertThat(i.after().texts()).containsExactly("a", "日本");
        assertThat(buf.position()).isEqualTo(25 + insert.length);
    }

    /** The message inside a larger array, surrounded by non-NUL filler a wrong offset would read. */
    private static byte[] withPadding(byte[] message, int before) {
        byte[] big = new byte[before + message.length + 7];
        Arrays.fill(big, (byte) '!');
        System.arraycopy(message, 0, big, before, message.length);
        return big;
    }
}
