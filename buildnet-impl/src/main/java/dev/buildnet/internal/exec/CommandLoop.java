package dev.buildnet.internal.exec;

import com.sun.jna.Memory;
import com.sun.jna.Native;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One thread per command (a thread of the provider's pool, or for {@code run()} the caller's own,
 * see {@link #runOnCaller()}) that reads both of its output pipes and sees its root's exit: {@code
 * poll(2)} over the pipes' read ends ({@link OutputPipes}) and a pidfd of the root ({@code
 * pidfd_open(2)}, Linux 5.3), which becomes readable when the root exits.
 *
 * <p><b>Why.</b> Otherwise a command costs three threads of the provider's besides the JDK's
 * reaper (a reader per pipe and one waiting for the exit), and each wakes up and hands its event
 * to the next: a short command such as {@code /bin/true} paid about twelve context switches and a
 * millisecond of CPU that way, more than the fork and exec. Here the exit and both ends of output,
 * which a short command produces together, usually come in one or two wake-ups of one thread,
 * which then finishes the command itself (see {@link ProcessRun}).
 *
 * <p>The loop ends once both pipes have reached end-of-file and the root has exited, like the
 * threads it replaces; it closes the fds it was given. Where no pidfd can be had, {@link #open}
 * says so and the provider uses the reader threads instead.
 */
final class CommandLoop implements Runnable {
  private static final Logger LOG = LoggerFactory.getLogger(CommandLoop.class);
  private static final short POLLIN = 0x1;
  private static final int EINTR = 4;
  private static final int EAGAIN = 11;
  private static final int ESRCH = 3;
  private static final int POLLFD_BYTES = 8; // int fd, short events, short revents
  // MIPS orders siginfo_t's first fields differently; every other 64-bit Linux shares the layout.
  private static final boolean SIGINFO_LAYOUT_KNOWN =
      !System.getProperty("os.arch", "").startsWith("mips");
  // A pipe holds 64 KiB by default: one read empties a full one.
  private static final int READ_BYTES = 64 * 1024;

  private final int[] fds; // stdout, stderr, pidfd; -1 once done with
  private final OutputPump[] pumps;
  private final Events events;
  private final String name;
  // The root when this JVM started it itself (no JDK reaper): the loop reaps it, else null.
  private final SpawnedProcess spawned;
  // Running on a caller's thread (runOnCaller), which leaves once the result is settled.
  private boolean onCaller;

  private CommandLoop(
      int[] fds,
      SpawnedProcess spawned,
      OutputPump stdout,
      OutputPump stderr,
      Events events,
      String name) {
    this.fds = fds;
    this.pumps = new OutputPump[] {stdout, stderr};
    this.events = events;
    this.name = name;
    this.spawned = spawned;
  }

  /** What the loop tells its command, on the loop's thread. */
  interface Events {
    /**
     * The root's exit was seen at {@code nanoTime}, with its status as the JDK reports one (the
     * code, or 128 + the signal), or -1 where the JDK's reaper took it first.
     */
    void rootExited(long nanoTime, int exitCode);

    /**
     * Does what is due at {@code nanoTime} (a sample, the timeout) and says how many nanoseconds
     * until the next thing is due, or a negative number for nothing more to do but read.
     */
    long tick(long nanoTime);

    /** Blocks until the root's exit and reports it: for a loop that failed before it saw it. */
    void awaitExit();

    /**
     * Whether the command's result is settled although the loop still has fds to read: its
     * output was given up on (a process that escaped the tree still holds a pipe). Asked only by
     * a loop on a caller's thread, after each {@link #tick}.
     */
    default boolean settled() {
      return false;
    }

    /**
     * Has a thread of the provider's pool read what is left ({@code rest}), so that the caller's
     * thread can return with the settled result, as it would have had it only waited for that;
     * false if no thread could be had (then the caller reads on).
     */
    default boolean handOff(Runnable rest) {
      return false;
    }
  }

  /**
   * A loop over {@code pipes}' read ends and a pidfd of {@code pid}, or null where no pidfd can be
   * had (a kernel before 5.3, a seccomp filter): then {@code pipes} still has its read ends.
   *
   * @param spawned the root if {@link PosixSpawn} started it (the loop then reaps it), else null
   * @param events told of the root's exit, and asked for samples and the timeout between reads
   */
  static CommandLoop open(
      OutputPipes pipes,
      long pid,
      SpawnedProcess spawned,
      OutputPump stdout,
      OutputPump stderr,
      Events events,
      String name) {
    // Right after the fork. The JDK's reaper may have reaped a quick root already (ESRCH below);
    // for its pid to have gone to another process meanwhile, the kernel would have had to hand
    // out every other pid up to pid_max in those microseconds.
    long pidfd = OutputPipes.Libc.syscall(ChildStatus.SYS_PIDFD_OPEN, pid, 0);
    int[] fds;
    if (pidfd >= 0) {
      int[] reads = pipes.takeReadFds();
      fds = new int[] {reads[0], reads[1], (int) pidfd};
    } else if (Native.getLastError() == ESRCH) {
      // Gone already, and reaped by the JDK: the exit is seen at the loop's first turn.
      int[] reads = pipes.takeReadFds();
      fds = new int[] {reads[0], reads[1], -1};
    } else {
      LOG.debug("pidfd_open failed (errno {}); reading output on threads of its own",
          Native.getLastError());
      return null;
    }
    return new CommandLoop(fds, spawned, stdout, stderr, events, name);
  }

  /** Runs the loop on a provider thread, named for the command while it runs. */
  @Override
  public void run() {
    Thread thread = Thread.currentThread();
    String previousName = thread.getName();
    thread.setName(name);
    try {
      drive();
    } finally {
      thread.setName(previousName);
    }
  }

  /**
   * Runs the loop on the calling thread, which is not the provider's: its name is left alone
   * (the caller's logs and thread dumps keep it). For a caller that would only wait for the
   * result anyway ({@link ProcessRun#driveOnCaller()}).
   */
  void runOnCaller() {
    onCaller = true;
    drive();
  }

  private void drive() {
    boolean exitUnseen = false;
    // The rest of the reading went to a pool thread: the fds are its to close then.
    boolean handedOff = false;
    try {
      if (fds[2] < 0) {
        events.rootExited(System.nanoTime(), -1);
      }
      handedOff = loop();
    } catch (RuntimeException | Error e) {
      // Reading itself failed: the pumps report it, which stops the command, and end, so the
      // command's result does not wait for them.
      LOG.warn("{}: watching the command failed ({})", name, e.toString());
      exitUnseen = fds[2] >= 0;
      for (int i = 0; i < 2; i++) {
        if (fds[i] >= 0) {
          pumps[i].readFailed(e);
          closeFd(i);
          pumps[i].end();
        }
      }
    } finally {
      if (!handedOff) {
        for (int i = 0; i < 3; i++) {
          closeFd(i);
        }
      }
    }
    if (exitUnseen) {
      events.awaitExit();
    }
  }

  /**
   * What a loop reads into, reused from one command to the next: allocating and zeroing 128 KiB
   * (and registering native memory for cleaning) per command cost more than the loop's own work
   * for a short one. Kept in a small shared stash rather than per thread, because a loop also
   * runs on callers' threads ({@link #runOnCaller()}), which are not the provider's to fill: at
   * most {@link #SPARE_BUFFERS} sets stay allocated while no command runs.
   */
  static final class Buffers {
    final Memory pollFds = new Memory(3L * POLLFD_BYTES);
    final Memory buffer = new Memory(READ_BYTES);
    final byte[] bytes = new byte[READ_BYTES];
    final Memory siginfo = new Memory(ChildStatus.SIGINFO_BYTES);
  }

  /** How many idle sets of {@link Buffers} are kept: one per core covers what runs at once. */
  static final int SPARE_BUFFERS = Math.max(2, Runtime.getRuntime().availableProcessors());

  private static final ConcurrentLinkedQueue<Buffers> SPARES = new ConcurrentLinkedQueue<>();
  private static final AtomicInteger SPARE_COUNT = new AtomicInteger();

  /** A spare set of buffers, or a new one when none is idle. */
  static Buffers takeBuffers() {
    Buffers b = SPARES.poll();
    if (b == null) {
      return new Buffers();
    }
    SPARE_COUNT.decrementAndGet();
    return b;
  }

  /** Returns {@code b} to the stash, or lets it go if the stash is full. */
  static void giveBack(Buffers b) {
    if (SPARE_COUNT.incrementAndGet() <= SPARE_BUFFERS) {
      SPARES.offer(b);
    } else {
      SPARE_COUNT.decrementAndGet();
    }
  }

  /** For tests: how many idle sets the stash holds now. */
  static int spareBuffers() {
    return SPARE_COUNT.get();
  }

  /**
   * The exited root's status, read without reaping it ({@code waitid(P_PIDFD, WNOWAIT)}, Linux
   * 5.4), or -1 if it cannot be (the JDK's reaper reaped it first, an older kernel). The JDK's
   * reaper still reaps the root and records its status; reading it here spares the command's
   * finish a wait for that thread, which on a loaded machine may not run for milliseconds. A root
   * that {@link PosixSpawn} started has no JDK reaper: it is reaped here.
   */
  private int exitCode(Memory siginfo) {
    if (spawned != null) {
      return spawned.reapExited(); // no JDK reaper: ours to reap, now that it has exited
    }
    if (!SIGINFO_LAYOUT_KNOWN) {
      return -1;
    }
    siginfo.clear();
    if (OutputPipes.Libc.waitid(ChildStatus.P_PIDFD, fds[2], siginfo,
        ChildStatus.WEXITED | ChildStatus.WNOWAIT) != 0) {
      return -1;
    }
    return ChildStatus.exitCode(siginfo, -1);
  }

  /** True if it handed the rest of the reading to a pool thread (see Events.handOff). */
  private boolean loop() {
    Buffers buffers = takeBuffers();
    try {
      return loop(buffers);
    } finally {
      giveBack(buffers); // scratch only: every use writes before it reads
    }
  }

  private boolean loop(Buffers buffers) {
    Memory pollFds = buffers.pollFds;
    Memory buffer = buffers.buffer;
    byte[] bytes = buffers.bytes;
    long untilNext = events.tick(System.nanoTime());
    // When the exit was first seen, if its handling waits for one more look at the pipes.
    long exitSeenNanos = 0;
    boolean exitDeferred = false;
    while (fds[0] >= 0 || fds[1] >= 0 || fds[2] >= 0) {
      for (int i = 0; i < 3; i++) {
        pollFds.setInt((long) i * POLLFD_BYTES, fds[i]); // poll skips a negative fd
        pollFds.setShort((long) i * POLLFD_BYTES + 4, POLLIN);
        pollFds.setShort((long) i * POLLFD_BYTES + 6, (short) 0);
      }
      int ready = OutputPipes.Libc.poll(pollFds, 3, pollMillis(untilNext));
      if (ready < 0) {
        int errno = Native.getLastError();
        if (errno == EINTR) {
          continue;
        }
        throw new IllegalStateException("poll failed (errno " + errno + ")");
      }
      boolean outputRead = false;
      for (int i = 0; i < 2; i++) {
        if (fds[i] >= 0 && pollFds.getShort((long) i * POLLFD_BYTES + 6) != 0) {
          outputRead |= readOnce(i, buffer, bytes);
        }
      }
      if (fds[2] >= 0 && pollFds.getShort(2L * POLLFD_BYTES + 6) != 0) {
        long now = System.nanoTime();
        if (outputRead && !exitDeferred) {
          // The root's last output came with its exit: its end-of-file is most likely there too,
          // so look once more (without waiting) before reporting the exit. Reported with output
          // still open, the exit would set a timer on the scheduler, waking its thread, only to
          // cancel it a moment later. The root stays unreaped meanwhile, so its pid is not reused.
          exitDeferred = true;
          exitSeenNanos = now;
          untilNext = 0;
          continue;
        }
        int code = exitCode(buffers.siginfo);
        closeFd(2);
        events.rootExited(exitDeferred ? exitSeenNanos : now, code);
      }
      untilNext = events.tick(System.nanoTime());
      boolean open = fds[0] >= 0 || fds[1] >= 0 || fds[2] >= 0;
      if (onCaller && open && events.settled()) {
        // The result was settled without the output (see Events.settled): the caller gets it
        // now, and a pool thread reads on, as it would have done all along for a caller that
        // only waited. Once it is handed off, this thread touches none of the fds again.
        onCaller = false;
        if (events.handOff(this)) {
          return true;
        }
      }
    }
    return false;
  }

  /** poll's timeout: rounded up, so that a wake-up never comes before what is due. */
  private static int pollMillis(long nanos) {
    if (nanos < 0) {
      return -1;
    }
    return (int) Math.min(Integer.MAX_VALUE, (nanos + 999_999) / 1_000_000);
  }

  /** One read of a ready pipe (which cannot block): output (true), or its end (false). */
  private boolean readOnce(int i, Memory buffer, byte[] bytes) {
    long n = OutputPipes.Libc.read(fds[i], buffer, READ_BYTES);
    if (n > 0) {
      buffer.read(0, bytes, 0, (int) n);
      pumps[i].accept(bytes, (int) n);
      return true;
    }
    if (n < 0) {
      int errno = Native.getLastError();
      if (errno == EINTR || errno == EAGAIN) {
        return false;
      }
      LOG.debug("{}: reading output failed (errno {}); taken as its end", name, errno);
    }
    closeFd(i);
    pumps[i].end();
    return false;
  }

  /** Closes the fds, for a loop that will not run. */
  void close() {
    for (int i = 0; i < 3; i++) {
      closeFd(i);
    }
  }

  private void closeFd(int i) {
    if (fds[i] >= 0) {
      OutputPipes.Libc.close(fds[i]);
      fds[i] = -1;
    }
  }
}
