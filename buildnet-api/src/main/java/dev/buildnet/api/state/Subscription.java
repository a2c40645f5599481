package dev.buildnet.api.state;

/**
 * A registration made by {@link StateBackend#subscribe}. Closing it stops delivery; closing it
 * again has no effect.
 *
 * @since 0.1
 */
public interface Subscription extends AutoCloseable {
  /** The channel this subscription listens on. */
  String channel();

  @Override
  void close();
}
