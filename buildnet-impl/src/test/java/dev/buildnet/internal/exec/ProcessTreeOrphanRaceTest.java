package dev.buildnet.internal.exec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A subreaper's look for a command's orphans, when processes die while it looks: the orders that
 * let a double-forked daemon escape its command on a loaded machine. The processes are real (the
 * tree keeps handles to them); what {@code /proc} says about them at each read is scripted, so
 * each interleaving happens every time.
 */
class ProcessTreeOrphanRaceTest {
  private static final String MARK = "BUILDNET_TARGET_TOKEN=race";

  private final List<Process> started = new ArrayList<>();

  @AfterEach
  void killStarted() throws InterruptedException {
    for (Process p : started) {
      p.destroyForcibly();
      p.waitFor(30, TimeUnit.SECONDS);
    }
  }

  private final Scripted procfs = new Scripted();
  private ProcessTree tree;
  private long parent;
  private long daemon;

  @BeforeEach
  void aCommandThatHasExited() throws Exception {
    tree = subreaperTree(procfs);
    parent = sleeper();
    daemon = sleeper();
  }

  @Test
  void aDaemonHandedOverWhileItsParentWasLookedAt_isFound_inTheSameLook() {
    // The parent is the JVM's only child when the list is read, and a zombie when its
    // environment is: it handed the daemon over in between.
    procfs.listings.add(List.of(parent));
    parentHandsOverTheDaemon();

    assertTrue(tree.adoptsMore());
    assertTrue(tree.knownPids().contains(daemon), "a member: " + tree.knownPids());
  }

  @Test
  void aParentCaughtExiting_isLookedAtAgain_once_itHasHandedItsChildrenOver() {
    // Exiting: its environment cannot be told, and the daemon is still its child.
    procfs.listings.add(List.of(parent));
    procfs.marked.put(parent, null);

    assertTrue(tree.adoptsMore(), "the caller is told to look again");
    assertFalse(tree.knownPids().contains(daemon));

    parentHandsOverTheDaemon();
    assertTrue(tree.adoptsMore());
    assertTrue(tree.knownPids().contains(daemon), "a member: " + tree.knownPids());
  }

  @Test
  void aChildThatIsNoneOfTheCommands_endsTheLook_afterOneMoreRead() {
    long stranger = parent;
    procfs.listings.add(List.of(stranger));
    procfs.marked.put(stranger, false);

    assertFalse(tree.adoptsMore(), "nothing to look again for");
    assertEquals(2, procfs.listingsRead, "read once more after looking at its children");
  }

  /** From the next listing on, the parent is a zombie and the (marked) daemon the JVM's. */
  private void parentHandsOverTheDaemon() {
    procfs.listings.add(List.of(parent, daemon));
    procfs.marked.put(parent, false);
    procfs.marked.put(daemon, true);
  }

  private long sleeper() throws Exception {
    Process p = new ProcessBuilder("sleep", "1000").start();
    started.add(p);
    return p.pid();
  }

  /** A tree whose root has exited and been reaped, in a JVM that is a subreaper. */
  private ProcessTree subreaperTree(Scripted procfs) throws Exception {
    Process root = new ProcessBuilder("true").start();
    root.waitFor(30, TimeUnit.SECONDS);
    ProcessTree tree =
        new ProcessTree(
            procfs, pid -> {}, null, null, root.toHandle(), MARK, ProcessTree.MemberListener.NONE,
            Set.of());
    tree.rootReaped();
    return tree;
  }

  /** Answers each read from a script; the last listing is repeated once the script runs out. */
  private static final class Scripted implements ProcessInspector {
    final Deque<List<Long>> listings = new ArrayDeque<>();
    /** true: marked; false: not (a zombie, say); null: cannot be told yet. */
    final Map<Long, Boolean> marked = new HashMap<>();
    int listingsRead;

    @Override
    public List<Long> ownChildren() {
      listingsRead++;
      return listings.size() > 1 ? listings.poll() : listings.peek();
    }

    @Override
    public Boolean environmentHolds(long pid, Collection<String> entries) {
      return marked.get(pid);
    }

    @Override
    public boolean environmentHas(long pid, Collection<String> entries) {
      return Boolean.TRUE.equals(environmentHolds(pid, entries));
    }

    @Override
    public Stat stat(long pid) {
      return new Stat(pid, ProcessHandle.current().pid(), 1, false, 0, 0, 0);
    }

    @Override
    public Map<Long, List<Long>> children(Collection<Long> parents) {
      return Map.of();
    }

    @Override
    public Set<String> outputPipes(long pid) {
      return Set.of();
    }

    @Override
    public List<Long> pipeHolders(Set<String> pipes) {
      return List.of();
    }

    @Override
    public List<Long> allProcesses() {
      return List.of();
    }
  }
}
