package dev.buildnet.internal.bundle;

import dev.buildnet.exec.ProcessShellProvider;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.io.TempDir;

/**
 * The fixture of the tests that run a real bundler from {@code node_modules}: a shell, hashes, and
 * a temporary directory for {@link TestProjects#workspace} whose tool link is removed afterwards.
 */
public abstract class InstalledToolTest {
  public static final ProcessShellProvider SHELL = ProcessShellProvider.create();
  public final Sha256Hashes hashes = new Sha256Hashes();

  @TempDir public Path dir;

  @AfterEach
  void unlinkTools() throws Exception {
    // JUnit would otherwise warn about a link out of its temp directory.
    Files.deleteIfExists(dir.resolve("ws/node_modules"));
  }
}
