/**
 * The bundler SPI: {@link dev.buildnet.api.bundle.BundlerAdapter} turns entry points into
 * bundles (esbuild and Bun adapters ship in buildnet-impl).
 */
package dev.buildnet.api.bundle;
