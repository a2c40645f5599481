package dev.buildnet.internal.protocol;

import dev.buildnet.api.transport.ErrorCode;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildnet.api.transport.Message;

import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/** Every message type survives encode then decode, for random payloads within the rules. */
class CodecPropertiesTest {
  private final FrameCodec codec = FrameCodec.withDefaults();

  @Property(tries = 1500)
  void encodeThenDecode_givesTheSameMessageAndBytes(@ForAll("messages") Message m) {
    byte[] frame = codec.encode(m);
    Message back = codec.decode(frame);
    assertTrue(JsonForm.deepEquals(m, back), () -> m + " came back as " + back);
    assertArrayEquals(frame, codec.encode(back));
  }

  @Property(tries = 300)
  void everyPrefixOfAFrame_isRejectedAsTruncated(@ForAll("messages") Message m) {
    byte[] frame = codec.encode(m);
    for (int cut : new int[] {0, 3, frame.length / 2, frame.length - 1}) {
      byte[] part = java.util.Arrays.copyOf(frame, cut);
      try {
        codec.decode(part);
        throw new AssertionError("a " + cut + "-byte prefix decoded");
      } catch (ProtocolException expected) {
        assertTrue(expected.code() == ErrorCode.BAD_FRAME, expected.getMessage());
      }
    }
  }

  @Provide
  Arbitrary<Message> messages() {
    return MessageArbitraries.messages();
  }
}
