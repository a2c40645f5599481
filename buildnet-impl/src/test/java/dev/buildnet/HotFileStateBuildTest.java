package dev.buildnet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildnet.api.build.BuildResult;
import dev.buildnet.api.build.TargetOutcome.Status;
import dev.buildnet.api.hash.Digest;
import dev.buildnet.api.hash.HashProvider;
import dev.buildnet.api.hash.Hasher;
import dev.buildnet.api.state.StateBackend;
import dev.buildnet.graph.Target;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link BuildNet.Builder#keepFileStateHot}: through the public API, an input edited just before
 * {@code buildAll()} is always seen (the build waits for the file events queued before it), and an
 * unchanged input is neither read nor stat'ed again (counted: its reads by the hash provider, its
 * stats by the file state's test seam). The file state's clock is an hour ahead, so nothing the
 * test wrote is racy and every digest is remembered.
 */
class HotFileStateBuildTest {
  @TempDir Path tmp;
  private Path ws;
  private BuildNet net;
  private final Map<Path, AtomicInteger> stats = new ConcurrentHashMap<>();
  private final Map<Path, AtomicInteger> reads = new ConcurrentHashMap<>();

  /** xxh64, counting the files it reads. */
  private final class CountingHashes implements HashProvider {
    private final HashProvider real = HashProvider.xxh64();

    @Override
    public String algorithm() {
      return real.algorithm();
    }

    @Override
    public Hasher newHasher() {
      return real.newHasher();
    }

    @Override
    public Digest hash(InputStream in) throws IOException {
      return real.hash(in);
    }

    @Override
    public Digest hash(Path file) throws IOException {
      count(reads, file);
      return real.hash(file);
    }
  }

  private static void count(Map<Path, AtomicInteger> counts, Path file) {
    counts.computeIfAbsent(file.toAbsolutePath().normalize(), k -> new AtomicInteger())
        .incrementAndGet();
  }

  @BeforeEach
  void start() throws Exception {
    ws = tmp.toRealPath();
    write("src/a/in.txt", "edit 00");
    write("src/b/in.txt", "b");
    net = BuildNet.builder().workspace(ws).state(StateBackend.inMemory())
        .hashes(new CountingHashes())
        .keepFileStateHot(true)
        .fileClock(Clock.offset(Clock.systemUTC(), Duration.ofHours(1)))
        .fileStatObserver(p -> count(stats, p))
        .targets(List.of(target("a"), target("b")))
        .start();
    assertEquals(Map.of("a", Status.BUILT, "b", Status.BUILT), Outcomes.statuses(build()));
    assertEquals(Map.of("a", Status.CACHED, "b", Status.CACHED), Outcomes.statuses(build()));
  }

  @AfterEach
  void stop() {
    net.close();
  }

  @Test
  void aWorkspaceThatCannotBeWatchedIsBuiltWithStatChecks() throws Exception {
    Path other = Files.createDirectories(tmp.resolve("other")).toRealPath();
    // The file state's markers directory cannot be made, so the workspace cannot be watched.
    Files.createDirectories(other.resolve(".buildnet"));
    Files.writeString(other.resolve(".buildnet/hot"), "not a directory");
    Files.createDirectories(other.resolve("src/a"));
    Path in = other.resolve("src/a/in.txt");
    Files.writeString(in, "one");
    Map<Path, AtomicInteger> otherStats = new ConcurrentHashMap<>();
    try (BuildNet n = BuildNet.builder().workspace(other).state(StateBackend.inMemory())
        .keepFileStateHot(true)
        .fileClock(Clock.offset(Clock.systemUTC(), Duration.ofHours(1)))
        .fileStatObserver(p -> count(otherStats, p))
        .targets(List.of(target("a")))
        .start()) {
      assertEquals(Map.of("a", Status.BUILT),
          Outcomes.statuses(n.buildAll().get(60, TimeUnit.SECONDS)));
      int before = otherStats.get(in).get();
      assertEquals(Map.of("a", Status.CACHED),
          Outcomes.statuses(n.buildAll().get(60, TimeUnit.SECONDS)));
      assertTrue(otherStats.get(in).get() > before, "the unchanged input was checked by stat");
      Files.writeString(in, "two, longer");
      assertEquals(Map.of("a", Status.BUILT),
          Outcomes.statuses(n.buildAll().get(60, TimeUnit.SECONDS)));
      assertEquals("two, longer", Files.readString(other.resolve("out/a.txt")));
    }
  }

  /** Copies its input to its output, so an edit that is missed shows in the output too. */
  private static Target target(String name) {
    return Target.builder(name)
        .command("sh", "-c", "mkdir -p out && cat src/" + name + "/in.txt > out/" + name + ".txt")
        .inputs("src/" + name + "/in.txt").outputs("out/" + name + ".txt").build();
  }

  private void write(String path, String text) throws IOException {
    Files.createDirectories(ws.resolve(path).getParent());
    Files.writeString(ws.resolve(path), text);
  }

  private BuildResult build() throws Exception {
    return net.buildAll().get(60, TimeUnit.SECONDS);
  }

  private int count(Map<Path, AtomicInteger> counts, String rel) {
    AtomicInteger n = counts.get(ws.resolve(rel));
    return n == null ? 0 : n.get();
  }

  @Test
  void anUnchangedInput_isNeitherReadNorStatted() throws Exception {
    int readsBefore = count(reads, "src/a/in.txt") + count(reads, "src/b/in.txt");
    stats.clear();
    for (int i = 0; i < 5; i++) {
      assertEquals(Map.of("a", Status.CACHED, "b", Status.CACHED), Outcomes.statuses(build()));
    }
    assertEquals(0, count(stats, "src/a/in.txt") + count(stats, "src/b/in.txt"), "stats");
    assertEquals(readsBefore, count(reads, "src/a/in.txt") + count(reads, "src/b/in.txt"));
    assertEquals(5, count(stats, "out/a.txt"), "declared outputs are still checked by stat");
  }

  @Test
  void anEditJustBeforeABuild_isSeen_andTheOtherInputIsNotTouched() throws Exception {
    for (int i = 1; i <= 20; i++) {
      String text = String.format("edit %02d", i); // the same size every time
      stats.clear();
      int bReads = count(reads, "src/b/in.txt");
      write("src/a/in.txt", text);
      assertEquals(Map.of("a", Status.BUILT, "b", Status.CACHED), Outcomes.statuses(build()), "edit " + i);
      assertEquals(text, Files.readString(ws.resolve("out/a.txt")), "edit " + i);
      assertEquals(0, count(stats, "src/b/in.txt"), "edit " + i + ": stats of b");
      assertEquals(bReads, count(reads, "src/b/in.txt"), "edit " + i + ": reads of b");
    }
  }

  @Test
  void aWatch_isRefused_whileTheFileStateIsKeptHot() {
    IllegalStateException e = assertThrows(IllegalStateException.class,
        () -> net.watch(List.of("a"), new WatchListener() {}));
    assertEquals("the file state is kept from file events already", e.getMessage());
  }
}
