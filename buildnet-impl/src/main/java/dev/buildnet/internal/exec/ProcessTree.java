package dev.buildnet.internal.exec;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Every process one command is known to have started, with what they cost.
 *
 * <p>Members are found three ways. By walking children from every live member, so a process whose
 * parent died stays known once seen. By the command's mark: on Linux every command gets its own
 * random {@code BUILDNET_TARGET_TOKEN} in its environment, which every descendant inherits through
 * forks, double forks and {@code setsid}; with this JVM a subreaper (see {@link LinuxNative}) every
 * orphan ends up as a child of this JVM, so looking at this JVM's children and reading the
 * environment of those not known yet finds every orphan the command left, however it detached. And,
 * on request, by finding processes that still hold the command's stdout or stderr pipe (which also
 * works without the subreaper). Signals go through {@link ProcessHandle}s taken when a member was
 * found; the JDK checks the start time before signalling, so a recycled pid is never hit. Members
 * that this JVM adopted are reaped once they are zombies, since the JDK waits only for the
 * processes it started.
 *
 * <p>Thread-safe, for a command's own events and its stop's steps come on different threads;
 * every method holds the tree's monitor while it runs.
 */
public final class ProcessTree {
  private static final long SELF = ProcessHandle.current().pid();
  /**
   * Up to this many pids handed out since the root's fork are read one by one; more, and a
   * listing of /proc finds which of them exist first.
   */
  private static final int PROBE_LIMIT = 128;
  /** Reads of this JVM's children in one look for orphans, before the caller is told to look again. */
  private static final int MAX_ROUNDS = 16;

  private final ProcessInspector inspector;
  private final Reaper reaper;
  private final ZombieSweeper sweeper;
  private final PidWindow window;
  private final long rootPid;
  private final String mark;
  private final MemberListener memberListener;
  private final Set<String> pipes;
  private final Map<Long, Member> members = new LinkedHashMap<>();
  private long peakRssBytes;
  private long peakCpuNanos;
  // The last look for orphans met a candidate whose mark could not be read yet (see adoptsMore).
  private boolean undecided;

  private static final class Member {
    final ProcessHandle handle;
    long startTicks = -1;
    boolean gone;
    boolean politeSignalSent;
    // Seen as a zombie of another member: adopted by this JVM once that member died too.
    boolean unreapedZombie;

    Member(ProcessHandle handle) {
      this.handle = handle;
    }
  }

  /** Reaps a zombie child of this JVM that the JDK does not wait for; never blocks. */
  public interface Reaper {
    void reap(long pid);
  }

  /** Told about each member once its start time is known, for the leftovers record. */
  public interface MemberListener {
    void member(long pid, long startTicks);

    MemberListener NONE = (pid, startTicks) -> {};
  }

  ProcessTree(ProcessInspector inspector, ProcessHandle root) {
    this(inspector, null, null, null, root, null, MemberListener.NONE, null);
  }

  /**
   * @param reaper reaps this JVM's adopted children ({@link LinuxNative} when this JVM is a
   *     subreaper), or null where this JVM is not a subreaper
   * @param sweeper reaps unclaimed zombie children; null when {@code reaper} is
   * @param window the counters read before the root's fork, which bound where its detached
   *     processes can be when this JVM is not a subreaper; null to look at every process then
   * @param mark the command's {@code NAME=value} environment entry, or null if it has none
   * @param outputPipes how {@code /proc} names the pipes on the root's stdout and stderr, where
   *     the caller knows (its own {@link OutputPipes#identities()}); null to read them from the
   *     root's {@code /proc} entry now
   */
  public ProcessTree(
      ProcessInspector inspector,
      Reaper reaper,
      ZombieSweeper sweeper,
      PidWindow window,
      ProcessHandle root,
      String mark,
      MemberListener memberListener,
      Set<String> outputPipes) {
    this.inspector = inspector;
    this.reaper = reaper;
    this.sweeper = sweeper;
    this.window = window;
    this.rootPid = root.pid();
    this.mark = mark;
    this.memberListener = memberListener;
    // Read now, while the root is sure to be alive (unless the caller made the pipes and knows
    // them: two readlinks in /proc cost more than the rest of a short command's bookkeeping);
    // which of them are safe to hunt is decided when a hunt is needed (see ownPipesExcluded),
    // which most commands never need.
    this.pipes = outputPipes != null ? outputPipes : inspector.outputPipes(root.pid());
    members.put(root.pid(), new Member(root));
  }

  /**
   * If a child could not be set up in time we might read a pipe this JVM itself writes to; hunting
   * that pipe's holders would hit unrelated processes, so it is never used. This JVM's own pipes
   * are read when the hunt starts, so a command that is never hunted for costs no reads of them.
   */
  private Set<String> ownPipesExcluded() {
    Set<String> result = new HashSet<>(pipes);
    result.removeAll(inspector.outputPipes(SELF));
    return result;
  }

