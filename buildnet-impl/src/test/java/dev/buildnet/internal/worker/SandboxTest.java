package dev.buildnet.internal.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A reused sandbox is checked with two {@code lstat}s instead of a listing once it has settled
 * (see {@link Sandbox}): these show that a change between or during attempts is still found on a
 * settled sandbox. The settle period passes on a clock the test moves; changes are made only once
 * the file system's own clock has moved past the directory's last change, as it has in real use
 * once the period has passed.
 */
class SandboxTest {
  @TempDir Path tmp;
  private final AtomicLong now = new AtomicLong(1_000_000_000L);

  /** An attempt whose command does nothing: the worker's calls, in its order. */
  private static boolean attempt(Sandbox s) throws Exception {
    s.own();
    return s.isEmpty();
  }

  private Sandbox settled() throws Exception {
    Sandbox s = new Sandbox(tmp.resolve("box"), now::get);
    assertTrue(attempt(s));
    now.addAndGet(Sandbox.SETTLE_NANOS);
    assertTrue(attempt(s));
    assertTrue(s.settled(), "two empty listings a settle period apart, nothing changed between");
    awaitFileSystemClockPast(s.dir());
    return s;
  }

  @Test
  void aSandboxIsTrustedOnlyAfterTwoEmptyListingsTheSettlePeriodApart() throws Exception {
    Sandbox s = new Sandbox(tmp.resolve("box"), now::get);
    assertTrue(attempt(s));
    assertFalse(s.settled());
    now.addAndGet(Sandbox.SETTLE_NANOS - 1);
    assertTrue(attempt(s));
    assertFalse(s.settled(), "trusted before the settle period had passed");
    now.addAndGet(1);
    assertTrue(attempt(s));
    assertTrue(s.settled());
    assertTrue(attempt(s), "a settled, unchanged sandbox is empty");
    assertTrue(s.settled());
  }

  @Test
  void aFileTheCommandLeavesInASettledSandboxIsFoundAndRemoved() throws Exception {
    Sandbox s = settled();
    s.own();
    Files.writeString(s.dir().resolve("left"), "by the command");
    assertFalse(s.isEmpty(), "a file written during the attempt was not noticed");
    s.own();
    assertTrue(s.empty());
    assertEquals(List.of(), list(s.dir()));
    assertFalse(s.settled(), "the stamp of before the change is still trusted");
  }

  @Test
  void aFileLeftBetweenTwoAttemptsInASettledSandboxIsFound() throws Exception {
    Sandbox s = settled();
    // A process that escaped an earlier attempt writes into the free sandbox.
    Files.writeString(s.dir().resolve("stray"), "from an escaped process");
    assertFalse(attempt(s), "a file written between two attempts was not noticed");
    s.own();
    assertTrue(s.empty());
    assertEquals(List.of(), list(s.dir()));
  }

  @Test
  void aFileWhoseSandboxHadItsModificationTimeSetBackIsStillFound() throws Exception {
    Sandbox s = settled();
    FileTime mtime = Files.getLastModifiedTime(s.dir(), LinkOption.NOFOLLOW_LINKS);
    s.own();
    Files.writeString(s.dir().resolve("hidden"), "x");
    Files.setLastModifiedTime(s.dir(), mtime); // mtime as it was; ctime cannot be set back
    assertFalse(s.isEmpty(), "a file hidden by setting the directory's mtime back was missed");
  }

  @Test
  void aSubdirectoryMadeInASettledSandboxIsFound() throws Exception {
    Sandbox s = settled();
    s.own();
    Files.createDirectory(s.dir().resolve("sub"));
    assertFalse(s.isEmpty());
  }

  @Test
  void aSettledSandboxReplacedByALinkIsMadeAgainAndTheLinkIsNotFollowed() throws Exception {
    Sandbox s = settled();
    Path outside = Files.createDirectory(tmp.resolve("outside"));
    Files.delete(s.dir());
    Files.createSymbolicLink(s.dir(), outside);
    s.own();
    assertTrue(Files.isDirectory(s.dir(), LinkOption.NOFOLLOW_LINKS));
    assertFalse(s.settled(), "the stamp of the replaced directory is still trusted");
    Files.writeString(s.dir().resolve("out"), "x");
    assertEquals(List.of(), list(outside), "the sandbox still pointed outside");
    assertFalse(s.isEmpty());
  }

  @Test
  void aSandboxThatIsALinkToAnEmptyDirectoryIsNotAnEmptySandbox() throws Exception {
    Sandbox s = new Sandbox(tmp.resolve("box"), now::get);
    s.own();
    Path outside = Files.createDirectory(tmp.resolve("outside"));
    Files.delete(s.dir());
    Files.createSymbolicLink(s.dir(), outside);
    assertFalse(s.isEmpty(), "a link was taken for an empty sandbox (to be reused)");
  }

  private static List<Path> list(Path dir) throws Exception {
    try (Stream<Path> s = Files.list(dir)) {
      return s.toList();
    }
  }

  /**
   * Waits until a file changed now gets a later ctime than {@code dir}'s: the file system's clock
   * (a kernel tick, not this JVM's clock) has moved past the directory's last change.
   */
  private static void awaitFileSystemClockPast(Path dir) throws Exception {
    long last = ctime(dir);
    Path probe = dir.resolveSibling(dir.getFileName() + ".probe");
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (true) {
      Files.writeString(probe, "tick");
      if (ctime(probe) > last) {
        Files.delete(probe);
        return;
      }
      if (System.nanoTime() > deadline) {
        fail("the file system's clock did not move within 30 s");
      }
      Thread.onSpinWait();
    }
  }

  private static long ctime(Path p) throws Exception {
    FileTime t = (FileTime) Files.getAttribute(p, "unix:ctime", LinkOption.NOFOLLOW_LINKS);
    return t.to(TimeUnit.NANOSECONDS);
  }
}
