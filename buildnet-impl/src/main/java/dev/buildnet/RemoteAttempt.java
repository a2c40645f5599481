package dev.buildnet;

import dev.buildnet.api.build.BuildError;
import dev.buildnet.api.build.BuildMetrics;
import dev.buildnet.api.build.TargetOutcome;
import dev.buildnet.api.build.TargetOutcome.Status;
import dev.buildnet.api.exec.OutputListener;
import dev.buildnet.api.hash.Digest;
import dev.buildnet.cache.ActionCache;
import dev.buildnet.cache.ActionManifest;
import dev.buildnet.cache.BlobStore;
import dev.buildnet.cache.Outputs;
import dev.buildnet.graph.Target;
import dev.buildnet.protocol.Payloads;
import dev.buildnet.protocol.Payloads.BuildProgress;
import dev.buildnet.protocol.Payloads.TargetRun;
import dev.buildnet.remote.Dispatcher;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;

/**
 * One attempt of a target on a remote worker: puts its inputs (and its dependencies' outputs) in
 * the master's blob store, sends TARGET_RUN, streams the worker's log lines to the build, and on
 * BUILD_COMPLETED checks every output the worker reported against the store before materializing
 * them in the workspace from there, so the result is the one a local run would have recorded.
 */
final class RemoteAttempt {
  /** Log bytes kept per stream for the action cache; the listeners see every line. */
  private final long logCap;

  /** The attempt should run again elsewhere: its worker was lost or failed for infrastructure. */
  static final class Requeue extends RuntimeException {
    private static final long serialVersionUID = 1L;

    Requeue(String message) {
      super(message, null, false, false);
    }
  }

  private final Path workspace;
  private final KeyService keys;
  private final ActionCache cache;
  private final Outputs outputs;
  private final Clock clock;

  RemoteAttempt(Path workspace, KeyService keys, ActionCache cache, Outputs outputs, Clock clock,
      long logCap) {
    this.logCap = logCap;
    this.workspace = workspace;
    this.keys = keys;
    this.cache = cache;
    this.outputs = outputs;
    this.clock = clock;
  }

  CompletableFuture<TargetOutcome> run(BuildRun run, Node node, KeyService.Computed computed,
      Dispatcher.Placement placement, Duration queueWait, long start, Executor executor)
      throws IOException {
    Target target = node.target;
    BlobStore blobs = cache.blobs();
    int attempt = node.nextAttempt();
    Listeners.targetStarted(run.listener, run.buildId, target.name(), attempt, placement.workerId());
    List<Payloads.Output> inputs;
    try {
      inputs = inputs(run, node, computed, blobs);
    } catch (InputChangedException e) {
      return CompletableFuture.completedFuture(TargetRunner.failure(node, queueWait, start, attempt,
          -1, List.of(BuildError.of("INPUT", e.getMessage())), e.getMessage()));
    }
    Long timeout = target.timeout().map(Duration::toMillis).orElse(null);
    TargetRun message = target.bundler().map(b -> new TargetRun(run.buildId, target.name(),
            attempt, List.of(b.adapter()), cwd(target), keys.environment(target), inputs,
            target.outputs(), timeout, null, b.adapter(), b.entrypoints(), b.outDir(),
            b.options()))
        .orElseGet(() -> new TargetRun(run.buildId, target.name(), attempt, target.command(),
            cwd(target), keys.environment(target), inputs, target.outputs(), timeout, null));
    LogCapture stdout = new LogCapture(logCap);
    LogCapture stderr = new LogCapture(logCap);
    long runStart = System.nanoTime();
    node.execution = () -> placement.cancel("the build was cancelled");
    CompletableFuture<Dispatcher.Result> result = placement.run(message, p -> log(run, target, p,
        stdout, stderr));
    if (run.isCancelled()) {
      placement.cancel("the build was cancelled");
    }
    return result.handleAsync((r, e) -> {
      if (e != null) {
        Throwable cause = e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
        if (run.isCancelled()) {
          return BuildRun.outcome(node, Status.CANCELLED, "the build was cancelled");
        }
        if (cause instanceof Dispatcher.WorkerLostException) {
          throw new Requeue(cause.getMessage());
        }
        throw new CompletionException(cause);
      }
      try {
        return finish(run, node, computed, r, attempt, queueWait, start, runStart, stdout, stderr);
      } catch (IOException io) {
        throw new CompletionException(io);
      }
    }, executor);
  }