  /**
   * Finds members not seen yet (with {@code scanPipes}, also by a scan of every process for the
   * command's pipes, which costs a read of each process's fds) and samples every live member.
   */
  synchronized void refresh(boolean scanPipes) {
    List<Long> frontier = new ArrayList<>();
    if (scanPipes) {
      for (long pid : inspector.pipeHolders(ownPipesExcluded())) {
        if (track(pid)) {
          frontier.add(pid);
        }
      }
    }
    frontier.addAll(livePids());
    Set<Long> visited = new HashSet<>();
    while (!frontier.isEmpty()) {
      visited.addAll(frontier);
      List<Long> next = new ArrayList<>();
      for (List<Long> kids : inspector.children(frontier).values()) {
        for (long kid : kids) {
          if (!visited.contains(kid) && track(kid)) {
            next.add(kid);
          }
        }
      }
      frontier = next;
    }
    sample();
  }

  /**
   * Orphans of this command that are not members yet: processes that carry the command's mark,
   * among this JVM's children when it is a subreaper (one read when it has none, else a second to
   * confirm, plus one per child not yet classified), else among the pids handed out since the
   * root's fork (see {@link PidWindow}).
   */
  private List<Long> adoptedOrphans() {
    List<Long> found = new ArrayList<>();
    undecided = false;
    if (mark == null) {
      return found;
    }
    if (reaper == null) {
      // Probing /proc/<pid> reaches threads too, which a listing skips: a marked one is checked.
      PidWindow.Pids pids = window == null ? null : window.after(rootPid);
      examine(candidatesIn(pids), pids != null && pids.size() <= PROBE_LIMIT, found);
      return found;
    }
    // A child of this JVM that dies after the list is read hands its own children to this JVM
    // then, too late for that list: the daemon whose parent exits a moment after its command did
    // is adopted while we look at the parent. So the list is read again once the children on it
    // have been looked at, until it holds no one new. (A child caught still exiting has not
    // handed anyone over yet: its mark reads as "cannot tell yet", and the caller looks again.)
    // Each round needs a new child, so it ends; a machine that keeps handing this JVM new
    // orphans faster than that gets a look again later instead.
    Set<Long> examined = new HashSet<>();
    List<Long> children = inspector.ownChildren();
    for (int round = 0; ; round++) {
      List<Long> fresh = new ArrayList<>();
      for (long pid : children) {
        if (examined.add(pid)) {
          fresh.add(pid);
        }
      }
      if (fresh.isEmpty()) {
        break;
      }
      if (round == MAX_ROUNDS) {
        undecided = true;
        break;
      }
      examine(fresh, false, found);
      children = inspector.ownChildren();
    }
    if (sweeper != null) {
      sweeper.sweep(inspector, examined);
    }
    return found;
  }

  /**
   * Without the subreaper, orphans went to init or to another subreaper: only their mark finds
   * them. The pid window bounds where to look, so a command that started nothing costs three small
   * reads here; where it cannot bound them, every process is read.
   */
  private List<Long> candidatesIn(PidWindow.Pids pids) {
    if (pids == null) {
      return inspector.allProcesses();
    }
    List<Long> candidates = new ArrayList<>();
    if (pids.size() <= PROBE_LIMIT) {
      for (long pid : pids.toArray()) {
        candidates.add(pid);
      }
    } else {
      for (long pid : inspector.allProcesses()) {
        if (pids.contains(pid)) {
          candidates.add(pid);
        }
      }
    }
    return candidates;
  }

  /**
   * Tracks the candidates that carry the mark, adding them to {@code found}.
   *
   * @param maybeThreads some candidates may be threads, not processes (they carry their process's
   *     mark)
   */
  private void examine(List<Long> candidates, boolean maybeThreads, List<Long> found) {
    for (long pid : candidates) {
      Member m = members.get(pid);
      if (m != null && !m.gone) {
        continue;
      }
      Boolean marked = inspector.environmentHolds(pid, List.of(mark));
      if (Boolean.TRUE.equals(marked)) {
        if ((!maybeThreads || PidWindow.isProcess(pid)) && track(pid)) {
          found.add(pid);
        }
      } else if (marked == null) {
        // A process caught inside an exec (or an exit) shows no environment for a moment: look
        // again rather than miss it for good.
        undecided = true;
      }
    }
  }

