/**
 * Redis plumbing shared by the Redis state backend and blob store: connections, scripts,
 * pub/sub.
 */
package dev.buildnet.internal.redis;
