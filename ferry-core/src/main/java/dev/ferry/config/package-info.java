/**
 * The pipeline file: YAML read with line numbers, settings declared once per component, and errors
 * that name the key and the line.
 */
package dev.ferry.config;
