/**
 * Graph internals: glob and input resolution, {@code {inputs}} expansion, relative path rules.
 */
package dev.buildnet.internal.graph;
