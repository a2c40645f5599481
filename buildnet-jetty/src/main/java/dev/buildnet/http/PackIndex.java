package dev.buildnet.http;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.concurrent.locks.StampedLock;

/**
 * The pack's index: {@code namespace/key} to where its live record is, in an open-addressing
 * table (linear probing, backward-shift deletion) held in a direct buffer: {@value #SLOT} bytes a
 * slot, at most 3/4 of the slots used, and no object per entry. The index it replaces (a
 * {@code ConcurrentHashMap} of strings to location objects) took about 200 bytes of heap per
 * entry, all of it surviving young collections: a cache of small entries grew the heap without
 * bound (10 GiB of 1 KiB entries wanted about 2 GB) and made every collection copy and mark more.
 *
 * <p>A key is named by the first 128 bits of a SHA-256 of a random per-process salt and the
 * key: no key is kept here. The salt keeps clients from choosing keys that pile up in one run of
 * slots; a collision of two keys (about 2<sup>-128</sup> per pair) would make one a miss, never
 * serve the other's bytes, since a read checks the record's own namespace and key. The table is
 * rebuilt from the segments at every start (see {@link PackStore}), so the salt need not persist.
 *
 * <p>Thread-safe: writers take the store's append lock and then this table's write lock; readers
 * take none (an optimistic read, retried under the read lock if a writer intervened).
 */
final class PackIndex {
  /** h0 8, h1 8, segment 4, offset 4, record length 4 (0: an empty slot), data length 4, last read 8. */
  static final int SLOT = 40;
  private static final int MIN_SLOTS = 1024;

  /** One slot's values, copied out. */
  record Entry(int seg, int off, int len, int dataLen, long lastRead) {}

  /** A key's name in the table. */
  record Hash(long h0, long h1) {}

  private final byte[] salt = new byte[16];
  private final StampedLock lock = new StampedLock();
  private volatile ByteBuffer table = allocate(MIN_SLOTS);
  private int size;

  PackIndex() {
    new SecureRandom().nextBytes(salt);
  }

  private static ByteBuffer allocate(int slots) {
    return ByteBuffer.allocateDirect(slots * SLOT).order(ByteOrder.nativeOrder());
  }

  private static final ThreadLocal<MessageDigest> SHA =
      ThreadLocal.withInitial(HttpCacheStore::newSha256);

  Hash hash(String namespace, String key) {
    MessageDigest md = SHA.get();
    md.update(salt);
    md.update(namespace.getBytes(StandardCharsets.UTF_8));
    md.update((byte) '/');
    byte[] d = md.digest(key.getBytes(StandardCharsets.UTF_8));
    ByteBuffer b = ByteBuffer.wrap(d);
    return new Hash(b.getLong(), b.getLong());
  }

  private static int slots(ByteBuffer t) {
    return t.capacity() / SLOT;
  }

  private static int home(Hash h, int slots) {
    long x = h.h0 ^ (h.h0 >>> 29);
    return (int) (x & (slots - 1));
  }

  /** The slot holding {@code h} in {@code t}, or -1. Bounded even over a table being changed. */
  private static int locate(ByteBuffer t, Hash h) {
    int n = slots(t);
    int i = home(h, n);
    for (int probes = 0; probes < n; probes++) {
      int p = i * SLOT;
      if (t.getInt(p + 24) == 0) {
        return -1;
      }
      if (t.getLong(p) == h.h0 && t.getLong(p + 8) == h.h1) {
        return i;
      }
      i = (i + 1) & (n - 1);
    }
    return -1;
  }

  private static Entry entry(ByteBuffer t, int i) {
    int p = i * SLOT;
    return new Entry(t.getInt(p + 16), t.getInt(p + 20), t.getInt(p + 24), t.getInt(p + 28),
        t.getLong(p + 32));
  }

  /** The entry of {@code h}, or null. */
  Entry get(Hash h) {
    long stamp = lock.tryOptimisticRead();
    if (stamp != 0) {
      ByteBuffer t = table;
      int i = locate(t, h);
      Entry e = i < 0 ? null : entry(t, i);
      if (lock.validate(stamp)) {
        return e;
      }
    }
    stamp = lock.readLock();
    try {
      ByteBuffer t = table;
      int i = locate(t, h);
      return i < 0 ? null : entry(t, i);
    } finally {
      lock.unlockRead(stamp);
    }
  }

