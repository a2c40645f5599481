package dev.buildnet.internal.engine;

import dev.buildnet.BuildNet;

import dev.buildnet.api.hash.Digest;
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
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Deferred materialization on a master ({@code BuildNet.Builder.deferOutputs}): which outputs
 * workers kept instead of uploading them (TARGET_RUN {@code keep_outputs}), and fetching them into
 * the master's store when they are needed.
 *
 * <p>A kept action is remembered in memory only, never in the action cache: a cache record must
 * name blobs the store holds (other masters sharing the cache, gc and {@code ActionCache.lookup}
 * rely on it). Once its blobs are fetched, the record is written as usual. After a restart of the
 * master the memory is gone and such targets simply run again.
 */
final class DeferredOutputs {
  private static final Logger LOG = LoggerFactory.getLogger(DeferredOutputs.class);
  /** Bound on remembered actions; past it the oldest knowledge is dropped (they run again). */
  private static final int MAX_REMEMBERED = 100_000;

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
  private final Map<Digest, Kept> byKey = new ConcurrentHashMap<>();

  DeferredOutputs(Dispatcher dispatcher, DiskBlobStore store) {
    this.dispatcher = dispatcher;
    this.store = store;
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

  /** Remembers that {@code kept.workerId} holds the outputs of action {@code key}. */
  void remember(Digest key, Kept kept) {
    if (byKey.size() >= MAX_REMEMBERED) {
      byKey.clear();
    }
    byKey.put(key, kept);
  }

  /**
   * What a worker kept for action {@code key}, if that worker is connected now (it may still hold
   * the blobs; a fetch tells for sure), else null.
   */
  Kept lookup(Digest key) {
    Kept k = byKey.get(key);
    if (k == null) {
      return null;
    }
    if (missing(k.manifest) && !dispatcher.isConnected(k.workerId)) {
      byKey.remove(key, k);
      return null;
    }
    return k;
  }

  /** Forgets action {@code key} (its record is in the action cache now, or it is lost). */
  void forget(Digest key) {
    byKey.remove(key);
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
