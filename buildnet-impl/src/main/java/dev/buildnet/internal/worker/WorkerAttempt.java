package dev.buildnet.internal.worker;

import dev.buildnet.api.build.BuildContext;
import dev.buildnet.api.build.BuildError;
import dev.buildnet.api.bundle.BundlerAdapter;
import dev.buildnet.api.exec.CommandResult;
import dev.buildnet.api.exec.CommandSpec;
import dev.buildnet.api.exec.OutputListener;
import dev.buildnet.api.exec.RunningCommand;
import dev.buildnet.api.exec.ShellProvider;
import dev.buildnet.api.hash.Digest;
import dev.buildnet.api.transport.Payload;
import dev.buildnet.internal.cache.DiskBlobStore;
import dev.buildnet.internal.protocol.Payloads.BuildCompleted;
import dev.buildnet.internal.protocol.Payloads.BuildFailed;
import dev.buildnet.internal.protocol.Payloads.BuildProgress;
import dev.buildnet.internal.protocol.Payloads.Output;
import dev.buildnet.internal.protocol.Payloads.TargetRun;
import dev.buildnet.internal.transport.PeerConnection;
import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One TARGET_RUN on a worker: sandbox, inputs, command, outputs, and exactly one terminal reply
 * (BUILD_COMPLETED or BUILD_FAILED). {@link #run} runs on a worker thread; {@link #cancel} may come
 * from any thread at any time.
 */
public final class WorkerAttempt {
  private static final Logger log = LoggerFactory.getLogger(WorkerAttempt.class);

  /** Identifies an attempt: replies carry it so a master can ignore superseded attempts. */
  public record Key(String buildId, String target, long attempt) {
    public static Key of(TargetRun run) {
      return new Key(run.buildId(), run.target(), run.attempt());
    }
  }

  /** A failure the master should hear about as BUILD_FAILED. */
  static final class Failure extends Exception {
    final boolean retryable;

    Failure(String message, boolean retryable, Throwable cause) {
      super(message, cause);
      this.retryable = retryable;
    }
  }

  final Key key;
  public final PeerConnection connection;
  private final TargetRun run;
  private final Path sandbox;
  public volatile boolean sandboxClean; // set before release: whether the sandbox may be reused
  private final Path scratch;
  private final DiskBlobStore local;
  private final BlobClient blobs;
  private final ShellProvider shell;
  private final Object lock = new Object();
  private RunningCommand command; // guarded by lock
  private String cancelReason; // guarded by lock
  private Thread interruptOnCancel; // guarded by lock: the thread running a bundler
  private final Map<String, BundlerAdapter> bundlers;
  /** Completes when the attempt has ended: tree stopped, sandbox deleted, slot released. */
  public final CompletableFuture<Void> done = new CompletableFuture<>();

  public WorkerAttempt(TargetRun run, PeerConnection connection, Path sandbox, Path scratch,
      DiskBlobStore local, BlobClient blobs, ShellProvider shell, Map<String, BundlerAdapter> bundlers) {
    this.bundlers = bundlers;
    this.key = Key.of(run);
    this.run = run;
    this.connection = connection;
    this.sandbox = sandbox;
    this.scratch = scratch;
    this.local = local;
    this.blobs = blobs;
    this.shell = shell;
  }

  /** Kills the attempt's process tree (if started) and makes the attempt end as cancelled. */
  public void cancel(String reason) {
    RunningCommand c;
    synchronized (lock) {
      if (cancelReason == null) {
        cancelReason = reason;
      }
      c = command;
      if (interruptOnCancel != null) {
        interruptOnCancel.interrupt(); // adapters stop their tool when interrupted
      }
    }
    if (c != null) {
      c.cancel();
    }
  }

  private String cancelled() {
    synchronized (lock) {
      return cancelReason;
    }
  }

  /**
   * Runs the attempt to its terminal reply; never throws. {@code release} runs once the attempt
   * has let go of everything and before the terminal reply, so a master that hears of the end may
   * use the slot at once.
   */
  public void run(Runnable release) {
    long start = System.nanoTime();
    Payload terminal;
    try {
      terminal = execute(start);
    } catch (Failure f) {
      terminal = new BuildFailed(run.buildId(), run.target(), run.attempt(),
          f.getMessage(), null, f.retryable, null);
    } catch (RuntimeException e) {
      log.warn("attempt {} failed unexpectedly", key, e);
      terminal = new BuildFailed(run.buildId(), run.target(), run.attempt(),
          "the worker failed: " + e, null, true, null);
    }
    try {
      // Emptied, not deleted: the worker hands the directory to its next attempt, which saves a
      // mkdir and an rmdir per attempt (a third of a millisecond each on a busy disk).
      sandboxClean = emptyTree(sandbox);
      release.run();
      send(terminal);
    } finally {
      done.complete(null);
    }
  }

  private Payload execute(long start) throws Failure {
    Path cwd = inside("cwd", run.cwd(), true);
    List<Path> inputPaths = new ArrayList<>();
    for (Output in : run.inputs()) {
      inputPaths.add(inside("input", in.path(), false));
    }
    List<Path> outputPaths = new ArrayList<>();
    for (String out : run.outputs()) {
      outputPaths.add(inside("output", out, false));
    }
    materialize(inputPaths, fetchInputs());
    try {
      // Usually there already (a reused sandbox): createDirectories would first try mkdir and
      // build two exceptions for its EEXIST.
      if (!Files.isDirectory(cwd)) {
        Files.createDirectories(cwd);
      }
    } catch (IOException e) {
      throw new Failure("cannot create the working directory " + run.cwd() + ": " + e, true, e);
    }
    for (int i = 0; i < outputPaths.size(); i++) {
      // As on the master: a command may write out/lib/A.class without creating out/lib first.
      try {
        Files.createDirectories(outputPaths.get(i).getParent());
      } catch (IOException e) {
        throw new Failure("cannot create the parent directory of output " + run.outputs().get(i)
            + ": " + e, true, e);
      }
    }
    if (run.bundler() != null) {
      return bundle(cwd, outputPaths, start);
    }
    CommandResult result = execute(cwd);
    long durationMs = (System.nanoTime() - start) / 1_000_000;
    String reason = cancelled();
    if (reason != null || result.outcome() == CommandResult.Outcome.CANCELLED) {
      return new BuildFailed(run.buildId(), run.target(), run.attempt(),
          "cancelled" + (reason != null ? ": " + reason : ""), null, true, null);
    }
    if (result.outcome() == CommandResult.Outcome.TIMED_OUT) {
      return new BuildFailed(run.buildId(), run.target(), run.attempt(),
          "timed out after " + run.timeoutMs() + " ms", null, false, null);
    }
    if (result.exitCode() != 0) {
      return new BuildFailed(run.buildId(), run.target(), run.attempt(),
          "command " + run.argv().get(0) + " exited with code " + result.exitCode(),
          (long) result.exitCode(), false, null);
    }
    List<Output> outputs = uploadOutputs(collect(outputPaths));
    return new BuildCompleted(run.buildId(), run.target(), run.attempt(), durationMs, outputs,
        0L, 1L);
  }

  /**
   * Runs the named bundler adapter in the sandbox instead of an argv. Its warnings and errors are
   * streamed as stderr lines; cancel interrupts the attempt thread, which stops the tool.
   */
  private Payload bundle(Path cwd, List<Path> outputPaths, long start) throws Failure {
    BundlerAdapter adapter = bundlers.get(run.bundler());
    if (adapter == null || !adapter.isAvailable()) {
      throw new Failure("this worker has no usable bundler '" + run.bundler() + "'"
          + (adapter == null ? " (it has " + bundlers.keySet() + ")"
              : ": " + adapter.availability().reason()), false, null);
    }
    Path outDir = inside("output", run.outDir(), false);
    BuildContext context = new BuildContext(run.buildId(), run.target(), sandbox, cwd,
        run.entrypoints(), outDir, run.env(),
        run.bundlerOptions() == null ? Map.of() : run.bundlerOptions(),
        run.timeoutMs() == null ? null : Duration.ofMillis(run.timeoutMs()));
    Thread self = Thread.currentThread();
    synchronized (lock) {
      if (cancelReason != null) {
        return new BuildFailed(run.buildId(), run.target(), run.attempt(),
            "cancelled: " + cancelReason, null, true, null);
      }
      interruptOnCancel = self;
    }
    dev.buildnet.api.build.BuildResult result;
    try {
      result = adapter.build(context);
    } catch (RuntimeException e) {
      throw new Failure("bundler " + run.bundler() + " failed to run: " + e.getMessage(), true, e);
    } finally {
      synchronized (lock) {
        interruptOnCancel = null;
      }
      Thread.interrupted(); // a cancel's interrupt must not leak into the next attempt
    }
    for (String w : result.warnings()) {
      log("stderr", w);
    }
    for (BuildError e : result.errors()) {
      log("stderr", e.toString());
    }
    String reason = cancelled();
    if (reason != null) {
      return new BuildFailed(run.buildId(), run.target(), run.attempt(), "cancelled: " + reason,
          null, true, null);
    }
    if (!result.success()) {
      return new BuildFailed(run.buildId(), run.target(), run.attempt(), "bundler "
          + run.bundler() + " failed: " + (result.errors().isEmpty() ? "no diagnostics"
              : result.errors().get(0)), 1L, false, null);
    }
    long durationMs = (System.nanoTime() - start) / 1_000_000;
    List<Output> outputs = uploadOutputs(collect(outputPaths));
    return new BuildCompleted(run.buildId(), run.target(), run.attempt(), durationMs, outputs,
        0L, 1L);
  }

  /** Resolves a wire path in the sandbox; refuses absolute paths and any escape with {@code ..}. */
  private Path inside(String what, String path, boolean emptyIsRoot) throws Failure {
    if (path.isEmpty() && emptyIsRoot) {
      return sandbox;
    }
    Path p;
    try {
      p = Path.of(path);
    } catch (RuntimeException e) {
      throw new Failure(what + " path '" + path + "' is not a valid path", false, e);
    }
    if (path.isEmpty() || p.isAbsolute() || path.startsWith("/") || path.contains("\\")) {
      throw new Failure(what + " path '" + path
          + "' must be relative to the sandbox (absolute or empty paths are refused)", false, null);
    }
    Path resolved = sandbox.resolve(p).normalize();
    if (!resolved.startsWith(sandbox) || (!emptyIsRoot && resolved.equals(sandbox))) {
      throw new Failure(what + " path '" + path
          + "' escapes the sandbox (path traversal with '..' is refused)", false, null);
    }
    return resolved;
  }

  /**
   * Downloads the inputs the local store lacks, each once, into the local store; returns the
   * inputs' digests in {@code run.inputs()} order.
   */
  private List<Digest> fetchInputs() throws Failure {
    List<Digest> digests = new ArrayList<>(run.inputs().size());
    Set<Digest> needed = new LinkedHashSet<>();
    for (Output in : run.inputs()) {
      Digest d = parse(in.digest());
      digests.add(d);
      if (!local.contains(d)) {
        needed.add(d);
      }
    }
    for (Digest d : needed) {
      Path tmp = null;
      try {
        Files.createDirectories(scratch);
        tmp = Files.createTempFile(scratch, "download-", ".tmp");
        blobs.download(d, tmp);
        Digest got = local.putFile(tmp);
        if (!got.equals(d)) {
          throw new Failure("downloaded blob " + d + " has digest " + got, true, null);
        }
      } catch (IOException e) {
        throw new Failure("cannot fetch input blob " + d + ": " + e.getMessage(), true, e);
      } finally {
        if (tmp != null) {
          try {
            Files.deleteIfExists(tmp);
          } catch (IOException ignored) {
            // a stray temp file in the scratch dir is removed with the work dir
          }
        }
      }
    }
    return digests;
  }

  private Digest parse(String digest) throws Failure {
    try {
      Digest d = Digest.parse(digest);
      if (!d.algorithm().equals(local.hashes().algorithm())) {
        throw new Failure("input digest " + digest + " is not " + local.hashes().algorithm()
            + ", the worker's hash algorithm", false, null);
      }
      return d;
    } catch (IllegalArgumentException e) {
      throw new Failure("input digest '" + digest + "' is malformed: " + e.getMessage(), false, e);
    }
  }

  private void materialize(List<Path> paths, List<Digest> digests) throws Failure {
    for (int i = 0; i < paths.size(); i++) {
      Output in = run.inputs().get(i);
      Path dest = paths.get(i);
      try {
        Files.createDirectories(dest.getParent());
        if (!local.copyVerified(digests.get(i), dest)) {
          throw new Failure("input blob " + in.digest() + " for " + in.path()
              + " is missing or corrupt in the worker's store", true, null);
        }
        if (Boolean.TRUE.equals(in.executable())) {
          dest.toFile().setExecutable(true);
        }
      } catch (IOException e) {
        throw new Failure("cannot materialize input " + in.path() + ": " + e, true, e);
      }
    }
  }

  private void log(String stream, String text) {
    for (String line : text.split("\n", -1)) {
      if (!line.isEmpty()) {
        send(new BuildProgress(run.buildId(), 0, 1, run.target(), "log", line, stream));
      }
    }
  }

  private CommandResult execute(Path cwd) throws Failure {
    CommandSpec spec = CommandSpec.of(run.argv(), cwd, run.env());
    if (run.timeoutMs() != null) {
      spec = spec.withTimeout(Duration.ofMillis(run.timeoutMs()));
    }
    if (run.outputCap() != null) {
      spec = spec.withOutputCap((int) Math.min(Integer.MAX_VALUE, run.outputCap()));
    }
    OutputListener lines = (stream, line) ->
        send(new BuildProgress(run.buildId(), 0, 1, run.target(), "log", line,
            stream == OutputListener.Stream.STDOUT ? "stdout" : "stderr"));
    RunningCommand c;
    synchronized (lock) {
      if (cancelReason != null) {
        return new CommandResult(CommandResult.Outcome.CANCELLED, -1, new byte[0], new byte[0],
            false, Duration.ZERO, Duration.ZERO, 0);
      }
      try {
        c = shell.start(spec, lines);
      } catch (RuntimeException e) {
        throw new Failure("cannot start " + run.argv().get(0) + ": " + e.getMessage(), false, e);
      }
      command = c;
    }
    try {
      return c.result().join();
    } catch (RuntimeException e) {
      throw new Failure("the command failed to run: " + e.getMessage(), true, e);
    }
  }

  /** Every declared output's files, by sandbox-relative path; a missing output is a failure. */
  private TreeMap<String, Path> collect(List<Path> outputs) throws Failure {
    TreeMap<String, Path> files = new TreeMap<>();
    for (int i = 0; i < outputs.size(); i++) {
      Path out = outputs.get(i);
      String declared = run.outputs().get(i);
      try {
        if (Files.isSymbolicLink(out)) {
          throw new Failure("output " + declared + " is a symbolic link (not supported)", false, null);
        } else if (Files.isRegularFile(out, LinkOption.NOFOLLOW_LINKS)) {
          files.put(relative(out), out);
        } else if (Files.isDirectory(out, LinkOption.NOFOLLOW_LINKS)) {
          walk(out, declared, files);
        } else {
          throw new Failure("declared output " + declared + " was not produced", false, null);
        }
      } catch (IOException e) {
        throw new Failure("cannot collect output " + declared + ": " + e, true, e);
      }
    }
    return files;
  }

  private void walk(Path dir, String declared, TreeMap<String, Path> files) throws IOException, Failure {
    List<Path> links = new ArrayList<>();
    Files.walkFileTree(dir, new SimpleFileVisitor<>() {
      @Override
      public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) {
        if (attrs.isSymbolicLink()) {
          links.add(file);
        } else if (attrs.isRegularFile()) {
          files.put(relative(file), file);
        }
        return FileVisitResult.CONTINUE;
      }
    });
    if (!links.isEmpty()) {
      throw new Failure("output " + declared + " contains symbolic links (not supported): "
          + relative(links.get(0)), false, null);
    }
  }

  private String relative(Path file) {
    return sandbox.relativize(file).toString().replace(java.io.File.separatorChar, '/');
  }

  /** Hashes the outputs and uploads the blobs the master lacks (or keeps them: keep_outputs). */
  private List<Output> uploadOutputs(TreeMap<String, Path> files) throws Failure {
    List<Output> outputs = new ArrayList<>();
    try {
      List<Digest> digests = new ArrayList<>();
      for (var e : files.entrySet()) {
        Digest d = run.keeps() ? local.putFile(e.getValue()) : local.hashes().hash(e.getValue());
        digests.add(d);
        outputs.add(new Output(e.getKey(), d.toString(), Files.size(e.getValue()),
            Files.isExecutable(e.getValue()) ? Boolean.TRUE : null));
      }
      if (run.keeps()) {
        // Deferred materialization: the blobs stay in this worker's store (hashed as they are
        // stored) until the master asks for them by BLOB_GET.
        return outputs;
      }
      Set<Digest> missing = digests.isEmpty() ? Set.of() : blobs.missing(digests);
      Set<Digest> uploaded = new LinkedHashSet<>();
      int i = 0;
      for (Path file : files.values()) {
        Digest d = digests.get(i++);
        if (missing.contains(d) && uploaded.add(d)) {
          Digest got = blobs.upload(file);
          if (!got.equals(d)) {
            throw new Failure("output " + relative(file) + " changed while uploading (" + d
                + " then " + got + ")", true, null);
          }
        }
      }
    } catch (IOException e) {
      throw new Failure("cannot upload outputs: " + e.getMessage(), true, e);
    }
    return outputs;
  }

  private void send(Payload p) {
    if (connection.isOpen()) {
      connection.send(p);
    }
  }

  /** Deletes everything under {@code root}, keeping it; false if anything is left. */
  static boolean emptyTree(Path root) {
    if (!Files.isDirectory(root, LinkOption.NOFOLLOW_LINKS)) {
      return false;
    }
    // Most attempts (a command with no inputs or outputs) leave the sandbox empty: one listing
    // says so, without the walk, its sort and the second listing below.
    try (DirectoryStream<Path> entries = Files.newDirectoryStream(root)) {
      if (!entries.iterator().hasNext()) {
        return true;
      }
    } catch (IOException | RuntimeException e) {
      // fall through: the walk below reports it, or succeeds if it was transient
    }
    try (Stream<Path> walk = Files.walk(root)) {
      for (Path p : (Iterable<Path>) walk.sorted(Comparator.reverseOrder())::iterator) {
        if (!p.equals(root)) {
          p.toFile().setWritable(true);
          Files.deleteIfExists(p);
        }
      }
      try (Stream<Path> left = Files.list(root)) {
        return left.findAny().isEmpty();
      }
    } catch (IOException | RuntimeException e) {
      log.warn("cannot empty {}: {}", root, e.toString());
      return false;
    }
  }

  public static void deleteTree(Path root) {
    if (!Files.exists(root, LinkOption.NOFOLLOW_LINKS)) {
      return;
    }
    try (Stream<Path> walk = Files.walk(root)) {
      for (Path p : (Iterable<Path>) walk.sorted(Comparator.reverseOrder())::iterator) {
        p.toFile().setWritable(true);
        Files.deleteIfExists(p);
      }
    } catch (IOException | RuntimeException e) {
      log.warn("cannot delete {}: {}", root, e.toString());
    }
  }
}
