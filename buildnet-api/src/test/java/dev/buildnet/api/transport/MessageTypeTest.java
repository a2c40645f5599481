package dev.buildnet.api.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class MessageTypeTest {

  @Test
  void everyCodeRoundTripsAndIsUnique() {
    Set<Integer> seen = new HashSet<>();
    for (MessageType t : MessageType.values()) {
      assertTrue(seen.add(t.code()), "duplicate code " + t.code());
      assertEquals(t, MessageType.fromCode(t.code()).orElseThrow());
    }
  }

  @Test
  void unknownAndOutOfRangeCodesAreEmpty() {
    assertTrue(MessageType.fromCode(0x7f).isEmpty());
    assertTrue(MessageType.fromCode(-1).isEmpty());
    assertTrue(MessageType.fromCode(4096).isEmpty());
  }

  @Test
  void codesMatchThePlan() {
    assertEquals(0x01, MessageType.HELLO.code());
    assertEquals(0x24, MessageType.BUILD_FAILED.code());
    assertEquals(0x42, MessageType.LOCK_RESPONSE.code());
    assertEquals(0x52, MessageType.RESOURCE_STATUS.code());
  }
}