  private static void log(BuildRun run, Target target, BuildProgress p, LogCapture out,
      LogCapture err) {
    if (!"log".equals(p.phase()) || p.message() == null) {
      return;
    }
    boolean isErr = "stderr".equals(p.stream());
    run.listener.logLine(run.buildId, target.name(),
        isErr ? OutputListener.Stream.STDERR : OutputListener.Stream.STDOUT, p.message(), false);
    (isErr ? err : out).add(p.message());
  }

  private TargetOutcome finish(BuildRun run, Node node, KeyService.Computed computed,
      Dispatcher.Result r, int attempt, Duration queueWait, long start, long runStart,
      LogCapture stdout, LogCapture stderr) throws IOException {
    Target target = node.target;
    Duration runTime = Duration.ofNanos(System.nanoTime() - runStart);
    if (run.isCancelled()) {
      return BuildRun.outcome(node, Status.CANCELLED, "the build was cancelled");
    }
    if (!r.succeeded()) {
      Payloads.BuildFailed f = r.failed();
      if (Boolean.TRUE.equals(f.retryable())) {
        throw new Requeue("worker '" + r.workerId() + "' failed attempt " + attempt + " of '"
            + target.name() + "' for a reason worth retrying elsewhere: " + f.error());
      }
      int exit = f.exitCode() == null ? -1 : (int) (long) f.exitCode();
      String why = "'" + target.name() + "' failed on worker '" + r.workerId() + "': " + f.error();
      return TargetRunner.failure(node, queueWait, start, attempt, exit,
          List.of(BuildError.of(f.exitCode() == null ? "REMOTE" : "EXIT_CODE", why)), why);
    }
    List<ActionManifest.Output> files;
    try {
      files = verifiedOutputs(r, target);
    } catch (OutputRejected e) {
      return TargetRunner.failure(node, queueWait, start, attempt, -1,
          List.of(BuildError.of("OUTPUT", e.getMessage())), e.getMessage());
    }
    List<String> directories = new ArrayList<>();
    for (String declared : target.outputs()) {
      if (files.stream().noneMatch(f -> f.path().equals(declared))) {
        directories.add(declared);
      }
    }
    boolean keep = target.cacheable();
    BlobStore blobs = cache.blobs();
    String out = !keep || stdout.isEmpty() ? null : blobs.putBytes(stdout.bytes()).toString();
    String err = !keep || stderr.isEmpty() ? null : blobs.putBytes(stderr.bytes()).toString();
    ActionManifest manifest = new ActionManifest(ActionManifest.VERSION, target.name(), files,
        directories, out, err, 0, r.completed().durationMs(), clock.millis());
    boolean restored;
    try {
      outputs.clear(target.outputs());
      restored = outputs.restore(manifest);
    } catch (Outputs.OutputException e) {
      return TargetRunner.failure(node, queueWait, start, attempt, 0,
          List.of(BuildError.of("OUTPUT", e.getMessage())), e.getMessage());
    }
    if (!restored) {
      String why = "outputs of '" + target.name() + "' from worker '" + r.workerId()
          + "' failed verification in the master's store and were discarded";
      return TargetRunner.failure(node, queueWait, start, attempt, -1,
          List.of(BuildError.of("OUTPUT", why)), why);
    }
    if (keep && !run.unrecorded.contains(target.name())) {
      cache.record(computed.key(), manifest);
    }
    long end = System.nanoTime();
    long outBytes = files.stream().mapToLong(ActionManifest.Output::size).sum();
    BuildMetrics metrics = new BuildMetrics(queueWait, Duration.ofNanos(end - start),
        new BuildMetrics.Phases(Duration.ofNanos(runStart - start), runTime, Duration.ZERO),
        new BuildMetrics.Cache(computed.filesChecked(), 0, keep ? 1 : 0, Duration.ZERO),
        new BuildMetrics.Resources(0, 0, 0, outBytes));
    return new TargetOutcome(target.name(), Status.BUILT,
        "built on worker '" + r.workerId() + "'" + (attempt > 1 ? " (attempt " + attempt + ")" : ""),
        computed.key().toString(), 0, attempt, Duration.ofNanos(end - start),
        TargetRunner.artifacts(manifest), List.of(),
        metrics);
  }

