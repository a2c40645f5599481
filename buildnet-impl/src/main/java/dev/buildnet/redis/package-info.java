/**
 * Redis-backed providers a host wires in code: shared state and a shared blob tier for several
 * masters.
 */
package dev.buildnet.redis;
