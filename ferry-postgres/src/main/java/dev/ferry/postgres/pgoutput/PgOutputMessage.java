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
     * Column values of one row. {@code texts[i]} is the text value or null; {@code unchanged[i]} is
     * true for an unchanged TOASTed value that the server did not send.
     */
    record Tuple(String[] texts, boolean[] unchanged) {
        public int size() {
            return texts.length;
        }
    }
}
