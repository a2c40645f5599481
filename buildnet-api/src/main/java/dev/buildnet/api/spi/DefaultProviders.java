package dev.buildnet.api.spi;

import dev.buildnet.api.exec.ShellProvider;
import dev.buildnet.api.hash.HashProvider;
import dev.buildnet.api.state.StateBackend;
import java.nio.file.Path;
import java.util.ServiceLoader;

/**
 * Where the API's static factories ({@code StateBackend.sqlite}, {@code HashProvider.xxh64}, ...)
 * find their implementations: {@code buildnet-impl} registers one with {@link ServiceLoader}. Hosts
 * never call this directly.
 *
 * @since 0.1
 */
public interface DefaultProviders {

  StateBackend sqliteState(Path file);

  StateBackend inMemoryState();

  HashProvider xxh64();

  HashProvider sha256();

  ShellProvider processShell();

  /**
   * The registered implementation.
   *
   * @throws IllegalStateException if {@code buildnet-impl} is not on the class path
   */
  static DefaultProviders get() {
    return DefaultProvidersHolder.INSTANCE;
  }
}
