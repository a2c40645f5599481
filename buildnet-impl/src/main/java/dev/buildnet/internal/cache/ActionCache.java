package dev.buildnet.internal.cache;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.buildnet.api.blob.BlobStore;
import dev.buildnet.api.hash.Digest;
import dev.buildnet.api.state.StateBackend;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.Objects;
import java.util.Optional;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Maps a target's cache key to the {@link ActionManifest} of a successful run, in a
 * {@link StateBackend} under {@code ac/<key>}.
 *
 * <p>A lookup is a hit only if every blob the manifest names is present in the {@link DiskBlobStore}
 * (a manifest whose blobs were evicted is removed and reported as a miss). With a shared {@link
 * BlobStore} tier, the blobs are kept through a {@link TieredBlobStore}: a blob missing locally is
 * fetched from the shared tier and verified; {@link #record} writes the blobs through to it before
 * it writes the manifest, so a peer never sees a manifest before its blobs. A record that cannot be
 * parsed — written by a newer release, or damaged — is also a miss, and is removed.
 *
 * <p>Thread-safe; blocks on the backend's I/O.
 */
public final class ActionCache {
  private static final Logger LOG = LoggerFactory.getLogger(ActionCache.class);
  static final String PREFIX = "ac/";

  private final StateBackend state;
  private final DiskBlobStore blobs;
  /** The local store in front of the shared tier; null without a shared tier. */
  private final TieredBlobStore tiers;
  private final BuildOnce buildOnce;
  /**
   * Manifests this instance has read or written, by key. A key's record only ever names outputs of
   * that exact action, so a remembered one stays valid; blob presence is still checked on every
   * lookup (against the local store's index, asked again only once it lost something: see {@link
   * Known#presentAt}), so an eviction still turns it into a miss.
   */
  private final Map<Digest, Known> recent = new ConcurrentHashMap<>();

  /**
   * A remembered manifest with its blob digests parsed once, and the artifacts a hit on it
   * reports (immutable, so every hit shares them rather than parsing each output's digest).
   */
  private static final class Known {
    final ActionCache owner;
    final Digest key;
    final ActionManifest manifest;
    /** What a hit returns: one per record rather than one per hit. */
    final Optional<ActionManifest> hit;
    final List<Blob> blobs;
    final List<dev.buildnet.api.build.Artifact> artifacts;
    /**
     * The local store's {@link DiskBlobStore#indexEpoch} read before every blob was last found
     * present, or -1: while the epoch is unchanged they still are, as far as its index knows, and
     * a lookup asks it nothing (one volatile read per hit instead of a map lookup per blob).
     */
    volatile long presentAt = -1;
    /**
     * Set once it left {@link #recent} (its blobs were found missing, the key was removed or
     * recorded anew, the map was cleared): a {@link Slot} holding it then no longer counts.
     */
    volatile boolean forgotten;

    Known(ActionCache owner, Digest key, ActionManifest manifest, List<Blob> blobs,
        List<dev.buildnet.api.build.Artifact> artifacts) {
      this.owner = owner;
      this.key = key;
      this.manifest = manifest;
      this.hit = Optional.of(manifest);
      this.blobs = blobs;
      this.artifacts = artifacts;
    }
  }

  /** A blob a manifest names, with its recorded size (-1 for logs, whose size is not recorded). */
  private record Blob(Digest digest, long size) {}
  private static final int RECENT_MAX = 200_000;

  private final ObjectMapper json =
      new ObjectMapper().enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

  public ActionCache(StateBackend state, DiskBlobStore blobs) {
    this(state, blobs, null, null);
  }

  /**
   * An action cache whose blobs are also kept in {@code shared} (null: local only) and whose keys
   * are built once across processes by {@code buildOnce} (null: no coordination).
   *
   * @throws IllegalArgumentException if {@code shared} holds another algorithm's digests
   */
  public ActionCache(StateBackend state, DiskBlobStore blobs, BlobStore shared,
      BuildOnce buildOnce) {
    this.state = Objects.requireNonNull(state, "state");
    this.blobs = Objects.requireNonNull(blobs, "blobs");
    this.tiers = shared == null ? null : new TieredBlobStore(blobs, shared);
    this.buildOnce = buildOnce;
  }

  /**
   * After a miss on {@code key}: waits while another process builds it (build-once), returning a
   * turn that carries its result, or holds the lease to build it here (close the turn once the
   * result is recorded). Without build-once, an empty turn at once.
   */
  public BuildOnce.Turn claim(Digest key, BooleanSupplier cancelled) {
    return buildOnce == null ? BuildOnce.Turn.none()
        : buildOnce.claim(key, () -> lookup(key), cancelled);
  }

  /** The local tier, where outputs are stored and restored from. */
  public DiskBlobStore blobs() {
    return blobs;
  }

  /**
   * A caller's place for the record its last lookup found (the engine keeps one per target of a
   * build plan): a lookup of the same key checks it before the map by key. It counts only while
   * the record is still the one this cache remembers for that key, and its blobs are checked
   * exactly as for a record found in the map.
   */
  public static final class Slot {
    private volatile Known known;
  }

  /** The manifest recorded for {@code key}, if present and every blob it names is stored. */
  public Optional<ActionManifest> lookup(Digest key) {
    return lookup(key, null);
  }

  /** {@link #lookup(Digest)}, consulting and updating {@code slot} (or null). */
  public Optional<ActionManifest> lookup(Digest key, Slot slot) {
    Known known = slot == null ? null : slot.known;
    if (known == null || known.owner != this || known.forgotten
        || (known.key != key && !known.key.equals(key))) {
      known = recent.get(key);
    }
    if (known != null) {
      if (tiers == null) {
        // Read before the blobs are asked for, so a blob leaving the index meanwhile changes it.
        long epoch = blobs.indexEpoch();
        if (known.presentAt == epoch || allPresent(known.blobs)) {
          if (known.presentAt != epoch) {
            known.presentAt = epoch;
          }
          if (slot != null) {
            slot.known = known;
          }
          return known.hit;
        }
      } else if (allPresent(known.blobs)) {
        if (slot != null) {
          slot.known = known;
        }
        return known.hit;
      }
      forget(known);
    }
    Optional<byte[]> raw = state.get(PREFIX + key);
    if (raw.isEmpty()) {
      return Optional.empty();
    }
    Optional<ActionManifest> manifest = parse(key, raw.get());
    if (manifest.isEmpty()) {
      return Optional.empty();
    }
    if (!allPresent(blobsOf(manifest.get()))) {
      // A hit counts only if every blob it names is present.
      state.delete(PREFIX + key);
      return Optional.empty();
    }
    remember(key, manifest.get());
    return manifest;
  }

  /**
   * Whether every blob is here (fetched from the shared tier if need be). Outputs are checked
   * against their recorded size too, so a truncated blob is a miss now rather than a failed
   * restore later (as far as the store has seen: see {@link DiskBlobStore#knownToContain}).
   */
  private boolean allPresent(List<Blob> needed) {
    for (Blob blob : needed) {
      boolean here;
      if (tiers == null) {
        // From the store's presence index: no lstat per blob on a null build. Safe because a
        // restore reads (and verifies) every blob it needs, and one found missing then makes
        // the target run (Outputs.restore returns false); a lost log is never a failure.
        here = blobs.knownToContain(blob.digest, blob.size);
      } else {
        try {
          here = tiers.fill(blob.digest, blob.size);
        } catch (java.io.IOException e) {
          throw new java.io.UncheckedIOException(
              "fetching " + blob.digest + " from " + tiers.shared().name() + " failed", e);
        }
      }
      if (!here) {
        return false;
      }
    }
    return true;
  }

  private static List<Blob> blobsOf(ActionManifest m) {
    List<Blob> all = new java.util.ArrayList<>(m.outputs().size() + 2);
    for (ActionManifest.Output o : m.outputs()) {
      all.add(new Blob(o.parsedDigest(), o.size()));
    }
    for (String log : java.util.Arrays.asList(m.stdout(), m.stderr())) {
      if (log != null) {
        all.add(new Blob(Digest.parse(log), -1));
      }
    }
    return all;
  }

  /** Whether a blob is in either tier, without fetching it (for gc). */
  private boolean presentAnywhere(Digest blob) {
    try {
      return tiers == null ? blobs.contains(blob) : tiers.has(blob);
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(
          "checking " + blob + " in " + tiers.shared().name() + " failed", e);
    }
  }

  /** Writes the manifest's blobs through to the shared tier, before the manifest is visible. */
  private void pushShared(ActionManifest manifest) {
    if (tiers == null) {
      return;
    }
    for (Digest blob : manifest.blobs()) {
      try {
        if (!tiers.push(blob)) {
          LOG.debug("{} did not take {} of {}; peers will miss this entry", tiers.shared().name(),
              blob, manifest.target());
        }
      } catch (java.io.IOException e) {
        throw new java.io.UncheckedIOException("pushing " + blob + " of " + manifest.target()
            + " to " + tiers.shared().name() + " failed", e);
      }
    }
  }

  private void remember(Digest key, ActionManifest m) {
    if (recent.size() >= RECENT_MAX) {
      forgetAll(); // crude bound; the records are still in the state backend
    }
    List<Blob> blobs = blobsOf(m);
    Known was = recent.put(key, new Known(this, key, m, blobs, artifactsOf(m, blobs)));
    if (was != null) {
      was.forgotten = true;
    }
  }

  /** Removes {@code known} from {@link #recent} (if still there) and from every slot. */
  private void forget(Known known) {
    known.forgotten = true;
    recent.remove(known.key, known);
  }

  private void forgetAll() {
    for (Known k : recent.values()) {
      k.forgotten = true;
    }
    recent.clear();
  }

  /** The artifacts of a hit on {@code m}; null if it has none to give (a negative size). */
  private static List<dev.buildnet.api.build.Artifact> artifactsOf(ActionManifest m,
      List<Blob> blobs) {
    List<dev.buildnet.api.build.Artifact> artifacts = new java.util.ArrayList<>(m.outputs().size());
    for (int i = 0; i < m.outputs().size(); i++) {
      ActionManifest.Output o = m.outputs().get(i);
      if (o.size() < 0) {
        return null; // the hit then makes them itself, failing as it always did
      }
      artifacts.add(new dev.buildnet.api.build.Artifact(o.path(), o.size(), blobs.get(i).digest));
    }
    return List.copyOf(artifacts);
  }

  /**
   * The artifacts of {@code m}, the manifest recorded for {@code key}: one per output, in order,
   * as {@code new Artifact(path, size, parsedDigest())} gives them; null unless this cache
   * remembers exactly that manifest for the key (the caller then makes them itself).
   */
  public List<dev.buildnet.api.build.Artifact> artifacts(Digest key, ActionManifest m) {
    return artifacts(key, m, null);
  }

  /** {@link #artifacts(Digest, ActionManifest)}, consulting {@code slot} (or null) first. */
  public List<dev.buildnet.api.build.Artifact> artifacts(Digest key, ActionManifest m, Slot slot) {
    Known known = slot == null ? null : slot.known;
    if (known == null || known.manifest != m || known.owner != this || known.forgotten) {
      known = recent.get(key);
    }
    return known != null && known.manifest == m ? known.artifacts : null;
  }

  public void record(Digest key, ActionManifest manifest) {
    pushShared(manifest);
    try {
      state.set(PREFIX + key, json.writeValueAsBytes(manifest));
      remember(key, manifest);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot encode the manifest of " + manifest.target(), e);
    }
  }

  /** Forgets {@code key}. */
  public void remove(Digest key) {
    Known known = recent.remove(key);
    if (known != null) {
      known.forgotten = true;
    }
    state.delete(PREFIX + key);
  }

  /** Every key with a record. */
  public List<String> keys() {
    return state.keys(PREFIX).stream().map(k -> k.substring(PREFIX.length())).toList();
  }

  /** The record for {@code key} without checking its blobs (for gc). */
  Optional<ActionManifest> peek(String key) {
    return state.get(PREFIX + key).flatMap(raw -> parse(key, raw));
  }

  /**
   * Removes every record that names a blob no longer stored; returns how many were removed.
   */
  public int pruneDangling() {
    forgetAll();
    int removed = 0;
    for (String key : keys()) {
      Optional<ActionManifest> m = peek(key);
      if (m.isEmpty() || !m.get().blobs().stream().allMatch(this::presentAnywhere)) {
        state.delete(PREFIX + key);
        removed++;
      }
    }
    return removed;
  }

  private Optional<ActionManifest> parse(Object key, byte[] raw) {
    try {
      return Optional.of(ActionRecordReader.read(raw));
    } catch (java.io.IOException e) {
      LOG.warn(
          "dropping unreadable action cache record {}: {} ({})",
          key,
          e.getMessage(),
          new String(raw, 0, Math.min(raw.length, 80), StandardCharsets.UTF_8));
      state.delete(PREFIX + key);
      return Optional.empty();
    }
  }
}
