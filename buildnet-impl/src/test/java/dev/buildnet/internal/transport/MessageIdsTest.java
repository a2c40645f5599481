package dev.buildnet.internal.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import org.junit.jupiter.api.Test;

/** Message ids are spelled as they were before they had a function of their own. */
class MessageIdsTest {
  @Test
  void everyIdUpToAMillionIsSpelledAsLongToStringInBase36() {
    for (long n = 0; n <= 1_000_000; n++) {
      if (!MessageIds.base36(n).equals(Long.toString(n, 36))) {
        assertEquals(Long.toString(n, 36), MessageIds.base36(n), "id " + n);
      }
    }
  }

  @Test
  void theDigitCountChangesWhereLongToStringsDoes() {
    long power = 1;
    for (int digits = 1; digits <= 12; digits++) {
      power *= 36;
      for (long n : new long[] {power - 1, power, power + 1}) {
        assertEquals(Long.toString(n, 36), MessageIds.base36(n), "id " + n);
      }
    }
    assertEquals(Long.toString(Long.MAX_VALUE, 36), MessageIds.base36(Long.MAX_VALUE));
    assertEquals(Long.toString(Long.MIN_VALUE, 36), MessageIds.base36(Long.MIN_VALUE));
    assertEquals(Long.toString(-37, 36), MessageIds.base36(-37));
  }

  @Property
  void anyLongIsSpelledAsLongToStringInBase36(@ForAll long n) {
    assertEquals(Long.toString(n, 36), MessageIds.base36(n));
  }
}
