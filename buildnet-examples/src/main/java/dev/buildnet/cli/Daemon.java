package dev.buildnet.cli;

import dev.buildnet.BuildFuture;
import dev.buildnet.BuildNet;
import dev.buildnet.graph.Target;
import dev.buildnet.graph.WorkspaceFile;
import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.Writer;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicInteger;
import picocli.CommandLine;

/**
 * The warm per-workspace daemon behind {@code bin/buildnet build}: one JVM that keeps the
 * workspace's {@link BuildNet} open between builds (its JIT-compiled code, its in-memory file
 * digests and its open state database), so a build costs a request instead of a JVM start.
 *
 * <p>It listens on 127.0.0.1 only, on a port the OS picks, and writes {@code PORT TOKEN PID JAR-ID}
 * to its state file (see {@link DaemonFiles}); only a client that read the token from that 0600
 * file is served. It exits after {@code idleTimeout} without a request, on {@code daemon stop},
 * on SIGTERM, or when its state file no longer names it (another daemon replaced it); it cancels
 * running builds (which kills their process trees) and closes every BuildNet first.
 *
 * <p>The protocol is internal to this class and {@code bin/buildnet} (not the MessagePack one).
 * The client sends NUL-terminated fields: {@code buildnet-daemon-1} (or {@code -2}, below), the
 * token, the request ({@code build}, {@code status}, {@code stop} or {@code forget}: drop the warm
 * BuildNets, sent by {@code clean --cache} and {@code gc}, which empty the cache from another
 * process behind the warm instance's in-memory record of it); for {@code build} then the physical working
 * directory, {@code 1} or {@code 0} (standard output is a terminal), the terminal's columns, the
 * argument count and the arguments (starting with {@code build}), the count of environment
 * variables and each as {@code NAME=VALUE}. A wrong magic or token gets one line, {@code error:
 * ...}, and the connection is closed. Otherwise every reply line is a frame: {@code 1|TEXT} (a line
 * of standard output), {@code 1-TEXT} (standard output without a line end yet, as a progress line
 * that is redrawn), {@code 2|} and {@code 2-} the same for standard error, and last {@code x|CODE},
 * the exit code. A client that sent {@code buildnet-daemon-2} gets a build's text as counted
 * blocks instead of line frames: {@code 1#N} or {@code 2#N} and a line end, then exactly N bytes of
 * UTF-8 text for standard output or error (any number of lines, the last maybe without its end). A client that closes its connection (Ctrl-C, kill) cancels its build.
 *
 * <p>The environment: the client's whole environment is sent, and the build sees it exactly as an
 * in-process build sees its own (targets read only the variables they list, {@code
 * BuildNet.Builder.hostEnvironment}). The warm BuildNet is reused while the variables the
 * workspace's targets list (and PATH, which finds bundlers) have the same values; otherwise a new
 * one replaces it. The same holds for {@code buildnet.json}: a changed file opens a new instance.
 * Two clients of one workspace at once: the second gets a BuildNet of its own, which waits for the
 * workspace lock exactly as a second {@code buildnet} process does.
 *
 * <p>File state: on Linux the warm BuildNet keeps its input digests hot from file events
 * (impl's {@code internal.watch.HotFileState}, watch mode's trust without its rebuilds), so
 * a null build neither stats nor reads unchanged inputs; before each build the daemon waits until
 * the events queued before the request are applied (HotFileState#sync), so a client's edit made
 * just before its build is always seen. {@code -Dbuildnet.daemon.hotFileState=false} turns it off.
 * {@code -Dbuildnet.daemon.timing=true} logs each build's phases (for measurements).
 */
