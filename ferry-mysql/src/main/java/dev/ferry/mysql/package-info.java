/**
 * MySQL and MariaDB change data capture: the source, its positions, the binlog reader and decoder,
 * the consistent snapshot and the conversion of MySQL values to Ferry's representations.
 */
package dev.ferry.mysql;
