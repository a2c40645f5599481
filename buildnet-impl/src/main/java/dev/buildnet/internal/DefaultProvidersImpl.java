package dev.buildnet.internal;

import dev.buildnet.api.exec.ShellProvider;
import dev.buildnet.api.hash.HashProvider;
import dev.buildnet.api.spi.DefaultProviders;
import dev.buildnet.api.state.StateBackend;
import dev.buildnet.exec.ProcessShellProvider;
import dev.buildnet.internal.hash.Hashing;
import dev.buildnet.internal.state.InMemoryStateBackend;
import dev.buildnet.state.SqliteStateBackend;
import dev.buildnet.api.state.StateException;
import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Registered with {@link java.util.ServiceLoader} so the API's static factories
 * ({@code StateBackend.sqlite}, {@code HashProvider.xxh64}, ...) reach these implementations.
 */
public final class DefaultProvidersImpl implements DefaultProviders {
  /**
   * Creates missing parent directories first: {@code StateBackend.sqlite(dir.resolve(
   * ".buildnet/state.db"))} is how the README opens a workspace's state, before BuildNet has made
   * {@code .buildnet}. {@link SqliteStateBackend#open} itself stays strict, for hosts that want a
   * mistyped path refused.
   */
  @Override
  public StateBackend sqliteState(Path file) {
    if (file == null) {
      throw new IllegalArgumentException("file must not be null");
    }
    Path directory = file.toAbsolutePath().normalize().getParent();
    if (directory != null && !Files.isDirectory(directory)) {
      try {
        Files.createDirectories(directory);
      } catch (IOException e) {
        throw new StateException("cannot open state database " + file + ": cannot create directory "
            + directory + ": " + whyNot(directory, e), e);
      }
    }
    return SqliteStateBackend.open(file);
  }

  /** Why {@code directory} could not be created, in words. */
  private static String whyNot(Path directory, IOException e) {
    for (Path p = directory; p != null; p = p.getParent()) {
      if (Files.exists(p)) {
        if (!Files.isDirectory(p)) {
          return p + " is a file";
        }
        break;
      }
    }
    if (e instanceof AccessDeniedException denied) {
      return "permission denied at " + denied.getFile();
    }
    return e.getMessage();
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
