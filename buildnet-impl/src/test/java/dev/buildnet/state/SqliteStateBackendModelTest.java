package dev.buildnet.state;

import dev.buildnet.tck.MutableClock;
import dev.buildnet.internal.state.StateBackendModelProperties;

import dev.buildnet.api.state.StateBackend;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Map;
import java.util.stream.Stream;

class SqliteStateBackendModelTest extends StateBackendModelProperties {
  private final Map<StateBackend, Path> directories = new HashMap<>();

  @Override
  protected StateBackend createBackend(MutableClock clock) {
    try {
      Path directory = Files.createTempDirectory("buildnet-state-model");
      StateBackend backend =
          SqliteStateBackend.builder(directory.resolve("state.db")).clock(clock).open();
      directories.put(backend, directory);
      return backend;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Override
  protected void dispose(StateBackend backend) {
    backend.close();
    deleteRecursively(directories.remove(backend));
  }

  static void deleteRecursively(Path directory) {
    try (Stream<Path> paths = Files.walk(directory)) {
      for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(path);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
