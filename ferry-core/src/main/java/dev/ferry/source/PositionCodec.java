package dev.ferry.source;

/**
 * Turns one source type's positions into bytes and back. The first byte of every encoding is a
 * format version, so a newer Ferry reads the state an older one wrote; a version it does not know is
 * rejected with an {@link IllegalArgumentException}, never guessed at.
 */
public interface PositionCodec {
    byte[] encode(Position position);

    Position decode(byte[] bytes);
}
