package dev.buildnet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildnet.api.build.BuildResult;
import dev.buildnet.graph.Target;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * BuildNet lives inside long-running hosts: after {@code close()} nothing of it may remain — no
 * thread, no child process, no open file.
 */
class BuildNetLifecycleTest {
  @TempDir Path ws;

  private BuildResult buildOnce(Path workspace) throws Exception {
    Files.writeString(workspace.resolve("in.txt"), "x");
    List<Target> targets = List.of(
        Target.builder("t").command("bash", "-c", "cp in.txt out.txt; sleep 0.1")
            .envPassthrough("PATH").inputs("in.txt").outputs("out.txt").build());
    try (BuildNet net = BuildNet.builder().workspace(workspace).targets(targets).start()) {
      return net.build("t").get(60, TimeUnit.SECONDS);
    }
  }

  @Test
  void afterCloseNoThreadProcessOrOpenFileRemains() throws Exception {
    Path warm = Files.createDirectory(ws.resolve("warm"));
    buildOnce(warm); // loads native libraries and class-level state once per JVM
    awaitNoBuildNetThreads();
    Set<String> filesBefore = openFiles();
    long childrenBefore = ProcessHandle.current().descendants().count();

    Path work = Files.createDirectory(ws.resolve("work"));
    assertTrue(buildOnce(work).success());

    awaitNoBuildNetThreads();
    assertEquals(childrenBefore, ProcessHandle.current().descendants().count(),
        "a child process survived close()");
    Set<String> leaked = new TreeSet<>(openFiles());
    leaked.removeAll(filesBefore);
    assertEquals(Set.of(), leaked, "files left open after close()");
  }

  /** Threads end on their own idle timeouts after close(); wait for that, with a bound. */
  private static void awaitNoBuildNetThreads() throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    Set<String> names = buildNetThreads();
    while (!names.isEmpty() && System.nanoTime() < deadline) {
      Thread.sleep(50); // polling a condition with a bound; there is no event to wait on
      names = buildNetThreads();
    }
    assertEquals(Set.of(), names, "BuildNet threads still alive");
  }

  private static Set<String> buildNetThreads() {
    return Thread.getAllStackTraces().keySet().stream()
        .filter(Thread::isAlive)
        .map(Thread::getName)
        .filter(n -> n.startsWith("buildnet-"))
        .collect(Collectors.toCollection(TreeSet::new));
  }

  /** What this JVM has open, by target path (sockets and pipes by their inode names). */
  private static Set<String> openFiles() throws IOException {
    Set<String> out = new TreeSet<>();
    try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
      for (Path fd : (Iterable<Path>) fds::iterator) {
        try {
          String target = Files.readSymbolicLink(fd).toString();
          if (!target.startsWith("/proc/")) {
            out.add(target);
          }
        } catch (IOException e) {
          // closed between listing and reading: not open
        }
      }
    }
    return out;
  }
}
