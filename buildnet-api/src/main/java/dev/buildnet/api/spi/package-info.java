/**
 * How the API finds its default implementations: a {@link java.util.ServiceLoader} lookup of
 * buildnet-impl's {@link dev.buildnet.api.spi.DefaultProviders}.
 */
package dev.buildnet.api.spi;
