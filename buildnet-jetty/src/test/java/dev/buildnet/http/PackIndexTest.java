package dev.buildnet.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The pack's off-heap index against a {@link HashMap} doing the same: puts, replacements,
 * removals at a location, whole segments removed and the table growing, with hashes chosen to
 * fall on few home slots so that runs of slots form and deletions must shift entries back.
 */
class PackIndexTest {
  /** Hashes whose home slots (the low bits of h0) are among 16 values, whatever the table size. */
  private static PackIndex.Hash crowded(Random r) {
    return new PackIndex.Hash(r.nextInt(16), r.nextLong());
  }

  @Test
  void randomOperations_leaveTheSameEntriesAsAMap_evenWhenHashesCrowdFewSlots() {
    for (long seed = 1; seed <= 20; seed++) {
      Random r = new Random(seed);
      PackIndex index = new PackIndex();
      Map<PackIndex.Hash, PackIndex.Entry> model = new HashMap<>();
      List<PackIndex.Hash> known = new ArrayList<>();
      for (int op = 0; op < 4000; op++) {
        int what = r.nextInt(10);
        if (what < 6 || known.isEmpty()) {
          PackIndex.Hash h = known.isEmpty() || r.nextBoolean() ? crowded(r)
              : known.get(r.nextInt(known.size()));
          PackIndex.Entry e = new PackIndex.Entry(r.nextInt(8), r.nextInt(1 << 20),
              1 + r.nextInt(5000), r.nextInt(1000), r.nextLong());
          assertEquals(model.put(h, e), index.put(h, e.seg(), e.off(), e.len(), e.dataLen(),
              e.lastRead()), "seed " + seed + " op " + op);
          known.add(h);
        } else if (what < 9) {
          PackIndex.Hash h = known.get(r.nextInt(known.size()));
          PackIndex.Entry e = model.get(h);
          boolean atItsLocation = e != null && r.nextBoolean();
          int seg = atItsLocation ? e.seg() : 99;
          int off = atItsLocation ? e.off() : -1;
          assertEquals(atItsLocation, index.remove(h, seg, off), "seed " + seed + " op " + op);
          if (atItsLocation) {
            model.remove(h);
          }
        } else {
          int seg = r.nextInt(8);
          int expected = (int) model.values().stream().filter(e -> e.seg() == seg).count();
          assertEquals(expected, index.removeSegment(seg), "seed " + seed + " op " + op);
          model.values().removeIf(e -> e.seg() == seg);
        }
        if (op % 97 == 0) {
          assertSame(model, known, index, "seed " + seed + " op " + op);
        }
      }
      assertSame(model, known, index, "seed " + seed + " at the end");
    }
  }

  private static void assertSame(Map<PackIndex.Hash, PackIndex.Entry> model,
      List<PackIndex.Hash> known, PackIndex index, String when) {
    assertEquals(model.size(), index.size(), when);
    for (PackIndex.Hash h : known) {
      assertEquals(model.get(h), index.get(h), when);
    }
  }

  @Test
  void touch_setsTheLastReadOnlyWhileTheEntryIsAtThatLocation() {
    PackIndex index = new PackIndex();
    PackIndex.Hash h = index.hash("gradle", "k");
    index.put(h, 1, 100, 200, 50, 0);
    index.touch(h, 1, 999, 42); // a stale location: the entry moved
    assertEquals(0, index.get(h).lastRead());
    index.touch(h, 1, 100, 42);
    assertEquals(42, index.get(h).lastRead());
  }

  @Test
  void growing_keepsEveryEntry_andTakesAFewDozenBytesAnEntry() {
    PackIndex index = new PackIndex();
    int n = 100_000;
    for (int i = 0; i < n; i++) {
      index.put(index.hash("cas", Integer.toString(i)), i % 7, i, 100 + i, i, i);
    }
    assertEquals(n, index.size());
    for (int i = 0; i < n; i++) {
      PackIndex.Entry e = index.get(index.hash("cas", Integer.toString(i)));
      assertEquals(new PackIndex.Entry(i % 7, i, 100 + i, i, i), e);
    }
    assertNull(index.get(index.hash("cas", "absent")));
    assertNull(index.get(index.hash("ac", "0")), "namespaces are apart");
    assertTrue(index.tableBytes() <= 2L * n * 4 / 3 * PackIndex.SLOT,
        index.tableBytes() + " bytes for " + n + " entries");
    assertFalse(index.remove(index.hash("cas", "0"), 0, 1), "not at that location");
  }
}
