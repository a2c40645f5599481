/**
 * Hash providers (XXH64, SHA-256) and the stat-keyed file digest cache.
 */
package dev.buildnet.internal.hash;
