package dev.buildnet.internal.protocol;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.buildnet.api.transport.Message;
import dev.buildnet.api.transport.MessageType;
import dev.buildnet.internal.protocol.Payloads.BlobPut;
import dev.buildnet.internal.protocol.Payloads.TargetRun;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/**
 * The encoder writes every frame of a thread into one reused array ({@link FrameOutput}) and its
 * ASCII strings through one scratch array: a frame's bytes do not depend on what the thread
 * encoded before it.
 */
class EncoderReuseTest {
  private final FrameCodec codec = FrameCodec.withDefaults();

  private static Message small(String target) {
    return new Message(1, MessageType.TARGET_RUN, "m-1", 7, "jvm",
        new TargetRun("b-1", target, 1, List.of("make", target, "caf\u00e9"), "", Map.of(),
            List.of(), List.of(), null, null));
  }

  @Test
  void framesAfterALargeOne_areTheBytesAFreshThreadEncodes() throws Exception {
    byte[] data = new byte[300_000];
    new Random(1).nextBytes(data);
    Message big = new Message(1, MessageType.BLOB_PUT, "m-2", 7, "jvm",
        new BlobPut("t-1", 0, data, false, null, null));
    byte[] fresh = CompletableFuture.supplyAsync(() -> codec.encode(small("lib"))).get();

    byte[] bigFrame = codec.encode(big);
    byte[] after = codec.encode(small("lib"));
    byte[] longer = codec.encode(small("x".repeat(5_000))); // past the string scratch array
    byte[] again = codec.encode(small("lib"));

    assertArrayEquals(fresh, after);
    assertArrayEquals(fresh, again);
    assertArrayEquals(data, ((BlobPut) codec.decode(bigFrame).payload()).data());
    assertEquals("x".repeat(5_000), ((TargetRun) codec.decode(longer).payload()).target());
    assertEquals(bigFrame.length - FrameCodec.PREFIX_BYTES,
        java.nio.ByteBuffer.wrap(bigFrame).getInt(), "length prefix");
  }
}
