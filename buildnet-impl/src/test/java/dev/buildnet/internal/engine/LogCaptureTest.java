package dev.buildnet.internal.engine;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** A remote target's stored log is kept like a local one's: head and tail within the cap. */
class LogCaptureTest {
  @Test
  void whatFits_isKeptWhole() {
    LogCapture c = new LogCapture(100);
    c.add("one");
    c.add("two");

    assertEquals("one\ntwo\n", new String(c.bytes(), UTF_8));
  }

  @Test
  void pastTheCap_theFirstAndTheLatestLinesAreKeptAroundAMarker() {
    LogCapture c = new LogCapture(20); // 10 bytes of head, 10 of tail; each line is 4 bytes
    for (int i = 100; i < 200; i++) {
      c.add(Integer.toString(i));
    }

    assertEquals("100\n101\n[buildnet: 384 bytes omitted]\n198\n199\n",
        new String(c.bytes(), UTF_8));
  }

  @Test
  void aLineLongerThanTheTail_isCountedNotKept() {
    LogCapture c = new LogCapture(20);
    c.add("x".repeat(30));
    c.add("end");

    assertEquals("[buildnet: 31 bytes omitted]\nend\n", new String(c.bytes(), UTF_8));
    assertTrue(!c.isEmpty());
  }
}
