package dev.buildnet.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** The bounded memory of verified packed entries, without files. */
class PackMemoTest {
  private static final PackStore.Segment SEG = new PackStore.Segment(0, Path.of("0.seg"), null, 0);

  private static long nextOffset;

  /** A record of {@code size} data bytes at a location of its own. */
  private static PackStore.Loc loc(int size) {
    long off = nextOffset;
    nextOffset += size + 100;
    return new PackStore.Loc(SEG, off, size + 100, size, 0, "ns", "k" + off, null);
  }

  @Test
  void pastTheBound_theOldestKeptAreLetGo() {
    PackMemo memo = new PackMemo(3000);
    PackStore.Loc[] locs = {loc(1000), loc(1000), loc(1000), loc(1000)};
    for (PackStore.Loc l : locs) {
      memo.keep(l, new byte[1000]);
    }
    assertNull(memo.get(locs[0]), "the oldest is let go");
    assertNotNull(memo.get(locs[1]));
    assertNotNull(memo.get(locs[3]));
    assertEquals(3000, memo.bytes());
  }

  @Test
  void aRecordKeptTwice_isCountedOnce_andKeepsTheFirstArray() {
    PackMemo memo = new PackMemo(10_000);
    PackStore.Loc l = loc(100);
    byte[] first = new byte[100];
    memo.keep(l, first);
    memo.keep(l, new byte[100]);
    assertSame(first, memo.get(l));
    assertEquals(100, memo.bytes());
  }

  @Test
  void anEntryLargerThanTheBound_isNotKept() {
    PackMemo memo = new PackMemo(500);
    PackStore.Loc l = loc(600);
    memo.keep(l, new byte[600]);
    assertNull(memo.get(l));
    assertEquals(0, memo.bytes());
  }

  @Test
  void aForgottenRecord_staysCountedUntilLetGo_soTheBoundHolds() {
    PackMemo memo = new PackMemo(2000);
    PackStore.Loc a = loc(1000);
    PackStore.Loc b = loc(1000);
    memo.keep(a, new byte[1000]);
    memo.forget(a);
    memo.keep(a, new byte[1000]); // read and verified again: kept again
    memo.keep(b, new byte[1000]);
    assertEquals(2000, memo.bytes());
    assertNull(memo.get(a), "let go: the bound counts both keeps of it");
    assertNotNull(memo.get(b));
  }
}
