package dev.buildnet.internal.engine;

import dev.buildnet.api.build.BuildMetrics;
import dev.buildnet.api.build.TargetOutcome;
import dev.buildnet.api.build.TargetOutcome.Status;
import dev.buildnet.api.exec.OutputListener;
import dev.buildnet.api.hash.Digest;
import dev.buildnet.internal.cache.ActionCache;
import dev.buildnet.internal.cache.ActionManifest;
import dev.buildnet.internal.cache.DiskBlobStore;
import dev.buildnet.internal.cache.Outputs;
import dev.buildnet.graph.Target;
import dev.buildnet.internal.protocol.Payloads;
import dev.buildnet.internal.protocol.Payloads.BuildProgress;
import dev.buildnet.internal.protocol.Payloads.TargetRun;
import dev.buildnet.internal.master.Dispatcher;
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
 * With deferred materialization ({@link DeferredOutputs}) a worker may instead keep the outputs
 * of a target nothing has asked for yet; they are then fetched, or the target run again, only
 * when a consumer needs them.
 */
final class RemoteAttempt {
  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(RemoteAttempt.class);
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
  private volatile DeferredOutputs deferred; // null: outputs are always uploaded

  RemoteAttempt(Path workspace, KeyService keys, ActionCache cache, Outputs outputs, Clock clock,
      long logCap) {
    this.logCap = logCap;
    this.workspace = workspace;
    this.keys = keys;
    this.cache = cache;
    this.outputs = outputs;
    this.clock = clock;
  }

  /** Turns on deferred materialization (see {@link DeferredOutputs}). */
  void defer(DeferredOutputs d) {
    this.deferred = d;
  }

