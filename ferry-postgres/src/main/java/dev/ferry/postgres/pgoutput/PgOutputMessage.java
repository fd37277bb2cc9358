package dev.ferry.postgres.pgoutput;

import java.util.List;

/**
 * The messages of the pgoutput logical replication protocol, versions 1 and 2, as decoded from the wire.
 * See PostgreSQL's "Logical Replication Message Formats". Values stay in PostgreSQL's text format;
 * turning them into event values is the source's job.
 */
public sealed interface PgOutputMessage {
    /** A transaction begins. {@code finalLsn} is the LSN of its commit record. */
    record Begin(long finalLsn, long commitMicros, long xid) implements PgOutputMessage {
    }

    /** A transaction commits. {@code endLsn} is the end of its commit record. */
    record Commit(long commitLsn, long endLsn, long commitMicros) implements PgOutputMessage {
    }

    /** The description of a table, sent before the first change of it in a session and after DDL. */
    record Relation(int id, String namespace, String name, char replicaIdentity, List<RelationColumn> columns)
            implements PgOutputMessage {
    }

    /** One column of a {@link Relation}; {@code key} marks replica identity columns. */
    record RelationColumn(String name, int typeOid, int typmod, boolean key) {
    }

    /** The name of a non-built-in type used by a following relation. */
    record Type(int oid, String namespace, String name) implements PgOutputMessage {
    }

    record Insert(int relationId, Tuple after) implements PgOutputMessage {
    }

    /**
     * An update. {@code before} is the old key ('K') or the old row ('O', replica identity full), or
     * null when the key did not change and the identity is not full.
     */
    record Update(int relationId, Tuple before, boolean beforeIsKeyOnly, Tuple after) implements PgOutputMessage {
    }

    /** A delete; {@code before} is the old key or, with replica identity full, the old row. */
    record Delete(int relationId, Tuple before, boolean beforeIsKeyOnly) implements PgOutputMessage {
    }

    record Truncate(List<Integer> relationIds, boolean cascade, boolean restartIdentity) implements PgOutputMessage {
    }

    /**
     * A message written with {@code pg_logical_emit_message} (sent when the {@code messages} option
     * is on, PostgreSQL 14+). A transactional one arrives inside its transaction, at its commit.
     */
    record LogicalMessage(boolean transactional, long lsn, String prefix, byte[] content) implements PgOutputMessage {
    }

    /**
     * Protocol 2: a block of changes of a transaction still in progress follows, until
     * {@link StreamStop}; {@code first} for its first block.
     */
    record StreamStart(long xid, boolean first) implements PgOutputMessage {
    }

    /** Protocol 2: the end of a stream block. */
    record StreamStop() implements PgOutputMessage {
    }

    /** Protocol 2: a streamed transaction commits; its changes were sent in stream blocks before. */
    record StreamCommit(long xid, long commitLsn, long endLsn, long commitMicros) implements PgOutputMessage {
    }

    /**
     * Protocol 2: a streamed transaction ({@code subxid == xid}) or one of its subtransactions
     * rolls back; the changes it made are void.
     */
    record StreamAbort(long xid, long subxid) implements PgOutputMessage {
    }

    /** A message this Ferry does not act on (origin). */
    record Ignored(char tag) implements PgOutputMessage {
    }

    /**
     * Column values of one row, as the server sent them: the text of each value in UTF-8, kept in
     * one array for the whole tuple ({@link #data}), so that nothing makes a {@code String} of a
     * value that goes on as bytes. A value is null ({@link #isNull}), or an unchanged TOASTed value
     * that the server did not send ({@link #unchanged}), or its text at {@link #start} for
     * {@link #length} bytes.
     */
    final class Tuple {
        private final byte[] data;
        private final int[] starts;
        /** Each value's length in bytes; -1 for null and for unchanged values. */
        private final int[] lengths;
        private final boolean[] unchanged;

        /** A tuple over {@code data}, which it owns. */
        public Tuple(byte[] data, int[] starts, int[] lengths, boolean[] unchanged) {
            this.data = data;
            this.starts = starts;
            this.lengths = lengths;
            this.unchanged = unchanged;
        }

        /** A tuple of these texts (null for null); for tests and hand-made messages. */
        public static Tuple of(String[] texts, boolean[] unchanged) {
            java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
            int[] starts = new int[texts.length];
            int[] lengths = new int[texts.length];
            for (int i = 0; i < texts.length; i++) {
                starts[i] = out.size();
                lengths[i] = -1;
                if (texts[i] != null && !unchanged[i]) {
                    byte[] b = texts[i].getBytes(java.nio.charset.StandardCharsets.UTF_8);
                    out.writeBytes(b);
                    lengths[i] = b.length;
                }
            }
            return new Tuple(out.toByteArray(), starts, lengths, unchanged);
        }

        public int size() {
            return lengths.length;
        }

        /** The tuple's bytes; a value's text lies at {@link #start} for {@link #length} bytes. Not to be changed. */
        public byte[] data() {
            return data;
        }

        public int start(int i) {
            return starts[i];
        }

        public int length(int i) {
            return lengths[i];
        }

        public boolean isNull(int i) {
            return lengths[i] < 0 && !unchanged[i];
        }

        /** Whether the value is an unchanged TOASTed one that the server did not send. */
        public boolean unchanged(int i) {
            return unchanged[i];
        }

        /** Per value, whether it is an unchanged TOASTed one. Not to be changed. */
        public boolean[] unchanged() {
            return unchanged;
        }

        /** The text of value {@code i}, null for null and unchanged values. */
        public String text(int i) {
            return lengths[i] < 0 ? null
                    : new String(data, starts[i], lengths[i], java.nio.charset.StandardCharsets.UTF_8);
        }

        /** Every value's text (see {@link #text}). */
        public String[] texts() {
            String[] out = new String[size()];
            for (int i = 0; i < out.length; i++) {
                out[i] = text(i);
            }
            return out;
        }
    }
}
