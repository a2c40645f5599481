/**
 * The embedded build engine. {@link dev.buildnet.BuildNet} is the entry point: build one with
 * {@link dev.buildnet.BuildNet#builder()}, submit builds with {@code build(...)}, and follow them
 * with a {@link dev.buildnet.api.build.BuildListener} or the returned
 * {@link dev.buildnet.BuildFuture}.
 *
 * <p>{@link dev.buildnet.MessageCodec} is for a host's own {@link
 * dev.buildnet.api.transport.Transport}: it turns messages into protocol frames and back.
 *
 * <p>Everything else in this package (the dispatcher, per-build state, the target runner) is
 * package-private: the public surface is the facade, its builder, the values it returns, and the
 * frame codec with its {@link dev.buildnet.FrameException}.
 *
 * @since 0.1
 */
package dev.buildnet;