  /**
   * The worker's outputs, each checked: a declared path (or under a declared directory), no
   * escape from the workspace, a digest of the store's algorithm, and a blob the store holds with
   * that size. The store verified the bytes against the digest when the worker uploaded them. A
   * declared output with no file reported is an empty directory: a worker fails an attempt whose
   * declared output is missing.
   */
  private List<ActionManifest.Output> verifiedOutputs(Dispatcher.Result r, Target target)
      throws OutputRejected, IOException {
    BlobStore blobs = cache.blobs();
    List<Payloads.Output> reported = r.completed().outputs() == null ? List.of()
        : r.completed().outputs();
    TreeMap<String, ActionManifest.Output> files = new TreeMap<>();
    for (Payloads.Output o : reported) {
      String path = o.path();
      if (!isSafeRelative(path) || target.outputs().stream()
          .noneMatch(d -> path.equals(d) || path.startsWith(d + "/"))) {
        throw new OutputRejected("worker '" + r.workerId() + "' reported output '" + path
            + "', which '" + target.name() + "' does not declare");
      }
      Digest d;
      try {
        d = Digest.parse(o.digest());
      } catch (IllegalArgumentException e) {
        throw new OutputRejected("worker '" + r.workerId() + "' reported a malformed digest for '"
            + path + "': " + e.getMessage());
      }
      if (!d.algorithm().equals(blobs.hashes().algorithm())) {
        throw new OutputRejected("worker '" + r.workerId() + "' named output '" + path + "' by "
            + d.algorithm() + " but the master's store uses " + blobs.hashes().algorithm());
      }
      var size = blobs.sizeOf(d);
      if (size.isEmpty() || size.get() != o.size()) {
        throw new OutputRejected("worker '" + r.workerId() + "' reported output '" + path + "' as "
            + d + " (" + o.size() + " bytes) but the master's store "
            + (size.isEmpty() ? "never received it" : "holds " + size.get() + " bytes under it"));
      }
      files.put(path, new ActionManifest.Output(path, d.toString(), o.size(),
          Boolean.TRUE.equals(o.executable())));
    }
    return List.copyOf(files.values());
  }

  /** A relative, '/'-separated path that stays inside the directory it is resolved against. */
  static boolean isSafeRelative(String path) {
    if (path.isEmpty() || path.startsWith("/") || path.indexOf('\\') >= 0 || path.indexOf('\0') >= 0) {
      return false;
    }
    for (String segment : path.split("/", -1)) {
      if (segment.isEmpty() || segment.equals(".") || segment.equals("..")) {
        return false;
      }
    }
    return true;
  }

  private static final class OutputRejected extends Exception {
    private static final long serialVersionUID = 1L;

    OutputRejected(String message) {
      super(message, null, false, false);
    }
  }

  private static final class InputChangedException extends Exception {
    private static final long serialVersionUID = 1L;

    InputChangedException(String message) {
      super(message, null, false, false);
    }
  }

  /**
   * The files the sandbox needs: the target's inputs as hashed for its key, and its direct
   * dependencies' outputs. Each is put in the master's store unless it is there already.
   */
  private List<Payloads.Output> inputs(BuildRun run, Node node, KeyService.Computed computed,
      BlobStore blobs) throws IOException, InputChangedException {
    TreeMap<String, Payloads.Output> files = new TreeMap<>();
    for (Node dep : node.dependencies) {
      TargetOutcome o = dep.outcome;
      if (o == null) {
        continue;
      }
      for (dev.buildnet.api.build.Artifact a : o.artifacts()) {
        files.put(a.path(), ensure(a.path(), a.digest(), blobs));
      }
    }
    for (Map.Entry<String, Digest> e : computed.manifest().inputs().entrySet()) {
      files.put(e.getKey(), ensure(e.getKey(), e.getValue(), blobs));
    }
    return List.copyOf(files.values());
  }

  private Payloads.Output ensure(String path, Digest digest, BlobStore blobs)
      throws IOException, InputChangedException {
    Path file = workspace.resolve(path);
    Optional<Long> stored = blobs.sizeOf(digest);
    if (stored.isEmpty()) {
      try (InputStream in = Files.newInputStream(file)) {
        blobs.putVerified(in, digest); // false: another attempt stored it meanwhile
      } catch (dev.buildnet.cache.DigestMismatchException e) {
        throw new InputChangedException("input '" + path + "' changed while the build ran (it no"
            + " longer hashes to " + digest + "); build again");
      } catch (java.nio.file.NoSuchFileException e) {
        throw new InputChangedException("input '" + path + "' was deleted while the build ran");
      }
      stored = blobs.sizeOf(digest);
    }
    // The file itself is stat'ed only if the blob was evicted again right after it was stored.
    long size = stored.isPresent() ? stored.get() : Files.size(file);
    return new Payloads.Output(path, digest.toString(), size,
        Files.isExecutable(file) ? Boolean.TRUE : null);
  }

  private static String cwd(Target target) {
    String dir = target.workingDirectory().replace('\\', '/');
    return dir.equals(".") ? "" : dir;
  }
}