  /**
   * Sends {@code miss} to {@code placement}'s worker. The future completes on {@code executor}
   * when the worker reports back, or fails with {@link Requeue} if the attempt should run
   * elsewhere.
   */
  CompletableFuture<TargetOutcome> run(Site.Miss miss, Dispatcher.Placement placement,
      Executor executor) throws IOException {
    BuildRun run = miss.run();
    Node node = miss.node();
    KeyService.Computed computed = miss.computed();
    Duration queueWait = miss.queueWait();
    long start = miss.start();
    Target target = node.target;
    DiskBlobStore blobs = cache.blobs();
    int attempt = node.nextAttempt();
    Listeners.targetStarted(run.listener, run.buildId, target.name(), attempt, placement.workerId());
    List<Payloads.Output> inputs;
    try {
      inputs = inputs(run, node, computed, blobs, placement);
    } catch (InputChangedException e) {
      return CompletableFuture.completedFuture(FailedOutcome.of(node, queueWait, start)
          .attempts(attempt).because("INPUT", e.getMessage()));
    }
    DeferredOutputs d = deferred;
    // Expanded here, relative to the cwd, so the worker runs it in its sandbox unchanged.
    List<String> argv = target.expandCommand(List.copyOf(computed.manifest().inputs().keySet()));
    TargetRun message = message(run, target, attempt, argv, inputs,
        d != null && d.mayKeep(run, target, placement));
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
        return finish(run, node, computed, r, attempt, queueWait, start, runStart, stdout, stderr,
            message.keeps());
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
      LogCapture stdout, LogCapture stderr, boolean kept) throws IOException {
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
      return FailedOutcome.of(node, queueWait, start).attempts(attempt).exitCode(exit)
          .because(f.exitCode() == null ? "REMOTE" : "EXIT_CODE", why);
    }
    FailedOutcome failed = FailedOutcome.of(node, queueWait, start).attempts(attempt);
    List<ActionManifest.Output> files;
    try {
      files = verifiedOutputs(r, target, kept);
    } catch (OutputRejected e) {
      return failed.because("OUTPUT", e.getMessage());
    }
    if (!files.isEmpty() || !stdout.isEmpty() || !stderr.isEmpty()) {
      // Storing logs and copying outputs into the workspace take as long as they are large: the
      // TARGET_RUNs that earlier settlings on this thread held for one write leave first, so no
      // worker waits on this target's disk work (see Engine#settleQueued).
      dev.buildnet.internal.transport.Cork.flush();
    }
    List<String> directories = directories(target, files);
    boolean keep = target.cacheable();
    DiskBlobStore blobs = cache.blobs();
    String out = !keep || stdout.isEmpty() ? null : blobs.putBytes(stdout.bytes()).toString();
    String err = !keep || stderr.isEmpty() ? null : blobs.putBytes(stderr.bytes()).toString();
    ActionManifest manifest = new ActionManifest(ActionManifest.VERSION, target.name(), files,
        directories, out, err, 0, r.completed().durationMs(), clock.millis());
    boolean restored;
    try {
      outputs.clear(target.outputs());
      if (kept) {
        // Deferred: the worker holds the blobs; consumers fetch them (or run there) when needed.
        DeferredOutputs.Kept k = new DeferredOutputs.Kept(r.workerId(), manifest);
        node.kept = k;
        if (keep && BuildRun.consumesWhatItWasKeyedFrom(node, computed.manifest())) {
          deferred.remember(computed.key(), k);
        }
        restored = true;
      } else {
        restored = outputs.restore(manifest);
      }
    } catch (Outputs.OutputException e) {
      return failed.exitCode(0).because("OUTPUT", e.getMessage());
    }
    if (!restored) {
      String why = "outputs of '" + target.name() + "' from worker '" + r.workerId()
          + "' failed verification in the master's store and were discarded";
      return failed.because("OUTPUT", why);
    }
    node.outputs = keys.outputDigest(manifest);
    boolean asKeyed = BuildRun.consumesWhatItWasKeyedFrom(node, computed.manifest());
    if (!asKeyed) {
      LOG.warn("build {}: a dependency of '{}' ran again and produced other outputs than its key"
          + " was computed from; its result is not cached", run.buildId, target.name());
    }
    if (keep && !kept && !run.unrecorded.contains(target.name()) && asKeyed) {
      cache.record(computed.key(), manifest);
    }
    long end = System.nanoTime();
    long outBytes = 0;
    for (ActionManifest.Output f : files) {
      outBytes += f.size();
    }
    BuildMetrics metrics = new BuildMetrics(queueWait, Duration.ofNanos(end - start),
        new BuildMetrics.Phases(Duration.ofNanos(runStart - start), runTime, Duration.ZERO),
        new BuildMetrics.Cache(computed.filesChecked(), 0, keep ? 1 : 0, Duration.ZERO),
        new BuildMetrics.Resources(0, 0, 0, outBytes));
    return new TargetOutcome(target.name(), Status.BUILT,
        "built on worker '" + r.workerId() + "'" + (attempt > 1 ? " (attempt " + attempt + ")" : "")
            + (kept ? "; its outputs stay there until needed" : "")
            + (node.keptLost != null ? "; ran again because " + node.keptLost : ""),
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
  private List<ActionManifest.Output> verifiedOutputs(Dispatcher.Result r, Target target,
      boolean kept) throws OutputRejected, IOException {
    DiskBlobStore blobs = cache.blobs();
    List<Payloads.Output> reported = r.completed().outputs() == null ? List.of()
        : r.completed().outputs();
    if (reported.isEmpty()) {
      return List.of(); // a target without outputs: no sorted map to build
    }
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
      // A worker that kept its outputs serves them itself; they are verified when fetched.
      var size = kept ? java.util.Optional.of(o.size()) : blobs.sizeOf(d);
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

  private TargetRun message(BuildRun run, Target target, int attempt, List<String> argv,
      List<Payloads.Output> inputs, boolean keep) {
    Long timeout = target.timeout().isPresent() ? target.timeout().get().toMillis() : null;
    var bundler = target.bundler();
    TargetRun message;
    if (bundler.isPresent()) {
      var b = bundler.get();
      message = new TargetRun(run.buildId, target.name(),
            attempt, List.of(b.adapter()), cwd(target), keys.environment(target), inputs,
            target.outputs(), timeout, null, b.adapter(), b.entrypoints(), b.outDir(),
            b.options());
    } else {
      message = new TargetRun(run.buildId, target.name(), attempt, argv,
            cwd(target), keys.environment(target), inputs, target.outputs(), timeout, null);
    }
    return keep ? message.keepingOutputs() : message;
  }

  /**
   * The files the sandbox needs: the target's inputs as hashed for its key, and its direct
   * dependencies' outputs. Each is put in the master's store unless it is there already, except
   * outputs a dependency's worker kept (deferred): those the placement's own worker holds are sent
   * as they are; others are fetched from the worker that kept them, and if it is gone the
   * dependency runs again first, on this placement's worker.
   */
  private List<Payloads.Output> inputs(BuildRun run, Node node, KeyService.Computed computed,
      DiskBlobStore blobs, Dispatcher.Placement placement) throws IOException, InputChangedException {
    if (node.dependencies.length == 0 && computed.manifest().inputs().isEmpty()) {
      return List.of(); // nothing to send: no sorted map to build
    }
    TreeMap<String, Payloads.Output> files = new TreeMap<>();
    for (Node dep : node.dependencies) {
      TargetOutcome o = dep.outcome;
      if (o == null) {
        continue;
      }
      DeferredOutputs.Kept k = dep.kept;
      if (k != null) {
        k = available(run, dep, k, blobs, placement);
        for (ActionManifest.Output out : k.manifest.outputs()) {
          files.put(out.path(), new Payloads.Output(out.path(), out.digest(), out.size(),
              out.executable() ? Boolean.TRUE : null));
        }
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

  /**
   * Makes the outputs {@code dep}'s worker kept reachable from {@code placement}'s worker: already
   * there (same worker, or in the master's store), else fetched into the master's store, else
   * (the worker that kept them is gone) {@code dep} is run again on the placement's worker.
   * Returns what the consumer must use (a re-run may produce other digests).
   */
  private DeferredOutputs.Kept available(BuildRun run, Node dep, DeferredOutputs.Kept k,
      DiskBlobStore blobs, Dispatcher.Placement placement) throws IOException, InputChangedException {
    DeferredOutputs d = deferred;
    if (d == null || k.workerId.equals(placement.workerId()) || !d.missing(k.manifest)) {
      return k;
    }
    synchronized (dep) { // one consumer fetches (or re-runs) a producer; the others wait for it
      DeferredOutputs.Kept now = dep.kept;
      if (now != k) {
        return available(run, dep, now, blobs, placement); // another consumer acted meanwhile
      }
      if (d.fetch(k)) {
        if (dep.target.cacheable() && dep.key != null) {
          cache.record(dep.key, k.manifest); // its blobs are in the store now
          d.forget(dep.key);
        }
        return k;
      }
      LOG.warn("build {}: the outputs of '{}' were lost with worker '{}' before they were needed;"
          + " running '{}' again on worker '{}'", run.buildId, dep.name(), k.workerId, dep.name(),
          placement.workerId());
      if (dep.key != null) {
        d.forget(dep.key);
      }
      DeferredOutputs.Kept again = rerun(run, dep, blobs, placement);
      dep.kept = again;
      dep.outputs = keys.outputDigest(again.manifest);
      return again;
    }
  }

  /**
   * Runs {@code dep} again on {@code placement}'s worker (before the attempt the placement was
   * made for), keeping its outputs there when the worker supports it. Its key must not have
   * changed: the consumer's key was computed from it.
   */
  private DeferredOutputs.Kept rerun(BuildRun run, Node dep, DiskBlobStore blobs,
      Dispatcher.Placement placement) throws IOException, InputChangedException {
    KeyService.Computed computed;
    try {
      computed = keys.compute(dep.record, dep.target, run.dependencyKeys(dep),
          run.inputResolver(keys));
    } catch (KeyService.InputException e) {
      throw new InputChangedException("the outputs of '" + dep.name() + "' were lost with their"
          + " worker and it cannot run again: " + e.getMessage());
    }
    if (!computed.key().equals(dep.key)) {
      throw new InputChangedException("the outputs of '" + dep.name() + "' were lost with their"
          + " worker, and its inputs changed while the build ran; build again");
    }
    for (String need : new java.util.TreeSet<>(RemoteWorkers.needs(dep.target))) {
      if (!placement.offers(need)) {
        throw new InputChangedException("the outputs of '" + dep.name() + "' were lost with their"
            + " worker, and worker '" + placement.workerId() + "' cannot run it again (it lacks"
            + " the capability " + need + "); build again");
      }
    }
    List<Payloads.Output> inputs = inputs(run, dep, computed, blobs, placement);
    int attempt = dep.nextAttempt();
    TargetRun message = message(run, dep.target, attempt,
        dep.target.expandCommand(List.copyOf(computed.manifest().inputs().keySet())), inputs,
        placement.offers(dev.buildnet.worker.Worker.Builder.KEEP_OUTPUTS));
    LogCapture out = new LogCapture(logCap);
    LogCapture err = new LogCapture(logCap);
    Dispatcher.Result r;
    try {
      CompletableFuture<Dispatcher.Result> running =
          placement.run(message, p -> log(run, dep.target, p, out, err));
      dev.buildnet.internal.transport.Cork.flush(); // this thread waits for it: it must leave now
      r = running.join();
    } catch (CompletionException e) {
      Throwable cause = e.getCause() != null ? e.getCause() : e;
      throw new Requeue("re-running '" + dep.name() + "', whose outputs were lost, failed: "
          + cause.getMessage());
    }
    if (!r.succeeded()) {
      String why = "'" + dep.name() + "' ran again on worker '" + r.workerId() + "' because its"
          + " outputs were lost with their worker, and failed: " + r.failed().error();
      if (Boolean.TRUE.equals(r.failed().retryable())) {
        throw new Requeue(why);
      }
      throw new InputChangedException(why);
    }
    List<ActionManifest.Output> files;
    try {
      files = verifiedOutputs(r, dep.target, message.keeps());
    } catch (OutputRejected e) {
      throw new InputChangedException(e.getMessage());
    }
    ActionManifest manifest = new ActionManifest(ActionManifest.VERSION, dep.name(), files,
        directories(dep.target, files), null, null, 0, r.completed().durationMs(),
        clock.millis());
    DeferredOutputs.Kept k = new DeferredOutputs.Kept(r.workerId(), manifest);
    if (dep.target.cacheable()) {
      if (message.keeps()) {
        deferred.remember(computed.key(), k);
      } else {
        cache.record(computed.key(), manifest);
      }
    }
    return k;
  }

  private static List<String> directories(Target target, List<ActionManifest.Output> files) {
    if (target.outputs().isEmpty()) {
      return List.of(); // nothing declared: no list for the manifest to copy
    }
    List<String> directories = new ArrayList<>();
    for (String declared : target.outputs()) {
      if (files.stream().noneMatch(f -> f.path().equals(declared))) {
        directories.add(declared);
      }
    }
    return directories;
  }

  private Payloads.Output ensure(String path, Digest digest, DiskBlobStore blobs)
      throws IOException, InputChangedException {
    Path file = workspace.resolve(path);
    Optional<Long> stored = blobs.sizeOf(digest);
    if (stored.isEmpty()) {
      try (InputStream in = Files.newInputStream(file)) {
        blobs.putVerified(in, digest); // false: another attempt stored it meanwhile
      } catch (dev.buildnet.api.blob.BlobException e) {
        if (e.reason() != dev.buildnet.api.blob.BlobException.Reason.DIGEST_MISMATCH) {
          throw e;
        }
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
