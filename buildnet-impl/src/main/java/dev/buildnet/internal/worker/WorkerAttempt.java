package dev.buildnet.internal.worker;

import dev.buildnet.api.blob.BlobStore;

import dev.buildnet.api.bundle.BundlerAdapter;
import dev.buildnet.api.exec.OutputListener;
import dev.buildnet.api.exec.ShellProvider;
import dev.buildnet.api.hash.Digest;
import dev.buildnet.api.transport.Payload;
import dev.buildnet.internal.cache.DiskBlobStore;
import dev.buildnet.internal.cache.FileTrees;
import dev.buildnet.internal.cache.Outputs;
import dev.buildnet.internal.exec.TargetStep;
import dev.buildnet.internal.protocol.Payloads.BuildCompleted;
import dev.buildnet.internal.protocol.Payloads.BuildFailed;
import dev.buildnet.internal.protocol.Payloads.BuildProgress;
import dev.buildnet.internal.protocol.Payloads.Output;
import dev.buildnet.internal.protocol.Payloads.TargetRun;
import dev.buildnet.internal.transport.Session;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
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
 * (BUILD_COMPLETED or BUILD_FAILED). The command or bundler runs through {@link TargetStep}, the
 * core a master shares for the targets it runs itself; the sandbox (inputs fetched and verified
 * from blobs, outputs uploaded) is this class's own. The Python worker
 * ({@code python/src/buildnet/worker.py}, {@code _Attempt}) follows the same rules in its own code. {@link #run} runs on a worker thread; {@link #cancel} may come
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
  public final Session connection;
  private final TargetRun run;
  private final Sandbox box;
  private final Path sandbox; // box's directory
  public volatile boolean sandboxClean; // set before release: whether the sandbox may be reused
  private final Path scratch;
  private final DiskBlobStore local;
  private final BlobStore blobs;
  /** Runs the command or bundler: the same core as a master running a target itself. */
  private final TargetStep step;
  private final TargetStep.Cancel cancel = new TargetStep.Cancel();
  /** Completes when the attempt has ended: tree stopped, sandbox deleted, slot released. */
  public final CompletableFuture<Void> done = new CompletableFuture<>();

  public WorkerAttempt(TargetRun run, Session connection, Sandbox sandbox, Path scratch,
      DiskBlobStore local, BlobStore blobs, ShellProvider shell, Map<String, BundlerAdapter> bundlers) {
    this.step = new TargetStep(shell, bundlers);
    this.key = Key.of(run);
    this.run = run;
    this.connection = connection;
    this.box = sandbox;
    this.sandbox = sandbox.dir();
    this.scratch = scratch;
    this.local = local;
    this.blobs = blobs;
  }

  /** Kills the attempt's process tree (if started) and makes the attempt end as cancelled. */
  public void cancel(String reason) {
    cancel.cancel(reason);
  }

  /**
   * Runs the attempt to its terminal reply; never throws. {@code release} runs once the attempt
   * has let go of everything and before the terminal reply, so a master that hears of the end may
   * use the slot at once.
   */
  public void run(Runnable release) {
    long start = System.nanoTime();
    end(terminal(() -> execute(start)), release);
  }

  /**
   * Whether {@code run} may go through {@link #start}: a command (not a bundler) with no inputs to
   * fetch and no outputs to hash or upload, so nothing before or after the command waits on the
   * master or on more than a directory listing.
   */
  public static boolean startable(TargetRun run) {
    return run.bundler() == null && run.inputs().isEmpty() && run.outputs().isEmpty();
  }

  /**
   * Runs a {@link #startable} attempt without a thread of its own: starts its command on the
   * calling thread (the worker's network loop; a shell's start is brief by contract) and, if the
   * shell finished it while starting it and it left the sandbox empty, ends it there too, its
   * terminal reply going out with whatever else that thread writes. Otherwise the rest (emptying
   * the sandbox, {@code release}, the reply) runs on {@code rest} once the command ends. Never
   * throws; returns false if the command was still running when the shell's start returned (a
   * shell that forks), true otherwise.
   */
  public boolean start(Runnable release, java.util.concurrent.Executor rest) {
    long start = System.nanoTime();
    CompletableFuture<TargetStep.Result> command;
    try {
      Path cwd = inside("cwd", run.cwd(), true);
      box.own();
      if (!cwd.equals(sandbox) && !Files.isDirectory(cwd)) {
        Files.createDirectories(cwd);
      }
      command = startCommand(cwd);
    } catch (IOException e) {
      Payload t = failure(new Failure("cannot create the working directory " + run.cwd() + ": "
          + e, true, e));
      rest.execute(() -> end(t, release));
      return true;
    } catch (Failure f) {
      Payload t = failure(f);
      rest.execute(() -> end(t, release));
      return true;
    }
    boolean ended = command.isDone();
    if (ended && box.isEmpty()) {
      sandboxClean = true;
      endClean(terminal(() -> reply(command.join(), List.of(), start)), release);
      return true;
    }
    command.whenCompleteAsync((result, e) -> end(terminal(() -> {
      if (e != null) {
        Throwable cause = e instanceof java.util.concurrent.CompletionException c
            && c.getCause() != null ? c.getCause() : e;
        if (cause instanceof RuntimeException r) {
          throw r; // reported as run() reports it
        }
        throw asFailure(cause);
      }
      return reply(result, List.of(), start);
    }), release), rest);
    return ended;
  }

  private CompletableFuture<TargetStep.Result> startCommand(Path cwd) throws Failure {
    try {
      return step.startCommand(spec(cwd), lines(), cancel);
    } catch (RuntimeException e) {
      throw new Failure("cannot start " + run.argv().get(0) + ": " + e.getMessage(), false, e);
    }
  }

  /** A step's unexpected failure as {@link #run} reports it. */
  private static Failure asFailure(Throwable e) {
    return e instanceof Failure f ? f : new Failure("the worker failed: " + e, true, e);
  }

  /** The part of an attempt that may fail with a reply of its own. */
  private interface Step {
    Payload get() throws Failure;
  }

  /** The terminal reply for {@code step}: its own, or BUILD_FAILED for how it failed. */
  private Payload terminal(Step step) {
    try {
      return step.get();
    } catch (Failure f) {
      return failure(f);
    } catch (RuntimeException e) {
      log.warn("attempt {} failed unexpectedly", key, e);
      return new BuildFailed(run.buildId(), run.target(), run.attempt(),
          "the worker failed: " + e, null, true, null);
    }
  }

  private Payload failure(Failure f) {
    return new BuildFailed(run.buildId(), run.target(), run.attempt(), f.getMessage(), null,
        f.retryable, null);
  }

  /** Empties the sandbox, lets go of the slot, then replies: in that order (see {@link #run}). */
  private void end(Payload terminal, Runnable release) {
    // Emptied, not deleted: the worker hands the directory to its next attempt, which saves a
    // mkdir and an rmdir per attempt (a third of a millisecond each on a busy disk).
    sandboxClean = box.empty();
    endClean(terminal, release);
  }

  private void endClean(Payload terminal, Runnable release) {
    try {
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
    try {
      box.own();
    } catch (IOException e) {
      throw new Failure("cannot make the sandbox " + sandbox + ": " + e, true, e);
    }
    materialize(inputPaths, fetchInputs());
    try {
      // Usually there already (a reused sandbox): createDirectories would first try mkdir and
      // build two exceptions for its EEXIST.
      if (!cwd.equals(sandbox) && !Files.isDirectory(cwd)) {
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
    TargetStep.Result result;
    try {
      result = step.run(spec(cwd), lines(), cancel);
    } catch (RuntimeException e) {
      throw run.bundler() != null
          ? new Failure("bundler " + run.bundler() + " failed to run: " + e.getMessage(), true, e)
          : new Failure("cannot start " + run.argv().get(0) + ": " + e.getMessage(), false, e);
    }
    return reply(result, outputPaths, start);
  }

  private TargetStep.Spec spec(Path cwd) throws Failure {
    TargetStep.Bundle bundle = run.bundler() == null ? null : new TargetStep.Bundle(run.bundler(),
        run.entrypoints(), inside("output", run.outDir(), false), run.bundlerOptions());
    return new TargetStep.Spec(run.buildId(), run.target(), sandbox, cwd, run.argv(), run.env(),
        run.timeoutMs() == null ? null : Duration.ofMillis(run.timeoutMs()),
        run.outputCap() == null ? null : (int) Math.min(Integer.MAX_VALUE, run.outputCap()),
        bundle);
  }

  /** Lines go to the master as BUILD_PROGRESS; a bundler's diagnostics line by line on stderr. */
  private TargetStep.Lines lines() {
    return new TargetStep.Lines() {
      @Override
      public void onLine(OutputListener.Stream stream, String line) {
        send(new BuildProgress(run.buildId(), 0, 1, run.target(), "log", line,
            stream == OutputListener.Stream.STDOUT ? "stdout" : "stderr"));
      }

      @Override
      public void diagnostic(String text) {
        log("stderr", text);
      }
    };
  }

  /** The terminal reply for how the step ended, phrased for the master. */
  private Payload reply(TargetStep.Result result, List<Path> outputPaths, long start)
      throws Failure {
    String reason = cancelled();
    if (reason != null || result.outcome() == TargetStep.Outcome.CANCELLED) {
      return failed("cancelled" + (reason != null ? ": " + reason : ""), null, true);
    }
    switch (result.outcome()) {
      case NOT_STARTED -> throw run.bundler() != null
          ? new Failure("this worker has no usable bundler '" + run.bundler() + "'"
              + (result.problem() == null ? " (it has " + step.bundlerNames() + ")"
                  : ": " + result.problem()), false, null)
          : new Failure("cannot start " + run.argv().get(0) + ": " + result.problem(), false, null);
      case BROKEN -> throw new Failure("the command failed to run: " + result.problem(), true, null);
      case TIMED_OUT -> {
        return failed("timed out after " + run.timeoutMs() + " ms", null, false);
      }
      case FAILED -> {
        return run.bundler() != null
            ? failed("bundler " + run.bundler() + " failed: " + (result.errors().isEmpty()
                ? "no diagnostics" : result.errors().get(0)), 1L, false)
            : failed("command " + run.argv().get(0) + " exited with code " + result.exitCode(),
                (long) result.exitCode(), false);
      }
      default -> { // SUCCEEDED (a cancelled step was answered above)
        long durationMs = (System.nanoTime() - start) / 1_000_000;
        List<Output> outputs = uploadOutputs(collect(outputPaths));
        return new BuildCompleted(run.buildId(), run.target(), run.attempt(), durationMs, outputs,
            0L, 1L);
      }
    }
  }

  private BuildFailed failed(String error, Long exitCode, boolean retryable) {
    return new BuildFailed(run.buildId(), run.target(), run.attempt(), error, exitCode, retryable,
        null);
  }

  private String cancelled() {
    return cancel.reason();
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
        WorkerBlobs.download(blobs, d, tmp);
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
        if (!FileTrees.place(local, digests.get(i), dest, Boolean.TRUE.equals(in.executable()))) {
          throw new Failure("input blob " + in.digest() + " for " + in.path()
              + " is missing or corrupt in the worker's store", true, null);
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

  /** Every declared output's files, by sandbox-relative path; a missing output is a failure. */
  private TreeMap<String, Path> collect(List<Path> outputs) throws Failure {
    TreeMap<String, Path> files = new TreeMap<>();
    for (int i = 0; i < outputs.size(); i++) {
      Path out = outputs.get(i);
      String declared = run.outputs().get(i);
      try {
        if (FileTrees.kind(declared, out) == FileTrees.Kind.DIRECTORY) {
          for (Path f : FileTrees.filesBelow(sandbox, declared, out)) {
            files.put(relative(f), f);
          }
        } else {
          files.put(relative(out), out);
        }
      } catch (Outputs.OutputException e) {
        throw new Failure(e.getMessage(), false, null); // the same rule and words as local runs
      } catch (IOException e) {
        throw new Failure("cannot collect output " + declared + ": " + e, true, e);
      }
    }
    return files;
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
      Set<Digest> missing = digests.isEmpty() ? Set.of() : WorkerBlobs.missing(blobs, digests);
      Set<Digest> uploaded = new LinkedHashSet<>();
      int i = 0;
      for (Path file : files.values()) {
        Digest d = digests.get(i++);
        if (missing.contains(d) && uploaded.add(d)) {
          Digest got = WorkerBlobs.upload(blobs, file);
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

  public static void deleteTree(Path root) {
    if (!Files.exists(root, LinkOption.NOFOLLOW_LINKS)) {
      return;
    }
    if (Files.isSymbolicLink(root)) {
      // A sandbox replaced by a link: the link goes, and nothing where it points is touched
      // (setWritable below would follow it).
      try {
        Files.deleteIfExists(root);
      } catch (IOException e) {
        log.warn("cannot delete {}: {}", root, e.toString());
      }
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
