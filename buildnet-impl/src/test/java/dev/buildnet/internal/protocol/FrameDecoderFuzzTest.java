package dev.buildnet.internal.protocol;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.buildnet.api.transport.Message;
import java.io.ByteArrayInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.util.Arrays;

/**
 * Fuzzes the frame decoder: any bytes either decode to a message that re-encodes to the same
 * frame-sized thing and decodes again to the same meaning, or are rejected with a {@link
 * ProtocolException}; nothing else may escape. Without JAZZER_FUZZ it replays the saved inputs
 * in {@code FrameDecoderFuzzTestInputs/decode/} (golden and malformed frames).
 */
class FrameDecoderFuzzTest {
  private final FrameCodec codec = FrameCodec.withMaxFrameBytes(1 << 20);

  @FuzzTest(maxDuration = "5m")
  void decode(byte[] input) {
    Message m;
    try {
      m = codec.decode(input);
    } catch (ProtocolException expected) {
      return;
    }
    byte[] again = codec.encode(m);
    Message back = codec.decode(again);
    if (!JsonForm.deepEquals(m, back) || !Arrays.equals(again, codec.encode(back))) {
      throw new AssertionError("re-encoding changed " + m);
    }
  }

  @FuzzTest(maxDuration = "2m")
  void readFrames(byte[] input) throws IOException {
    FrameReader reader = new FrameReader(new ByteArrayInputStream(input), codec);
    try {
      for (byte[] body; (body = reader.next()) != null; ) {
        try {
          codec.decodeBody(body);
        } catch (ProtocolException expected) {
          // the next frame is still well delimited
        }
      }
    } catch (ProtocolException | EOFException expected) {
      // oversized prefix or truncated stream
    }
  }
}
