package dev.buildnet.internal.cache;

import dev.buildnet.api.blob.BlobException;
import dev.buildnet.api.blob.BlobStore;
import dev.buildnet.api.hash.Digest;
import dev.buildnet.api.hash.HashProvider;
import java.io.IOException;
import java.io.InputStream;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The local {@link DiskBlobStore} in front of a shared {@link BlobStore} (e.g. Redis, an HTTP
 * cache, or the master over the wire): reads go to the local tier first and a local miss is
 * filled from the shared one, verified on the way in (read-through); writes go to the local tier
 * and then to the shared one (write-through). The {@link ActionCache} uses it to keep the blobs of
 * its entries in both tiers.
 *
 * <p>Bytes from the shared tier are trusted no more than any other: a blob it holds corrupt or
 * incomplete is a miss (and the shared store drops it where it can), never a wrong local blob. An
 * unreachable shared tier throws, as the SPI says; it is never taken for a miss.
 *
 * <p>Thread-safe as its tiers are. {@link #close} does not close the tiers: their owner does.
 *
 * @since 0.1
 */
public final class TieredBlobStore implements BlobStore {
  private static final Logger LOG = LoggerFactory.getLogger(TieredBlobStore.class);

  private final DiskBlobStore local;
  private final BlobStore shared;

  /**
   * @throws IllegalArgumentException if the tiers hold digests of different algorithms
   */
  public TieredBlobStore(DiskBlobStore local, BlobStore shared) {
    this.local = Objects.requireNonNull(local, "local");
    this.shared = Objects.requireNonNull(shared, "shared");
    if (!local.hashes().algorithm().equals(shared.hashes().algorithm())) {
      throw new IllegalArgumentException("the shared blob store " + shared.name() + " holds "
          + shared.hashes().algorithm() + " blobs but the local " + local.name() + " holds "
          + local.hashes().algorithm() + " blobs; configure both with the same hash");
    }
  }

  public DiskBlobStore local() {
    return local;
  }

  public BlobStore shared() {
    return shared;
  }

  @Override
  public String name() {
    return local.name() + " in front of " + shared.name();
  }

  @Override
  public HashProvider hashes() {
    return local.hashes();
  }

  /** In either tier, without fetching it. */
  @Override
  public boolean has(Digest digest) throws IOException {
    return local.has(digest) || shared.has(digest);
  }

  @Override
  public OptionalLong size(Digest digest) throws IOException {
    OptionalLong here = local.size(digest);
    return here.isPresent() ? here : shared.size(digest);
  }

  /** From the local tier, filled from the shared one first on a local miss. */
  @Override
  public Optional<InputStream> open(Digest digest) throws IOException {
    if (!fill(digest, -1)) {
      return Optional.empty();
    }
    return local.open(digest);
  }

  /** Into the local tier, then into the shared one (which may decline it: still true). */
  @Override
  public boolean put(Digest expected, InputStream in) throws IOException {
    local.put(expected, in);
    push(expected);
    return true;
  }

  @Override
  public Digest put(InputStream in) throws IOException {
    Digest digest = local.put(in);
    push(digest);
    return digest;
  }

  /**
   * Makes sure the local tier holds the blob: true if it does ({@code size} bytes of it, unless
   * {@code size} is negative) or it was fetched from the shared tier now and verified; false if
   * neither tier has it intact. A local blob of the wrong size is moved aside first.
   */
  public boolean fill(Digest digest, long size) throws IOException {
    boolean here = size < 0 ? local.contains(digest) : local.contains(digest, size);
    if (here) {
      return true;
    }
    Optional<InputStream> opened = shared.open(digest);
    if (opened.isEmpty()) {
      return false;
    }
    try (InputStream in = opened.get()) {
      local.putVerified(in, digest);
    } catch (BlobException e) {
      if (e.reason() != BlobException.Reason.CORRUPT
          && e.reason() != BlobException.Reason.DIGEST_MISMATCH) {
        throw e;
      }
      LOG.info("{}: blob {} from {} is unusable ({}); treating it as a miss", local.name(), digest,
          shared.name(), e.getMessage());
      return false;
    }
    return size < 0 || local.contains(digest, size);
  }

  /**
   * Writes a blob the local tier holds through to the shared tier, unless that has it already.
   *
   * @return true if the shared tier holds it afterwards; false if it declined it (too large) or
   *     the local tier lacks it or holds it corrupt (then moved aside: it is never shared)
   */
  public boolean push(Digest digest) throws IOException {
    OptionalLong size = local.size(digest);
    if (size.isEmpty() || !shared.accepts(size.getAsLong())) {
      return false;
    }
    if (shared.has(digest)) {
      return true;
    }
    Optional<InputStream> opened = local.open(digest);
    if (opened.isEmpty()) {
      return false;
    }
    try (InputStream in = opened.get()) {
      return shared.put(digest, in);
    } catch (IOException | RuntimeException e) {
      // The shared store may wrap what our stream threw (an HTTP body publisher does).
      for (Throwable t = e; t != null; t = t.getCause()) {
        if (t instanceof BlobException corrupt
            && corrupt.reason() == BlobException.Reason.CORRUPT) {
          LOG.warn("{}: blob {} is corrupt locally; not sharing it ({})", local.name(), digest,
              corrupt.getMessage());
          return false;
        }
      }
      throw e;
    }
  }

  /** Nothing to release: the tiers stay open (their owner closes them). */
  @Override
  public void close() {
    // A view over stores it does not own.
  }
}
