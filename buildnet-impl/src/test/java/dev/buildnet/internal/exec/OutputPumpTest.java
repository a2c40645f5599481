package dev.buildnet.internal.exec;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildnet.api.exec.OutputListener;
import java.io.ByteArrayInputStream;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class OutputPumpTest {
  private final List<String> lines = new ArrayList<>();

  private OutputPump pump(byte[] input, int cap, OutputListener listener) {
    OutputPump pump =
        new OutputPump(
            new ByteArrayInputStream(input), OutputListener.Stream.STDOUT, listener, cap, "test");
    pump.run();
    assertTrue(pump.done().isDone());
    return pump;
  }

  private OutputPump pump(String input, int cap) {
    return pump(input.getBytes(UTF_8), cap, (s, line) -> lines.add(line));
  }

  @Test
  void lines_loseTheirTerminators_crlfIncluded() {
    pump("a\r\nb\n\nc", 100);

    assertEquals(List.of("a", "b", "", "c"), lines);
  }

  @Test
  void capture_isExactBytes_evenWhenLinesAreSplit() {
    OutputPump p = pump("héllo\r\nwörld\n", 100);

    assertArrayEquals("héllo\r\nwörld\n".getBytes(UTF_8), p.captured());
    assertFalse(p.truncated());
  }

  @Test
  void capture_atExactlyTheCap_isNotTruncated() {
    OutputPump p = pump("12345", 5);

    assertEquals("12345", new String(p.captured(), UTF_8));
    assertFalse(p.truncated());
  }

  @Test
  void capture_zeroCap_keepsNothingButStillDeliversLines() {
    OutputPump p = pump("x\ny\n", 0);

    assertEquals(0, p.captured().length);
    assertTrue(p.truncated());
    assertEquals(List.of("x", "y"), lines);
  }

  @Test
  void longLine_arrivesInPieces_neverSplittingACharacter() {
    // 'é' is two bytes; an odd ASCII prefix puts a character across every 64 KiB boundary.
    String text = "a" + "é".repeat(OutputPump.MAX_LINE_BYTES);
    pump(text + "\nnext\n", 0);

    assertTrue(lines.size() > 2, "split into pieces: " + lines.size());
    assertEquals(text, String.join("", lines.subList(0, lines.size() - 1)));
    assertEquals("next", lines.get(lines.size() - 1));
    for (String piece : lines) {
      assertFalse(piece.contains("\uFFFD"), "a piece cut a character in two");
      assertTrue(piece.getBytes(UTF_8).length <= OutputPump.MAX_LINE_BYTES);
    }
  }

  @Test
  void failingListener_isDroppedButTheStreamIsStillReadToTheEnd() {
    List<String> got = new ArrayList<>();
    OutputPump p =
        pump(
            "one\ntwo\nthree\n".getBytes(UTF_8),
            100,
            (s, line) -> {
              got.add(line);
              throw new IllegalStateException("listener bug");
            });

    assertEquals(List.of("one"), got);
    assertEquals("one\ntwo\nthree\n", new String(p.captured(), UTF_8));
  }

  @Test
  void capture_pastTheCap_keepsHeadAndTailAroundAMarker() {
    OutputPump p = pump("0123456789abcdefghij", 10);

    assertEquals("01234\n[buildnet: 10 bytes omitted]\nfghij", new String(p.captured(), UTF_8));
    assertTrue(p.truncated());
    assertEquals(20, p.totalBytes());
  }

  @Test
  void capture_neverCutsACharacterAtTheHeadOrTheTail() {
    // "é" is two bytes: the cap's halves fall inside characters on both sides.
    OutputPump p = pump("éé" + "x".repeat(50) + "éé", 6);

    String kept = new String(p.captured(), UTF_8);
    assertFalse(kept.contains("\uFFFD"), kept);
    assertEquals("é\n[buildnet: 54 bytes omitted]\né", kept);
  }

  @Test
  void capture_tailWrapsAroundManySmallReads() {
    StringBuilder all = new StringBuilder();
    for (int i = 0; i < 1000; i++) {
      all.append(i).append('\n');
    }
    OutputPump p =
        new OutputPump(
            new java.io.ByteArrayInputStream(all.toString().getBytes(UTF_8)) {
              @Override
              public synchronized int read(byte[] b, int off, int len) {
                return super.read(b, off, Math.min(len, 7)); // reads that wrap the ring
              }
            },
            OutputListener.Stream.STDOUT, (s, l) -> {}, 40, "test");
    p.run();

    String text = all.toString();
    assertEquals(text.substring(0, 20) + "\n[buildnet: " + (text.length() - 40)
        + " bytes omitted]\n" + text.substring(text.length() - 20), new String(p.captured(), UTF_8));
  }

  @Test
  void aListenerError_failsThePumpButTheStreamIsStillReadToTheEnd() {
    int[] reads = {0};
    byte[] input = "one\ntwo\nthree\n".repeat(10_000).getBytes(UTF_8);
    OutputPump p =
        new OutputPump(
            new java.io.ByteArrayInputStream(input) {
              @Override
              public synchronized int read(byte[] b, int off, int len) {
                int n = super.read(b, off, len);
                if (n >= 0) {
                  reads[0] += n;
                }
                return n;
              }
            },
            OutputListener.Stream.STDOUT,
            (s, line) -> {
              throw new OutOfMemoryError("induced");
            },
            100,
            "test");
    p.run();

    assertTrue(p.done().isDone());
    assertTrue(p.failed().isDone());
    assertEquals("induced", p.failure().getMessage());
    assertEquals(input.length, reads[0], "drained to the end");
    assertEquals(input.length, p.totalBytes());
  }
}
