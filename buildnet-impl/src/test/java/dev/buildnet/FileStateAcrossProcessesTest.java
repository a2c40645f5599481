package dev.buildnet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The file state survives the process (issue 13, section 2): each build here is a new JVM
 * ({@link FileStateMain}) on the same workspace, and the files it reads are counted. A fresh
 * process reads no unchanged file, and only the file that changed.
 */
class FileStateAcrossProcessesTest {
  @TempDir Path ws;

  /** What one child build read and how each target ended. */
  private record Run(List<String> reads, Map<String, String> status) {}

  private Run build() throws Exception {
    Path java = Path.of(System.getProperty("java.home"), "bin", "java");
    Process child = new ProcessBuilder(java.toString(), "-Xmx256m", "-XX:+UseSerialGC",
        "-XX:TieredStopAtLevel=1", "-cp", System.getProperty("java.class.path"),
        FileStateMain.class.getName(), ws.toString())
        .redirectErrorStream(true).start();
    child.getOutputStream().close();
    String out = new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(child.waitFor(120, TimeUnit.SECONDS), "the child build did not end");
    assertEquals(0, child.exitValue(), out);
    List<String> reads = new ArrayList<>();
    Map<String, String> status = new TreeMap<>();
    for (String line : out.split("\n")) {
      if (line.startsWith("read=")) {
        reads.add(line.substring(5));
      } else if (line.startsWith("status=")) {
        String[] s = line.substring(7).split(":");
        status.put(s[0], s[1]);
      }
    }
    return new Run(reads, status);
  }

  private void write(String path, String content) throws IOException {
    Path file = ws.resolve(path);
    Files.createDirectories(file.getParent());
    Files.writeString(file, content);
  }

  /**
   * Waits until every file and directory of the workspace is older than the racy window (2 s),
   * so that what the next build reads it also remembers: the racy case itself is pinned with a
   * clock in FileStateFileTest, where it does not depend on how fast this machine runs.
   */
  private void waitUntilSettled() throws Exception {
    long latest = 0;
    try (Stream<Path> all = Files.walk(ws)) {
      for (Path p : (Iterable<Path>) all::iterator) {
        if (p.startsWith(ws.resolve(".buildnet"))) {
          continue;
        }
        FileTime m = Files.getLastModifiedTime(p);
        FileTime c = (FileTime) Files.getAttribute(p, "unix:ctime");
        latest = Math.max(latest, Math.max(m.toMillis(), c.toMillis()));
      }
    }
    Instant settled = Instant.ofEpochMilli(latest).plusMillis(2_100);
    Instant deadline = Instant.now().plusSeconds(60);
    while (Instant.now().isBefore(settled)) {
      assertTrue(Instant.now().isBefore(deadline), "the clock does not move");
      Thread.sleep(50);
    }
  }

  @Test
  void aFreshProcess_readsNoUnchangedFile_andOnlyWhatChanged() throws Exception {
    write("src/a.txt", "a");
    write("src/lib/b.txt", "b");
    write("src/lib/c.txt", "c");
    Run cold = build();
    assertEquals(Map.of("a", "BUILT", "b", "BUILT", "all", "BUILT"), cold.status());
    waitUntilSettled();
    // Files the cold build read or wrote within the racy window are read once more, then kept.
    build();

    Run nullBuild = build();
    assertEquals(Map.of("a", "CACHED", "b", "CACHED", "all", "CACHED"), nullBuild.status());
    assertEquals(List.of(), nullBuild.reads(), "a null build in a fresh process read files");

    write("src/lib/c.txt", "c, edited");
    waitUntilSettled();
    Run edited = build();
    assertEquals(Map.of("a", "CACHED", "b", "CACHED", "all", "BUILT"), edited.status());
    assertEquals(List.of("src/lib/c.txt"), edited.reads());

    write("src/lib/new.txt", "new");
    waitUntilSettled();
    Run added = build();
    assertEquals(Map.of("a", "CACHED", "b", "CACHED", "all", "BUILT"), added.status());
    assertEquals(List.of("src/lib/new.txt"), added.reads(), "the glob's cached directory");

    Files.delete(ws.resolve("src/lib/new.txt"));
    waitUntilSettled();
    Run deleted = build();
    assertEquals(Map.of("a", "CACHED", "b", "CACHED", "all", "CACHED"), deleted.status(),
        "back to the inputs of the edited build");
    assertEquals(List.of(), deleted.reads());
  }
}