final class Daemon {
  static final String MAGIC = "buildnet-daemon-1";
  /**
   * The magic of a client that reads text in counted blocks ({@code 1#N}, see the class doc):
   * bin/buildnet is one. bash reads a socket one byte per read(2) for line frames, but a counted
   * {@code read -N} in blocks, so a large reply (a {@code --json} document, {@code --logs}) cost
   * it a system call per byte: 2 s for the 600 KB document of a 24-target build.
   */
  static final String MAGIC_BLOCKS = "buildnet-daemon-2";
  private static final int MAX_FIELD = 1 << 20;
  private static final int MAX_FIELDS = 100_000;
  /** How long a client may take to send its request. */
  private static final int REQUEST_TIMEOUT_MS = 30_000;
  /** How often the accept loop looks at the idle time and the state file. */
  private static final int TICK_MS = 5_000;
  /** How long a build waits for the file events queued before it (then it stats every input). */
  private static final Duration SYNC_TIMEOUT = Duration.ofSeconds(5);
  private static final boolean HOT_FILE_STATE =
      !"false".equals(System.getProperty("buildnet.daemon.hotFileState"))
          && System.getProperty("os.name", "").startsWith("Linux"); // elsewhere the JDK polls
  private static final boolean TIMING = Boolean.getBoolean("buildnet.daemon.timing");

  private final Path stateFile;
  private final String jarId;
  private final Duration idleTimeout;
  private final PrintStream log;
  private final String token;
  private final Map<Path, Warm> warm = new HashMap<>();
  private final List<ClientLease> running = new ArrayList<>();
  private final AtomicInteger active = new AtomicInteger();
  private final AtomicInteger connections = new AtomicInteger();
  private volatile long lastRequestNanos = System.nanoTime();
  private volatile boolean stopping;
  /** A build ended since the last {@link #settle}. */
  private volatile boolean unsettled;
  /** Made by the first {@link #settle}: the first build does not wait for java.management. */
  private volatile IdleHeap heap;
  private ServerSocket server;

  Daemon(Path stateFile, String jarId, Duration idleTimeout, PrintStream log) {
    this.stateFile = stateFile;
    this.jarId = jarId;
    this.idleTimeout = idleTimeout;
    this.log = log;
    byte[] t = new byte[24];
    new SecureRandom().nextBytes(t);
    this.token = HexFormat.of().formatHex(t);
  }

