package dev.buildnet.internal.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildnet.api.transport.Message;
import dev.buildnet.api.transport.MessageType;
import dev.buildnet.internal.protocol.Payloads.BuildProgress;
import dev.buildnet.internal.protocol.Payloads.Output;
import dev.buildnet.internal.protocol.Payloads.TargetRun;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.msgpack.value.Value;
import org.msgpack.value.ValueFactory;

/**
 * A rejected frame's message names the exact field that is wrong, down to the element or map
 * entry; the decoder builds those names only when it rejects a frame.
 */
class DecodeErrorMessagesTest {
  private final FrameCodec codec = FrameCodec.withDefaults();

  private byte[] validTargetRun() {
    Map<String, String> env = new LinkedHashMap<>();
    env.put("PATH", "/usr/bin");
    TargetRun run = new TargetRun("b-1", "lib", 1, List.of("node", "build.js"), "lib", env,
        List.of(new Output("lib/a.js", "xxh64:0011223344556677", 3, null)), List.of("lib/dist"),
        null, null);
    return codec.encode(new Message(1, MessageType.TARGET_RUN, "m-1", 0, "jvm", run));
  }

  /** The frame with payload field {@code field} replaced by what {@code change} makes of it. */
  private byte[] withPayloadField(String field, java.util.function.UnaryOperator<Value> change)
      throws Exception {
    return FrameEdits.withPayloadField(validTargetRun(), field, change);
  }


  private String rejection(byte[] frame) {
    return assertThrows(ProtocolException.class, () -> codec.decode(frame)).getMessage();
  }

  @Test
  void aWrongArrayElementIsNamedByFieldAndIndex() throws Exception {
    byte[] frame = withPayloadField("argv", v -> {
      List<Value> argv = new ArrayList<>(v.asArrayValue().list());
      argv.set(1, ValueFactory.newInteger(7));
      return ValueFactory.newArray(argv);
    });
    assertEquals("TARGET_RUN payload field 'argv' element 1 must be str but was int",
        rejection(frame));
  }

  @Test
  void aWrongMapValueIsNamedByFieldAndKey() throws Exception {
    byte[] frame = withPayloadField("env", v -> ValueFactory.newMap(
        Map.of(ValueFactory.newString("PATH"), ValueFactory.newBoolean(true))));
    assertEquals("TARGET_RUN payload field 'env' value of 'PATH' must be str but was bool",
        rejection(frame));
  }

  @Test
  void aWrongFieldOfANestedRecordIsNamedByItsPath() throws Exception {
    byte[] frame = withPayloadField("inputs", v -> {
      Map<Value, Value> output = new LinkedHashMap<>(v.asArrayValue().get(0).asMapValue().map());
      output.put(ValueFactory.newString("size"), ValueFactory.newString("three"));
      return ValueFactory.newArray(Arrays.asList(ValueFactory.newMap(output)));
    });
    assertEquals(
        "TARGET_RUN payload field 'inputs' element 0 field 'size' must be int but was str",
        rejection(frame));
  }

  @Test
  void aRejectionQuotingAHugeValue_isCutToTheErrorBound_soTheErrorFitsAFrame() throws Exception {
    byte[] frame = codec.encode(new Message(1, MessageType.BUILD_PROGRESS, "m-1", 0, "jvm",
        new BuildProgress("b-1", 0, 1, "lib", "log", "hi", "stdout")));
    // The rule's message quotes the value: 6 MiB of it would go back to the peer in the ERROR
    // and into the receiver's log line.
    byte[] huge = FrameEdits.withPayloadField(frame, "stream",
        v -> ValueFactory.newString("s".repeat(6 << 20)));

    String message = rejection(huge);

    String head = message.substring(0, Math.min(200, message.length()));
    assertTrue(message.length() <= ErrorText.MAX_CHARS, message.length() + " characters: " + head);
    assertTrue(message.startsWith("BUILD_PROGRESS payload: stream must be 'stdout' or 'stderr'"),
        head);
    assertTrue(message.matches("(?s).*…\\(cut: \\d+ characters\\)"), head);
  }
}
