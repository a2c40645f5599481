/**
 * SQLite and in-memory state internals: schema, maintenance, argument checks.
 */
package dev.buildnet.internal.state;
