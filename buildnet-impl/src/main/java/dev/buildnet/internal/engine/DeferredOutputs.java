package dev.buildnet.internal.engine;

import dev.buildnet.BuildNet;

import dev.buildnet.api.hash.Digest;
import dev.buildnet.api.state.StateBackend;
import dev.buildnet.internal.cache.ActionManifest;
import dev.buildnet.internal.cache.DiskBlobStore;
import dev.buildnet.graph.Target;
import dev.buildnet.api.blob.BlobException;
import dev.buildnet.internal.master.Dispatcher;
import dev.buildnet.worker.Worker;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Deferred materialization on a master ({@code BuildNet.Builder.deferOutputs}): which outputs
 * workers kept instead of uploading them (TARGET_RUN {@code keep_outputs}), and fetching them into
 * the master's store when they are needed.
 *
 * <p>A kept action is never recorded in the action cache: a cache record must name blobs the store
 * holds (other masters sharing the cache, gc and {@code ActionCache.lookup} rely on it). It is
 * remembered in memory and, so that a restarted master (Java or Python) still knows it, in the
 * state backend under {@code deferred/<key>} (which worker holds it, and its manifest: a
 * {@link DeferredRecord}). Once its blobs are fetched, the action cache record is written as usual and this one deleted. After a restart, a kept action
 * whose worker has reconnected is a hit fetched when needed; one whose worker is not connected
 * runs again, and the log says why.
 */
final class DeferredOutputs {
  private static final Logger LOG = LoggerFactory.getLogger(DeferredOutputs.class);
  /** Bound on remembered actions; past it the oldest knowledge is dropped (they run again). */
  private static final int MAX_REMEMBERED = 100_000;
  /** State backend key prefix of the records that outlive this master. */
  static final String PREFIX = "deferred/";
  /** How long a worker may take to confirm it still holds a kept blob (it hashes it first). */
  private static final java.time.Duration PROBE_TIMEOUT = java.time.Duration.ofMinutes(2);

  /**
   * The outputs of one action as a worker kept them: {@code workerId} holds every blob of
   * {@code manifest} that the master's store lacks. {@code materialized}: restored into the
   * workspace (for a local consumer).
   */
  static final class Kept {
    final String workerId;
    final ActionManifest manifest;
    volatile boolean materialized;

    Kept(String workerId, ActionManifest manifest) {
      this.workerId = workerId;
      this.manifest = manifest;
    }
  }

  private final Dispatcher dispatcher;
  private final DiskBlobStore store;
  private final StateBackend state;
  private final Map<Digest, Kept> byKey = new ConcurrentHashMap<>();

  DeferredOutputs(Dispatcher dispatcher, DiskBlobStore store, StateBackend state) {
    this.dispatcher = dispatcher;
    this.store = store;
    this.state = state;
  }

  /**
   * Whether {@code target}'s outputs may stay on the worker that runs it on {@code placement}:
   * that worker supports it, the build did not ask for the target, and no target of the build
   * declares inputs reading them from the workspace.
   */
  boolean mayKeep(BuildRun run, Target target, Dispatcher.Placement placement) {
    return placement.offers(Worker.Builder.KEEP_OUTPUTS) && mayDefer(run, target);
  }

  /** Whether {@code target}'s outputs need not be in this master's workspace for {@code run}. */
  static boolean mayDefer(BuildRun run, Target target) {
    return !run.requested.contains(target.name()) && !run.outputsReadAsInputs(target);
  }

  /**
   * Remembers that {@code kept.workerId} holds the outputs of action {@code key}, in memory and in
   * the state backend (a failure to write it there only costs a re-run after a restart).
   */
  void remember(Digest key, Kept kept) {
    if (byKey.size() >= MAX_REMEMBERED) {
      byKey.clear(); // the records are still in the state backend
    }
    byKey.put(key, kept);
    try {
      state.set(PREFIX + key, DeferredRecord.encode(kept.workerId, kept.manifest));
    } catch (IOException | RuntimeException e) {
      LOG.warn("cannot record that worker '{}' keeps the outputs of '{}' ({}); after a restart of"
          + " this master it runs again", kept.workerId, kept.manifest.target(), e.toString());
    }
  }

