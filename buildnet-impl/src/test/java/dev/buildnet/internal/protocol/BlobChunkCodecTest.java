package dev.buildnet.internal.protocol;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.buildnet.api.transport.Message;
import dev.buildnet.internal.protocol.Payloads.BlobChunk;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** A full-size BLOB_CHUNK through the codec: its data is not kept by either side. */
class BlobChunkCodecTest {
  private final FrameCodec codec = FrameCodec.withDefaults();

  private static Message chunk(byte[] data) {
    return new Message(1, dev.buildnet.api.transport.MessageType.BLOB_CHUNK, "m-1", 42L, "jvm",
        new BlobChunk("r-1", 0, data, false, null, null));
  }

  @Test
  void aFrame_isNotChangedByLaterWritesToTheChunkItWasEncodedFrom() {
    byte[] data = new byte[Payloads.MAX_CHUNK_BYTES];
    new Random(7).nextBytes(data);
    byte[] frame = codec.encode(chunk(data));
    byte[] copy = frame.clone();
    Arrays.fill(data, (byte) 0);
    codec.encode(chunk(new byte[] {1, 2, 3})); // the thread's encoder is reused
    assertArrayEquals(copy, frame);
    new Random(7).nextBytes(data);
    assertArrayEquals(data, ((BlobChunk) codec.decode(frame).payload()).data());
  }

  @Test
  void aBodyDecodedFromALargerArray_keepsNoReferenceToIt() {
    byte[] data = new byte[300_000];
    new Random(8).nextBytes(data);
    byte[] frame = codec.encode(chunk(data));
    byte[] spare = new byte[frame.length + 1000];
    System.arraycopy(frame, FrameCodec.PREFIX_BYTES, spare, 0, frame.length - FrameCodec.PREFIX_BYTES);
    Message m = codec.decodeBody(spare, 0, frame.length - FrameCodec.PREFIX_BYTES);
    Arrays.fill(spare, (byte) 0); // the transport reuses the array for the next frame
    BlobChunk got = (BlobChunk) m.payload();
    assertArrayEquals(data, got.data());
    assertEquals("r-1", got.replyTo());
  }
}
