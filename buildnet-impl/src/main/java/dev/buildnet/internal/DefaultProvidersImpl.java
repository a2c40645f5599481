package dev.buildnet.internal;

import dev.buildnet.api.exec.ShellProvider;
import dev.buildnet.api.hash.HashProvider;
import dev.buildnet.api.spi.DefaultProviders;
import dev.buildnet.api.state.StateBackend;
import dev.buildnet.exec.ProcessShellProvider;
import dev.buildnet.hash.Hashing;
import dev.buildnet.state.InMemoryStateBackend;
import dev.buildnet.state.SqliteStateBackend;
import java.nio.file.Path;

/**
 * Registered with {@link java.util.ServiceLoader} so the API's static factories
 * ({@code StateBackend.sqlite}, {@code HashProvider.xxh64}, ...) reach these implementations.
 */
public final class DefaultProvidersImpl implements DefaultProviders {
  @Override
  public StateBackend sqliteState(Path file) {
    return SqliteStateBackend.open(file);
  }

  @Override
  public StateBackend inMemoryState() {
    return InMemoryStateBackend.create();
  }

  @Override
  public HashProvider xxh64() {
    return Hashing.xxh64();
  }

  @Override
  public HashProvider sha256() {
    return Hashing.sha256();
  }

  @Override
  public ShellProvider processShell() {
    // Its threads exist only while commands run and end on their own, so a new one is cheap.
    return ProcessShellProvider.create();
  }
}