  /**
   * Looks for marked orphans this JVM adopted that are not members yet, and if there are any,
   * makes them and their descendants members. True if it found any, or if a candidate was inside
   * an exec, where its environment cannot be read: then the caller must look again before it
   * concludes that nothing was left behind. Not part of every sample: it
   * is needed when the command is being stopped (and once more before a stop counts as complete,
   * for an orphan forked just before its parent was killed), and sampling stays cheap.
   */
  synchronized boolean adoptsMore() {
    List<Long> found = adoptedOrphans();
    if (!found.isEmpty()) {
      refresh(false);
    }
    return !found.isEmpty() || undecided;
  }

  /**
   * The root has exited and the JDK (or, for a {@link SpawnedProcess}, the command's loop) has
   * reaped it, or is about to: it is gone, with no look at {@code /proc}. Its
   * pid is free from now on, so a look could find (and walk the children of) whatever process got
   * it next; its own children were re-parented when it died, so only their mark or an earlier
   * sample finds them, as before.
   */
  synchronized void rootReaped() {
    members.get(rootPid).gone = true;
  }

  private boolean track(long pid) {
    if (pid == SELF || pid <= 1) {
      return false;
    }
    Member existing = members.get(pid);
    if (existing != null && !existing.gone) {
      return false;
    }
    Optional<ProcessHandle> handle = ProcessHandle.of(pid);
    if (handle.isEmpty()) {
      return false;
    }
    members.put(pid, new Member(handle.get()));
    return true;
  }

  private void sample() {
    long rss = 0;
    long cpu = 0;
    for (Map.Entry<Long, Member> e : members.entrySet()) {
      Member m = e.getValue();
      if (m.gone) {
        continue;
      }
      long pid = e.getKey();
      ProcessInspector.Stat s = inspector.stat(pid);
      if (s == null || (m.startTicks >= 0 && s.startTicks() != m.startTicks)) {
        m.gone = true;
        continue;
      }
      if (s.zombie()) {
        m.gone = true;
        m.startTicks = s.startTicks();
        // An orphan this JVM adopted stays a zombie until this JVM reaps it. The root is the
        // JDK's or its command loop's to reap (see SpawnedProcess): taking its exit status would
        // leave them without one.
        if (reaper != null && pid != rootPid && s.ppid() == SELF) {
          reaper.reap(pid);
        } else {
          m.unreapedZombie = pid != rootPid;
        }
        continue;
      }
      if (m.startTicks < 0) {
        memberListener.member(pid, s.startTicks());
      }
      m.startTicks = s.startTicks();
      rss += s.rssBytes();
      cpu += s.cpuNanos();
      peakRssBytes = Math.max(peakRssBytes, s.peakRssBytes());
    }
    peakRssBytes = Math.max(peakRssBytes, rss);
    peakCpuNanos = Math.max(peakCpuNanos, cpu);
  }

  private List<Long> livePids() {
    List<Long> pids = new ArrayList<>();
    members.forEach(
        (pid, m) -> {
          if (!m.gone) {
            pids.add(pid);
          }
        });
    return pids;
  }

  /**
   * Once every member is gone: reaps the members that died as zombies of a member that then died
   * too, which made them zombies of this JVM.
   */
  synchronized void reapAdoptedZombies() {
    if (reaper == null) {
      return;
    }
    for (Map.Entry<Long, Member> e : members.entrySet()) {
      Member m = e.getValue();
      if (m.unreapedZombie) {
        m.unreapedZombie = false;
        ProcessInspector.Stat s = inspector.stat(e.getKey());
        if (s != null && s.zombie() && s.ppid() == SELF && s.startTicks() == m.startTicks) {
          reaper.reap(e.getKey());
        }
      }
    }
  }

  /** True when no member is alive (zombies count as gone: they hold nothing but a pid). */
  synchronized boolean allGone() {
    for (Member m : members.values()) {
      if (!m.gone) {
        return false;
      }
    }
    return true;
  }

  /** Sends the polite signal (SIGTERM) once to every live member that has not had it. */
  synchronized void signalPolitely() {
    for (Member m : members.values()) {
      if (!m.gone && !m.politeSignalSent) {
        m.politeSignalSent = true;
        m.handle.destroy();
      }
    }
  }

  /** Sends SIGKILL to every live member. */
  synchronized void signalForcibly() {
    for (Member m : members.values()) {
      if (!m.gone) {
        m.handle.destroyForcibly();
      }
    }
  }

  /** The largest summed CPU time of the live members seen at any sample (see the provider doc). */
  synchronized long peakCpuNanos() {
    return peakCpuNanos;
  }

  /** The larger of the summed resident sets at any sample and any member's own high-water mark. */
  synchronized long peakRssBytes() {
    return peakRssBytes;
  }

  /** Every member's pid, live or gone, in the order found. */
  synchronized List<Long> knownPids() {
    return List.copyOf(members.keySet());
  }
}
