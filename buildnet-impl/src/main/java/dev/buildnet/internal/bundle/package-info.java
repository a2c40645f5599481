/**
 * What the bundler adapters share: locating tools, running them, parsing their diagnostics.
 */
package dev.buildnet.internal.bundle;
