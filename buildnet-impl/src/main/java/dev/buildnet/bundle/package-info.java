/**
 * Bundler adapters a host wires in code: esbuild, Bun, and any command-line bundler.
 */
package dev.buildnet.bundle;