  /**
   * What a worker kept for action {@code key} (remembered by this master, or by an earlier run of
   * it: the state backend), if that worker is connected now (it may still hold the blobs; a
   * fetch tells for sure), else null. When the worker is not connected the record is dropped
   * (the target runs again) and {@code lost} gets a sentence saying why.
   */
  Kept lookup(Digest key, Consumer<String> lost) {
    Kept k = byKey.get(key);
    boolean earlier = false;
    if (k == null) {
      k = load(key).orElse(null);
      if (k == null) {
        return null;
      }
      earlier = true;
      if (byKey.size() < MAX_REMEMBERED) {
        byKey.putIfAbsent(key, k);
      }
    }
    if (!missing(k.manifest)) {
      return k;
    }
    String gone = !dispatcher.isConnected(k.workerId) ? "which is not connected"
        // A worker that reconnects under the same id may be a new process with an empty store:
        // asked once per record this master did not make itself (consumers placed on that worker
        // would otherwise fail on the missing inputs).
        : earlier && !holdsAll(k) ? "which no longer holds them"
        : null;
    if (gone == null) {
      return k;
    }
    byKey.remove(key, k);
    state.delete(PREFIX + key);
    String why = "its outputs were kept on worker '" + k.workerId + "'"
        + (earlier ? " (recorded before this master started)" : "") + ", " + gone;
    LOG.warn("'{}' runs again: {}", k.manifest.target(), why);
    lost.accept(why);
    return null;
  }

  /** Whether the worker that kept {@code k} still holds every blob of it the store lacks. */
  private boolean holdsAll(Kept k) {
    for (ActionManifest.Output o : k.manifest.outputs()) {
      if (!store.contains(o.parsedDigest(), o.size())
          && !dispatcher.holds(k.workerId, o.parsedDigest(), o.size(), PROBE_TIMEOUT)) {
        return false;
      }
    }
    return true;
  }

  /** The record of {@code key} in the state backend; an unreadable one is dropped. */
  private Optional<Kept> load(Digest key) {
    Optional<byte[]> raw = state.get(PREFIX + key);
    if (raw.isEmpty()) {
      return Optional.empty();
    }
    try {
      return Optional.of(DeferredRecord.decode(raw.get()));
    } catch (IOException e) {
      LOG.warn("dropping kept-outputs record {}: {}", key, e.getMessage());
    }
    state.delete(PREFIX + key);
    return Optional.empty();
  }

  /** Forgets action {@code key} (its record is in the action cache now, or it is lost). */
  void forget(Digest key) {
    byKey.remove(key);
    state.delete(PREFIX + key);
  }

  /** Whether the master's store lacks a blob of {@code m}'s outputs. */
  boolean missing(ActionManifest m) {
    for (ActionManifest.Output o : m.outputs()) {
      if (!store.contains(o.parsedDigest(), o.size())) {
        return true;
      }
    }
    return false;
  }

  /**
   * Fetches every output blob of {@code k} the master's store lacks from the worker that kept it,
   * verified; false (logged) if that worker is gone or cannot serve one of them.
   */
  boolean fetch(Kept k) throws IOException {
    for (ActionManifest.Output o : k.manifest.outputs()) {
      Digest d = o.parsedDigest();
      if (store.contains(d, o.size())) {
        continue;
      }
      Path dir = Files.createDirectories(store.root().resolve("tmp"));
      Path tmp = dir.resolve("fetch-" + java.util.UUID.randomUUID() + ".blob");
      try {
        dispatcher.fetch(k.workerId, d, store.hashes(), tmp);
        try (InputStream in = Files.newInputStream(tmp)) {
          store.putVerified(in, d);
        }
      } catch (BlobException e) {
        if (e.reason() == BlobException.Reason.TRANSFER) {
          LOG.warn("cannot fetch output {} of '{}' from worker '{}': {}", o.path(),
              k.manifest.target(), k.workerId, e.getMessage());
        } else if (e.reason() == BlobException.Reason.DIGEST_MISMATCH) {
          LOG.warn("output {} of '{}' from worker '{}' does not match its digest: {}", o.path(),
              k.manifest.target(), k.workerId, e.getMessage());
        } else {
          throw e;
        }
        return false;
      } finally {
        Files.deleteIfExists(tmp);
      }
    }
    return true;
  }
}
