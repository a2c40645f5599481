/**
 * How the API finds its default implementations: a {@link java.util.ServiceLoader} lookup of
 * buildnet-impl's {@link dev.buildnet.api.spi.DefaultProviders}. Exported only to buildnet-impl,
 * which implements it: hosts call the static factories ({@code StateBackend.sqlite}, {@code
 * HashProvider.xxh64}, ...) instead.
 */
package dev.buildnet.api.spi;
