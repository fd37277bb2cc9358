/** {@code type: jdbc}: batch extraction by query from any JDBC database (full and incremental tables). */
package dev.ferry.jdbc;
