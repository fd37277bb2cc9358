/** Ferry's single exception type and the error kinds that decide exit codes and retries. */
package dev.ferry.error;
