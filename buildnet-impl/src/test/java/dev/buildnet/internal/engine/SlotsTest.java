package dev.buildnet.internal.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class SlotsTest {
  @Test
  void theMemoryTotalIsAskedForOnlyOnceATargetNeedsMemory_andThenOnce() {
    AtomicInteger asked = new AtomicInteger();
    Slots slots = new Slots(2, () -> {
      asked.incrementAndGet();
      return 1_000;
    });
    assertTrue(slots.couldFit(1, 0));
    assertNull(slots.impossible(2, 0));
    assertTrue(slots.tryClaim(1, 0));
    assertTrue(slots.tryClaim(1, 0));
    assertFalse(slots.tryClaim(1, 0), "both CPU slots are taken");
    slots.release(1, 0);
    slots.release(1, 0);
    assertEquals(0, asked.get(), "no target needed memory");

    assertTrue(slots.tryClaim(1, 600));
    assertFalse(slots.tryClaim(1, 600), "1,200 MB do not fit in 1,000");
    assertTrue(slots.tryClaim(1, 400));
    slots.release(1, 400);
    assertTrue(slots.tryClaim(1, 0), "a need without memory still fits next to 600 MB claimed");
    assertFalse(slots.couldFit(1, 1_001));
    assertEquals("needs 1001 MB of memory but only 1000 MB are configured",
        slots.impossible(1, 1_001));
    assertEquals(1, asked.get(), "the total is read once");
  }
}
