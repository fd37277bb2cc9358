/**
 * PostgreSQL change data capture: the source, its positions, slot and publication management, the
 * initial snapshot and the conversion of PostgreSQL's text values.
 */
package dev.ferry.postgres;
