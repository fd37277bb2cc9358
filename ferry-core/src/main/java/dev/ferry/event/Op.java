package dev.ferry.event;

/** What happened to a row, with the one-letter code of the Debezium envelope. */
public enum Op {
    /** A row read by a snapshot. */
    READ('r'),
    /** An inserted row. */
    CREATE('c'),
    /** An updated row. */
    UPDATE('u'),
    /** A deleted row. */
    DELETE('d'),
    /** The whole table was emptied. Carries neither before nor after. */
    TRUNCATE('t');

    private final char code;

    Op(char code) {
        this.code = code;
    }

    /** The envelope's {@code "op"} letter. */
    public char code() {
        return code;
    }

    /** The op for an envelope letter; throws {@link IllegalArgumentException} for any other. */
    public static Op ofCode(char code) {
        for (Op op : values()) {
            if (op.code == code) {
                return op;
            }
        }
        throw new IllegalArgumentException("unknown op code '" + code + "'");
    }
}
