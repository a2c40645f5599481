/**
 * The shared-state SPI: a key-value store with TTLs, fenced locks and pub/sub ({@link
 * dev.buildnet.api.state.StateBackend}); every implementation passes the
 * StateBackendCompatibilityKit in buildnet-impl's test jar.
 */
package dev.buildnet.api.state;
