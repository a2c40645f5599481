package dev.buildnet.internal.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.buildnet.api.transport.Message;
import dev.buildnet.api.transport.MessageType;
import dev.buildnet.internal.protocol.Payloads.TargetRun;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.msgpack.value.ValueFactory;

/**
 * The decoder reuses one unpacker, a scratch array and a cache of recent strings per thread:
 * every frame still decodes to exactly what was sent, whatever came before it on the thread.
 */
class DecoderReuseTest {
  private final FrameCodec codec = FrameCodec.withDefaults();

  private byte[] targetRun(String build, String target, List<String> argv, String cwd) {
    TargetRun run = new TargetRun(build, target, 1, argv, cwd, Map.of(), List.of(), List.of(),
        null, null);
    return codec.encode(new Message(1, MessageType.TARGET_RUN, "m-" + target.length(), 0, "jvm", run));
  }

  @Test
  void manyDistinctShortStrings_decodeToThemselves_onFirstSightAndAgain() {
    // Far more names than the cache has entries: slots are shared and overwritten.
    List<byte[]> frames = new ArrayList<>();
    List<String> names = new ArrayList<>();
    for (int i = 0; i < 5_000; i++) {
      String name = "t" + i;
      names.add(name);
      frames.add(targetRun("b-" + (i % 7), name, List.of("cmd", name, "x" + (i * 31)), ""));
    }
    for (int round = 0; round < 2; round++) {
      for (int i = 0; i < frames.size(); i++) {
        TargetRun run = (TargetRun) codec.decode(frames.get(i)).payload();
        assertEquals(names.get(i), run.target());
        assertEquals("b-" + (i % 7), run.buildId());
        assertEquals(List.of("cmd", names.get(i), "x" + (i * 31)), run.argv());
      }
    }
  }

  @Test
  void longAndNonAsciiStrings_decodeToThemselves() {
    String longAscii = "a".repeat(5_000);
    String shortUtf8 = "caf\u00e9 \u20ac";
    String longUtf8 = "\u00e9".repeat(3_000);
    TargetRun run = (TargetRun) codec.decode(
        targetRun(shortUtf8, longAscii, List.of(longUtf8, shortUtf8, "plain"), longUtf8)).payload();
    assertEquals(shortUtf8, run.buildId());
    assertEquals(longAscii, run.target());
    assertEquals(List.of(longUtf8, shortUtf8, "plain"), run.argv());
    assertEquals(longUtf8, run.cwd());
  }

  @Test
  void anUnknownPayloadKeyLongerThanTheScratchArray_isSkipped() throws Exception {
    byte[] frame = withExtraPayloadKey(targetRun("b-1", "lib", List.of("make"), ""),
        "k".repeat(3_000));
    TargetRun run = (TargetRun) codec.decode(frame).payload();
    assertEquals("lib", run.target());
    assertEquals(List.of("make"), run.argv());
  }

  @Test
  void aRejectedFrame_leavesNothingBehind_forTheNextOnTheSameThread() {
    byte[] good = targetRun("b-1", "lib", List.of("make"), "");
    byte[] truncated = Arrays.copyOf(good, good.length - 3);
    truncated[3] -= 3; // a prefix that matches, so the body itself runs short
    assertThrows(ProtocolException.class, () -> codec.decode(truncated));
    assertEquals("lib", ((TargetRun) codec.decode(good).payload()).target());
  }

  /** {@code frame} with one more payload field, {@code key}, that no schema knows. */
  private static byte[] withExtraPayloadKey(byte[] frame, String key) throws Exception {
    return FrameEdits.withPayloadField(frame, key, absent -> ValueFactory.newString("value"));
  }
}