  /**
   * Notes a read of {@code h}'s record at {@code seg/off}, for eviction's carry-forward (nothing
   * if the entry moved meanwhile). Concurrent touches of one slot each store a whole time.
   */
  void touch(Hash h, int seg, int off, long now) {
    long stamp = lock.readLock();
    try {
      ByteBuffer t = table;
      int i = locate(t, h);
      if (i >= 0 && t.getInt(i * SLOT + 16) == seg && t.getInt(i * SLOT + 20) == off) {
        t.putLong(i * SLOT + 32, now);
      }
    } finally {
      lock.unlockRead(stamp);
    }
  }

  /** Sets {@code h}'s entry; returns the one it replaced, or null. */
  Entry put(Hash h, int seg, int off, int len, int dataLen, long lastRead) {
    if (len <= 0) {
      throw new IllegalArgumentException("a record has a length");
    }
    long stamp = lock.writeLock();
    try {
      ByteBuffer t = table;
      int i = locate(t, h);
      Entry old = null;
      if (i >= 0) {
        old = entry(t, i);
      } else {
        if ((size + 1) * 4L > slots(t) * 3L) {
          t = grow(t);
        }
        int n = slots(t);
        i = home(h, n);
        while (t.getInt(i * SLOT + 24) != 0) {
          i = (i + 1) & (n - 1);
        }
        size++;
      }
      int p = i * SLOT;
      t.putLong(p, h.h0).putLong(p + 8, h.h1).putInt(p + 16, seg).putInt(p + 20, off)
          .putInt(p + 28, dataLen).putLong(p + 32, lastRead).putInt(p + 24, len);
      return old;
    } finally {
      lock.unlockWrite(stamp);
    }
  }

  /** Removes {@code h}'s entry if it is at {@code seg/off}; whether it did. */
  boolean remove(Hash h, int seg, int off) {
    long stamp = lock.writeLock();
    try {
      ByteBuffer t = table;
      int i = locate(t, h);
      if (i < 0 || t.getInt(i * SLOT + 16) != seg || t.getInt(i * SLOT + 20) != off) {
        return false;
      }
      delete(t, i);
      return true;
    } finally {
      lock.unlockWrite(stamp);
    }
  }

  /** Removes every entry in segment {@code seg}; how many. */
  int removeSegment(int seg) {
    long stamp = lock.writeLock();
    try {
      ByteBuffer t = table;
      int removed = 0;
      int n = slots(t);
      // A deletion shifts later entries back into the freed slot: look at that slot again.
      for (int i = 0; i < n; ) {
        int p = i * SLOT;
        if (t.getInt(p + 24) != 0 && t.getInt(p + 16) == seg) {
          delete(t, i);
          removed++;
        } else {
          i++;
        }
      }
      return removed;
    } finally {
      lock.unlockWrite(stamp);
    }
  }

  int size() {
    long stamp = lock.readLock();
    try {
      return size;
    } finally {
      lock.unlockRead(stamp);
    }
  }

  /** Bytes the table takes now (off-heap). */
  long tableBytes() {
    return table.capacity();
  }

  /** Empties slot {@code i}, moving back the entries after it that belong before it. */
  private void delete(ByteBuffer t, int i) {
    int n = slots(t);
    int hole = i;
    int j = i;
    while (true) {
      j = (j + 1) & (n - 1);
      int pj = j * SLOT;
      if (t.getInt(pj + 24) == 0) {
        break;
      }
      int home = home(new Hash(t.getLong(pj), t.getLong(pj + 8)), n);
      // j's entry may move to the hole unless its home lies cyclically in (hole, j].
      boolean stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
      if (!stays) {
        for (int b = 0; b < SLOT; b += 8) {
          t.putLong(hole * SLOT + b, t.getLong(pj + b));
        }
        hole = j;
      }
    }
    int ph = hole * SLOT;
    for (int b = 0; b < SLOT; b += 8) {
      t.putLong(ph + b, 0);
    }
    size--;
  }

  /** A table twice as big with every entry of {@code t}, published before it is returned. */
  private ByteBuffer grow(ByteBuffer t) {
    int n = slots(t);
    if (n >= Integer.MAX_VALUE / SLOT / 2) {
      throw new IllegalStateException("the HTTP cache's pack index is full (" + size + " entries)");
    }
    ByteBuffer g = allocate(n * 2);
    int m = n * 2;
    for (int i = 0; i < n; i++) {
      int p = i * SLOT;
      if (t.getInt(p + 24) == 0) {
        continue;
      }
      int k = home(new Hash(t.getLong(p), t.getLong(p + 8)), m);
      while (g.getInt(k * SLOT + 24) != 0) {
        k = (k + 1) & (m - 1);
      }
      for (int b = 0; b < SLOT; b += 8) {
        g.putLong(k * SLOT + b, t.getLong(p + b));
      }
    }
    table = g;
    return g;
  }
}
