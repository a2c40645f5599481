/**
 * The embedded build engine. {@link dev.buildnet.BuildNet} is the entry point: build one with
 * {@link dev.buildnet.BuildNet#builder()}, submit builds with {@code build(...)}, and follow them
 * with a {@link dev.buildnet.api.build.BuildListener} or the returned
 * {@link dev.buildnet.BuildFuture}.
 *
 * <p>Everything else in this package (the dispatcher, per-build state, the target runner) is
 * package-private: the public surface is the facade, its builder, and the values it returns.
 *
 * @since 0.1
 */
package dev.buildnet;
