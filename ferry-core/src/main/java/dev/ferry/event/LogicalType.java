package dev.ferry.event;

/**
 * The meaning of a column's values, independent of the source. Each type has exactly one Java
 * representation inside a {@link Row} and one JSON representation in the envelope
 * (see ARCHITECTURE.md, "The change event"):
 *
 * <table>
 *   <tr><th>type</th><th>Java value</th><th>JSON</th></tr>
 *   <tr><td>BOOLEAN</td><td>Boolean</td><td>true / false</td></tr>
 *   <tr><td>INT16, INT32, INT64</td><td>Long</td><td>number</td></tr>
 *   <tr><td>FLOAT32, FLOAT64</td><td>Double</td><td>number; "NaN", "Infinity", "-Infinity"</td></tr>
 *   <tr><td>DECIMAL</td><td>String, the exact decimal text ("12.50", "NaN")</td><td>string</td></tr>
 *   <tr><td>STRING, UUID, ENUM, NETWORK, XML</td><td>String</td><td>string</td></tr>
 *   <tr><td>BYTES</td><td>byte[]</td><td>base64 string</td></tr>
 *   <tr><td>BITS</td><td>String of 0 and 1</td><td>string</td></tr>
 *   <tr><td>JSON</td><td>String holding JSON text</td><td>the JSON value itself</td></tr>
 *   <tr><td>DATE, TIME, TIMETZ, TIMESTAMP, TIMESTAMPTZ</td><td>ISO-8601 String; "infinity" kept</td><td>string</td></tr>
 *   <tr><td>INTERVAL</td><td>ISO-8601 duration String</td><td>string</td></tr>
 *   <tr><td>ARRAY</td><td>List of element values (null elements allowed)</td><td>array</td></tr>
 * </table>
 *
 * Sources convert to these representations at capture, so sinks never see source-specific text.
 */
public enum LogicalType {
    BOOLEAN, INT16, INT32, INT64, FLOAT32, FLOAT64, DECIMAL,
    STRING, UUID, ENUM, NETWORK, XML, BYTES, BITS, JSON,
    DATE, TIME, TIMETZ, TIMESTAMP, TIMESTAMPTZ, INTERVAL,
    ARRAY
}
