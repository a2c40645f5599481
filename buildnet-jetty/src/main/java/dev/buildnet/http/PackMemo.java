package dev.buildnet.http;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The bytes of packed entries that were read and matched their SHA-256, kept so that the next read
 * of the same record compares the disk's bytes with them instead of hashing again: a comparison
 * costs a few dozen nanoseconds per KiB, a SHA-256 about ten times that, and the kept array is
 * sent as it is, so a hit allocates no copy. The disk is still read on every hit: bytes that
 * differ from the kept ones mean the record was damaged since it was verified, and the caller
 * drops it exactly as when the hash fails, so what a client receives and when a damaged entry
 * is noticed are the same as without this.
 *
 * <p>Bounded by bytes: the oldest kept entries are let go first (insertion order; a hot entry
 * let go is verified and kept again at its next read). Records are immutable and a location is never
 * reused, so an entry is kept by its record's location, which a new value or a move changes:
 * nothing here can go stale, at worst it is kept until the bound pushes it out. Thread-safe, lock-free.
 */
final class PackMemo {
  private final long maxBytes;
  private final AtomicLong bytes = new AtomicLong();
  /** Kept data by record location ({@link PackStore.Loc#where}). */
  private final ConcurrentHashMap<Long, byte[]> kept = new ConcurrentHashMap<>();

  /** A keep, in order: counted once in {@link #bytes}, by its data length. */
  private record Kept(long where, int length) {}

  /** Keeps, oldest first. */
  private final ConcurrentLinkedQueue<Kept> order = new ConcurrentLinkedQueue<>();

  /** @param maxBytes the most bytes kept (0: keep nothing) */
  PackMemo(long maxBytes) {
    this.maxBytes = maxBytes;
  }

  /** The default bound: a sixteenth of the heap, at most 32 MiB. */
  static long defaultBound() {
    return Math.min(32L << 20, Runtime.getRuntime().maxMemory() / 16);
  }

  /** The verified bytes kept for this record, or null. The array must not be written. */
  byte[] get(PackStore.Loc loc) {
    return kept.get(loc.where());
  }

  /** Keeps {@code data}, which matched {@code loc}'s SHA-256 just now. */
  void keep(PackStore.Loc loc, byte[] data) {
    if (data.length > maxBytes || kept.putIfAbsent(loc.where(), data) != null) {
      return; // too big to keep, or kept by another reader already
    }
    order.add(new Kept(loc.where(), loc.dataLen));
    if (bytes.addAndGet(loc.dataLen) > maxBytes) {
      while (bytes.get() > maxBytes) {
        Kept oldest = order.poll();
        if (oldest == null) {
          break;
        }
        kept.remove(oldest.where);
        bytes.addAndGet(-oldest.length);
      }
    }
  }

  /** Forgets what is kept for a record found damaged (its bytes stay counted until let go). */
  void forget(PackStore.Loc loc) {
    kept.remove(loc.where());
  }

  /** Bytes kept now, for tests. */
  long bytes() {
    return bytes.get();
  }
}
