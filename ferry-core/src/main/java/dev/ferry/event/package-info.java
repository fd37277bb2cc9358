/**
 * The change event and what it is made of: tables, columns, logical types, rows, and the JSON
 * envelope every text-speaking sink writes.
 */
package dev.ferry.event;
