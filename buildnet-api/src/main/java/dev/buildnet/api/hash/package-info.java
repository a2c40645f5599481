/**
 * The hashing SPI and the digest value type whose text form (algorithm, lower-case hex) keys
 * the cache and the protocol.
 */
package dev.buildnet.api.hash;
