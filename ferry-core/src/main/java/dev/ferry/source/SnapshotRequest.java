package dev.ferry.source;

/**
 * A snapshot asked for with {@link Source#requestSnapshot}.
 *
 * @param id      the request's id, for {@link Source#snapshotProgress}
 * @param message what to tell the operator
 */
public record SnapshotRequest(String id, String message) {
}
