package dev.buildnet;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A real, small tmpfs mounted on a directory, that a test fills up and frees again. Needs root
 * (CI runs as root on Debian): a test that cannot mount fails, it is never skipped. {@link #close}
 * unmounts, and fails if the disk is still in use: so it also proves that whatever the test opened
 * on it left no file open.
 */
final class SmallDisk implements AutoCloseable {
  private final Path dir;
  private final Path filler;
  private boolean mounted;

  private SmallDisk(Path dir) {
    this.dir = dir;
    this.filler = dir.resolve("filler");
  }

  /** Mounts a tmpfs of {@code size} (e.g. "4m") on {@code dir}, creating the directory. */
  static SmallDisk mount(Path dir, String size) throws IOException, InterruptedException {
    Files.createDirectories(dir);
    SmallDisk disk = new SmallDisk(dir);
    Result r = run("mount", "-t", "tmpfs", "-o", "size=" + size + ",mode=0755", "tmpfs",
        dir.toString());
    if (r.code != 0) {
      fail("cannot mount a " + size + " tmpfs on " + dir + " (exit " + r.code + ": " + r.output
          + "); this test needs root, as CI has");
    }
    disk.mounted = true;
    return disk;
  }

  Path dir() {
    return dir;
  }

  /** Fills every free byte with one file; returns how many bytes it took. */
  long fill() throws IOException {
    byte[] page = new byte[4096];
    long written = 0;
    try (OutputStream out = Files.newOutputStream(filler)) {
      while (true) {
        out.write(page);
        written += page.length;
      }
    } catch (IOException e) {
      if (!e.getMessage().contains("No space left on device")) {
        throw e;
      }
    }
    return written;
  }

  /** Deletes what {@link #fill} wrote. */
  void free() throws IOException {
    Files.delete(filler);
  }

  long usableBytes() throws IOException {
    return Files.getFileStore(dir).getUsableSpace();
  }

  @Override
  public void close() throws IOException, InterruptedException {
    if (!mounted) {
      return;
    }
    mounted = false;
    Result r = run("umount", dir.toString());
    if (r.code != 0) {
      run("umount", "-l", dir.toString()); // detach it anyway, so nothing is left mounted
      fail("cannot unmount " + dir + ": " + r.output + " (was a file left open on it?)");
    }
  }

  private record Result(int code, String output) {}

  private static Result run(String... argv) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(List.of(argv)).redirectErrorStream(true).start();
    p.getOutputStream().close();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
    if (!p.waitFor(60, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      return new Result(-1, String.join(" ", argv) + " did not finish");
    }
    return new Result(p.exitValue(), out);
  }
}