  /** Serves until stopped or idle; returns the exit code. */
  int run() throws IOException {
    DaemonFiles.ensurePrivateDir(stateFile.getParent());
    server = new ServerSocket();
    server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 50);
    server.setSoTimeout(TICK_MS);
    Thread onSignal = new Thread(this::shutdown, "buildnet-daemon-shutdown");
    Runtime.getRuntime().addShutdownHook(onSignal);
    long pid = ProcessHandle.current().pid();
    DaemonFiles.State me = new DaemonFiles.State(server.getLocalPort(), token, pid, jarId);
    DaemonFiles.write(stateFile, me);
    log.println("buildnet daemon " + pid + " listening on 127.0.0.1:" + server.getLocalPort()
        + " (idle timeout " + idleTimeout + ")");
    log.flush();
    try {
      while (!stopping) {
        Socket s;
        try {
          s = server.accept();
        } catch (SocketTimeoutException e) {
          if (active.get() == 0 && unsettled) {
            settle();
          }
          if (active.get() == 0 && idleFor().compareTo(idleTimeout) >= 0) {
            log.println("idle for " + idleTimeout + ": stopping");
            break;
          }
          if (!namesMe(me)) {
            log.println("the state file names another daemon now: stopping");
            break;
          }
          continue;
        } catch (SocketException e) {
          break; // closed by stop
        }
        Thread t = new Thread(() -> serve(s), "buildnet-daemon-conn-" + connections.incrementAndGet());
        t.setDaemon(true);
        t.start();
      }
    } finally {
      shutdown();
      try {
        Runtime.getRuntime().removeShutdownHook(onSignal);
      } catch (IllegalStateException e) {
        // already shutting down: the hook does the same, idempotently
      }
    }
    return 0;
  }

  /**
   * Hands the heap a build grew back to the OS once the daemon is idle (a tick without a request
   * after a build). A build allocates far more than the daemon keeps between builds (at 1,000
   * targets tens of MiB of garbage around ~20 MiB kept), and the serial collector the launcher
   * picks shrinks the heap only in a full collection: one here, while nobody waits, with the
   * tighter idle ratios of {@link IdleHeap}, keeps an idle daemon's resident memory near what it
   * keeps (and each build gets the launcher's roomier ratios back).
   */
  private void settle() {
    unsettled = false;
    long t = System.nanoTime();
    if (heap == null) {
      heap = IdleHeap.ofThisJvm();
    }
    heap.idle();
    if (TIMING) {
      Runtime rt = Runtime.getRuntime();
      log.printf("timing: idle collection %.2f ms, heap %d KiB committed, %d KiB used%n",
          (System.nanoTime() - t) / 1e6, rt.totalMemory() >> 10,
          (rt.totalMemory() - rt.freeMemory()) >> 10);
      log.flush();
    }
  }

  private Duration idleFor() {
    return Duration.ofNanos(System.nanoTime() - lastRequestNanos);
  }

  private boolean namesMe(DaemonFiles.State me) {
    try {
      return DaemonFiles.read(stateFile).map(me::equals).orElse(false);
    } catch (IOException e) {
      return false;
    }
  }

  /** Stops serving: cancels running builds, closes every BuildNet, removes the state file. */
  private void shutdown() {
    synchronized (this) {
      if (server == null) {
        return;
      }
      stopping = true;
    }
    try {
      server.close();
    } catch (IOException e) {
      // closing: nothing to do
    }
    List<ClientLease> toCancel;
    synchronized (running) {
      toCancel = new ArrayList<>(running);
    }
    toCancel.forEach(ClientLease::cancel);
    List<Warm> all;
    synchronized (warm) {
      all = new ArrayList<>(warm.values());
      warm.clear();
    }
    for (Warm w : all) {
      try {
        w.net.close();
      } catch (RuntimeException e) {
        log.println("closing " + w.workspace + ": " + e);
      }
    }
    try {
      if (namesMeQuietly()) {
        Files.deleteIfExists(stateFile);
      }
    } catch (IOException e) {
      log.println("removing " + stateFile + ": " + e);
    }
    log.flush();
  }

  private boolean namesMeQuietly() {
    try {
      return DaemonFiles.read(stateFile).map(s -> s.token().equals(token)).orElse(false);
    } catch (IOException e) {
      return false;
    }
  }

  private void serve(Socket s) {
    active.incrementAndGet();
    try (s) {
      s.setSoTimeout(REQUEST_TIMEOUT_MS);
      InputStream in = new BufferedInputStream(s.getInputStream());
      OutputStream out = s.getOutputStream();
      String magic = field(in);
      String given = field(in);
      boolean blocks = MAGIC_BLOCKS.equals(magic);
      if (!(blocks || MAGIC.equals(magic)) || !MessageDigest.isEqual(
          given.getBytes(StandardCharsets.UTF_8), token.getBytes(StandardCharsets.UTF_8))) {
        out.write("error: wrong token for this buildnet daemon\n".getBytes(StandardCharsets.UTF_8));
        out.flush();
        return;
      }
      String request = field(in);
      switch (request) {
        case "build" -> build(s, in, out, blocks);
        case "status" -> {
          Frames f = new Frames(out);
          f.write('1', "daemon " + ProcessHandle.current().pid() + " on 127.0.0.1:"
              + server.getLocalPort() + ", jar " + jarId + ", " + warmCount()
              + " open workspace(s), " + (active.get() - 1) + " running request(s), idle "
              + idleFor().toSeconds() + " s of " + idleTimeout.toSeconds() + " s\n");
          f.exit(0);
        }
        case "forget" -> {
          forgetWarm();
          new Frames(out).exit(0);
        }
        case "stop" -> {
          new Frames(out).exit(0);
          log.println("asked to stop");
          stopping = true;
          Thread t = new Thread(this::shutdown, "buildnet-daemon-stop");
          t.start();
        }
        default -> {
          Frames f = new Frames(out);
          f.write('2', "error: unknown daemon request '" + request + "'\n");
          f.exit(BuildNetCli.USAGE);
        }
      }
    } catch (IOException | RuntimeException e) {
      log.println("connection: " + e);
      log.flush();
    } finally {
      lastRequestNanos = System.nanoTime();
      active.decrementAndGet();
    }
  }

  /**
   * Makes every warm BuildNet unfit for reuse: the next build opens a new one, which reads the
   * cache as it is now (a warm one remembers which records and blobs it saw and would report
   * targets whose outputs are in place as cached from a cache another process just emptied).
   */
  private void forgetWarm() {
    synchronized (warm) {
      for (Warm w : warm.values()) {
        w.forgotten = true;
      }
    }
    log.println("asked to forget the warm workspaces: the cache changed outside the daemon");
    log.flush();
  }

  private int warmCount() {
    synchronized (warm) {
      return warm.size();
    }
  }

  private void build(Socket s, InputStream in, OutputStream out, boolean blocks)
      throws IOException {
    long t0 = System.nanoTime();
    Path cwd = Path.of(field(in));
    boolean tty = "1".equals(field(in));
    field(in); // the terminal's columns: sent for future use, nothing prints by width yet
    int argc = count(in);
    String[] args = new String[argc];
    for (int i = 0; i < argc; i++) {
      args[i] = field(in);
    }
    int envc = count(in);
    Map<String, String> env = new HashMap<>();
    for (int i = 0; i < envc; i++) {
      String kv = field(in);
      int eq = kv.indexOf('=');
      if (eq > 0) {
        env.put(kv.substring(0, eq), kv.substring(eq + 1));
      }
    }
    s.setSoTimeout(0);
    out.write("ok\n".getBytes(StandardCharsets.UTF_8)); // the client waits a bounded time for it
    out.flush();
    Frames frames = new Frames(out, blocks);
    if (argc == 0 || !"build".equals(args[0]) || !cwd.isAbsolute()) {
      frames.write('2', "error: the daemon runs 'build' only\n");
      frames.exit(BuildNetCli.USAGE);
      return;
    }
    IdleHeap h = heap;
    if (h != null) {
      h.busy(); // the room to grow that the idle daemon gave back
    }
    long t1 = System.nanoTime();
    ClientLease lease = new ClientLease(env, cwd);
    // The client sends nothing after its request: end of input means it went away.
    Thread watch = new Thread(() -> {
      try {
        while (in.read() >= 0) {
          // ignore
        }
      } catch (IOException e) {
        // reset: gone as well
      }
      lease.cancel();
    }, "buildnet-daemon-client-watch");
    watch.setDaemon(true);
    watch.start();
    PrintWriter o = new PrintWriter(frames.writer('1'));
    PrintWriter e = new PrintWriter(frames.writer('2'));
    CommandLine cli = BuildNetCli.commandLine(args);
    cli.setOut(o);
    cli.setErr(e);
    ((BuildCommand) cli.getSubcommands().get("build").getCommand()).session =
        new ClientSession(lease, env, cwd, tty);
    int code;
    try {
      code = cli.execute(args);
    } catch (RuntimeException | Error t) { // as BuildNetCli.main: still one line
      code = ErrorReporter.report(t, e, java.util.Arrays.asList(args).contains("--stacktrace"));
    }
    o.flush();
    e.flush();
    unsettled = true;
    frames.exit(code);
    if (TIMING) {
      long t2 = System.nanoTime();
      log.printf("timing: request %.2f ms, open %.2f ms (file events sync %.2f ms), build+print"
          + " %.2f ms, total %.2f ms%n", (t1 - t0) / 1e6, lease.openNanos / 1e6,
          lease.syncNanos / 1e6, (t2 - t1 - lease.openNanos) / 1e6, (t2 - t0) / 1e6);
      log.flush();
    }
  }

  /** The session of one client: its terminal, directory, environment, and a BuildNet to use. */
  private final class ClientSession implements BuildSession {
    private final ClientLease lease;
    private final Map<String, String> env;
    private final Path cwd;
    private final boolean tty;

    ClientSession(ClientLease lease, Map<String, String> env, Path cwd, boolean tty) {
      this.lease = lease;
      this.env = env;
      this.cwd = cwd;
      this.tty = tty;
    }

    @Override
    public boolean live() {
      return Terminal.isLive(env::get, tty);
    }

    @Override
    public Path resolve(Path workspace) {
      return cwd.resolve(workspace);
    }

    @Override
    public BuildSession.Lease open(Settings settings) {
      lease.open(settings);
      return lease;
    }
  }

  /**
   * What makes a warm BuildNet reusable for a request; {@code workspaceFile} is the SHA-256 of the
   * workspace file's bytes (the bytes themselves were 1.5 MB at 5,000 targets, kept while idle).
   */
  private record Key(int slots, boolean waitForLock, byte[] workspaceFile) {
    boolean sameAs(Key o) {
      return slots == o.slots && waitForLock == o.waitForLock
          && java.util.Arrays.equals(workspaceFile, o.workspaceFile);
    }
  }

  /** A workspace's open BuildNet, between builds and during one. */
  private static final class Warm {
    final Path workspace;
    final Key key;
    final Map<String, String> env;
    final Set<String> envNames;
    volatile java.util.function.Consumer<String> notice = m -> { };
    BuildNet net;
    dev.buildnet.internal.addon.AddOns.HotFiles hot; // null: every build stats its inputs
    boolean busy;
    volatile boolean forgotten; // see forgetWarm

    Warm(Path workspace, Key key, Map<String, String> env) {
      this.workspace = workspace;
      this.key = key;
      this.env = env;
      this.envNames = new TreeSet<>();
    }

    boolean fits(Key k, Map<String, String> otherEnv) {
      if (forgotten || !key.sameAs(k)) {
        return false;
      }
      for (String n : envNames) {
        if (!Objects.equals(env.get(n), otherEnv.get(n))) {
          return false;
        }
      }
      return true;
    }
  }

  /** One client's use of a BuildNet: the warm one, or one of its own while that one is busy. */
  private final class ClientLease implements BuildSession.Lease {
    private final Map<String, String> env;
    private final Path cwd;
    private Warm warmUsed;
    private BuildNet own;
    private BuildNet net;
    private dev.buildnet.api.build.BuildListener reporter;
    private BuildFuture build;
    private boolean cancelled;
    long openNanos;
    long syncNanos;

    ClientLease(Map<String, String> env, Path cwd) {
      this.env = env;
      this.cwd = cwd;
    }

    void open(BuildSession.Settings s) {
      long start = System.nanoTime();
      Path ws = s.workspace().toAbsolutePath().normalize();
      Key key = new Key(s.slots(), s.waitForLock(), workspaceFile(ws));
      Warm stale = null;
      synchronized (warm) {
        Warm w = warm.get(ws);
        if (w != null && !w.busy && w.fits(key, env)) {
          w.busy = true;
          warmUsed = w;
        } else if (w == null || !w.busy) {
          stale = w;
          warm.remove(ws);
        }
      }
      if (stale != null) {
        stale.net.close();
      }
      if (warmUsed == null && !stopping) {
        Warm w = new Warm(ws, key, env);
        BuildNet fresh = builder(s, env).onWorkspaceLockWait(m -> w.notice.accept(m)).start();
        // Nobody asks a daemon about past builds (no HTTP API here), and the history's default of
        // 200 builds, each with every target's events, grew without end in a busy daemon (about
        // 1.3 MiB per build at 1,000 targets; an OOM at 5,000 after some dozens of builds).
        dev.buildnet.internal.addon.AddOns.history(fresh).keepBuilds(1);
        // For the same reason a cached target's log is read from the blob store only when a
        // client prints it (--logs): a null build would otherwise read one blob per target.
        dev.buildnet.internal.addon.AddOns.history(fresh).keepReplayedLogs(false);
        w.net = fresh;
        for (Target t : fresh.graph().targets()) {
          w.envNames.addAll(t.envPassthrough());
          w.envNames.addAll(t.envPassthroughUnhashed());
        }
        w.envNames.add("PATH");
        w.hot = hotFileState(fresh, ws);
        w.busy = true;
        boolean kept = false;
        synchronized (warm) {
          if (!warm.containsKey(ws) && !stopping) {
            warm.put(ws, w);
            kept = true;
          }
        }
        if (kept) {
          warmUsed = w;
        } else {
          own = fresh; // another client's instance got there first, or the daemon stops
          w.notice = s.lockNotice();
        }
      }
      if (warmUsed == null && own == null) {
        own = builder(s, env).onWorkspaceLockWait(s.lockNotice()).start();
        dev.buildnet.internal.addon.AddOns.history(own).keepReplayedLogs(false);
      }
      if (warmUsed != null) {
        warmUsed.notice = s.lockNotice();
        net = warmUsed.net;
        if (warmUsed.hot != null) {
          // The client's writes before its request must be seen: see HotFileState's javadoc.
          long t = System.nanoTime();
          if (!warmUsed.hot.sync(SYNC_TIMEOUT)) {
            log.println("file events of " + ws + " did not arrive in " + SYNC_TIMEOUT
                + ": this build checks every input by stat");
            log.flush();
          }
          syncNanos = System.nanoTime() - t;
        }
      } else {
        net = own;
      }
      reporter = s.reporter();
      net.addListener(reporter);
      openNanos = System.nanoTime() - start;
      synchronized (running) {
        running.add(this);
      }
    }

    private BuildNet.Builder builder(BuildSession.Settings s, Map<String, String> env) {
      BuildNet.Builder b = BuildNet.builder().workspace(s.workspace()).hostEnvironment(env)
          .origin(dev.buildnet.api.build.BuildOrigin.cli(System.getProperty("user.name")))
          .waitForWorkspaceLock(s.waitForLock());
      if (s.slots() > 0) {
        b.localSlots(s.slots());
      }
      return b;
    }

    @Override
    public BuildNet net() {
      return net;
    }

    @Override
    public void running(BuildFuture f) {
      boolean cancelNow;
      synchronized (this) {
        build = f;
        cancelNow = cancelled;
      }
      if (cancelNow) { // its client left while it waited for the workspace lock
        log.println("cancelling a build of " + cwd + ": its client went away while it waited");
        log.flush();
        f.cancel(true);
      }
    }

    /** The client went away, or the daemon stops: cancel the build (which kills its processes). */
    void cancel() {
      BuildFuture f;
      synchronized (this) {
        cancelled = true;
        f = build;
      }
      if (f != null && !f.isDone()) {
        log.println("cancelling a build of " + cwd + ": its client went away or the daemon stops");
        log.flush();
        f.cancel(true);
      }
    }

    @Override
    public void close() {
      synchronized (running) {
        running.remove(this);
      }
      if (net != null && reporter != null) {
        net.removeListener(reporter);
      }
      if (own != null) {
        own.close();
      }
      if (warmUsed != null) {
        warmUsed.notice = m -> { };
        synchronized (warm) {
          warmUsed.busy = false;
        }
        if (stopping) {
          warmUsed.net.close();
        }
      }
    }
  }

  /** Keeps {@code net}'s file state hot, or null (off, or the workspace cannot be watched). */
  private dev.buildnet.internal.addon.AddOns.HotFiles hotFileState(BuildNet net, Path ws) {
    if (!HOT_FILE_STATE) {
      return null;
    }
    try {
      dev.buildnet.internal.addon.AddOns.HotFiles hot =
          dev.buildnet.internal.addon.AddOns.keepFileStateHot(net);
      log.println("keeping the file state of " + ws + " from file events");
      log.flush();
      return hot;
    } catch (RuntimeException e) {
      log.println("not keeping the file state of " + ws + " from file events: " + e.getMessage());
      log.flush();
      return null;
    }
  }

  /**
   * The SHA-256 of the workspace file's bytes (empty if unreadable: then start() reports the
   * problem).
   */
  private static byte[] workspaceFile(Path ws) {
    byte[] bytes;
    try {
      bytes = Files.readAllBytes(ws.resolve(WorkspaceFile.FILE_NAME));
    } catch (IOException e) {
      return new byte[0];
    }
    try {
      return java.security.MessageDigest.getInstance("SHA-256").digest(bytes);
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JDK has SHA-256", e);
    }
  }

  private static int count(InputStream in) throws IOException {
    String f = field(in);
    try {
      int n = Integer.parseInt(f);
      if (n < 0 || n > MAX_FIELDS) {
        throw new IOException("bad count " + n);
      }
      return n;
    } catch (NumberFormatException e) {
      throw new IOException("bad count '" + f + "'");
    }
  }

  /** One NUL-terminated UTF-8 field, at most 1 MiB. */
  private static String field(InputStream in) throws IOException {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    while (true) {
      int c = in.read();
      if (c < 0) {
        throw new EOFException("the request ended early");
      }
      if (c == 0) {
        return b.toString(StandardCharsets.UTF_8);
      }
      if (b.size() >= MAX_FIELD) {
        throw new IOException("a request field is longer than " + MAX_FIELD + " bytes");
      }
      b.write(c);
    }
  }

  /** Reply frames on one connection; standard output and error share it, line by line. */
  static final class Frames {
    private final OutputStream out;
    private final boolean blocks;

    Frames(OutputStream out) {
      this(out, false);
    }

    Frames(OutputStream out, boolean blocks) {
      this.out = out;
      this.blocks = blocks;
    }

    synchronized void write(char stream, String text) throws IOException {
      if (blocks) {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        out.write((stream + "#" + bytes.length + "\n").getBytes(StandardCharsets.UTF_8));
        out.write(bytes);
        out.flush();
        return;
      }
      int start = 0;
      StringBuilder b = new StringBuilder(text.length() + 16);
      while (start < text.length()) {
        int nl = text.indexOf('\n', start);
        if (nl < 0) {
          b.append(stream).append('-').append(text, start, text.length()).append('\n');
          break;
        }
        b.append(stream).append('|').append(text, start, nl).append('\n');
        start = nl + 1;
      }
      out.write(b.toString().getBytes(StandardCharsets.UTF_8));
      out.flush();
    }

    synchronized void exit(int code) throws IOException {
      out.write(("x|" + code + "\n").getBytes(StandardCharsets.UTF_8));
      out.flush();
    }

    /** A writer that sends what it holds as frames of {@code stream} on every flush. */
    Writer writer(char stream) {
      return new Writer() {
        private final StringBuilder pending = new StringBuilder();

        @Override
        public void write(char[] cbuf, int off, int len) throws IOException {
          synchronized (pending) {
            pending.append(cbuf, off, len);
            if (pending.length() >= 1 << 16) {
              flush();
            }
          }
        }

        @Override
        public void flush() throws IOException {
          String text;
          synchronized (pending) {
            text = pending.toString();
            pending.setLength(0);
          }
          if (!text.isEmpty()) {
            Frames.this.write(stream, text);
          }
        }

        @Override
        public void close() throws IOException {
          flush();
        }
      };
    }
  }
}
