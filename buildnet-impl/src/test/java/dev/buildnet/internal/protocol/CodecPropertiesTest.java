package dev.buildnet.internal.protocol;

import dev.buildnet.api.transport.ErrorCode;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildnet.api.transport.Message;
import dev.buildnet.api.transport.Payload;

import net.jqwik.api.Arbitrary;
import net.jqwik.api.Example;
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

  @Property(tries = 500)
  void encodedSize_isTheLengthOfTheEncodedFrame(@ForAll("messages") Message m) {
    assertEquals(codec.encode(m).length, FrameCodec.encodedSize(m), () -> m.toString());
  }

  @Example
  void encodedSize_countsBinaryFieldsLargerThanThePackersBuffer() {
    Payload set = new Payloads.StateSet("k", new byte[(1 << 20) + 7], null);
    Message m = new Message(Protocol.MAJOR, set.type(), "id-1", 1L, Protocol.RUNTIME, set);
    assertEquals(codec.encode(m).length, FrameCodec.encodedSize(m));
    assertEquals(codec.encode(m).length, FrameCodec.encodedSize(m), "the sizer is reusable");
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
