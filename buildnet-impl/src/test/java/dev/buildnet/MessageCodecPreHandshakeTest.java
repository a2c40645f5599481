package dev.buildnet;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildnet.api.transport.ErrorCode;
import dev.buildnet.api.transport.Message;
import dev.buildnet.api.transport.MessageType;
import dev.buildnet.internal.protocol.Payloads;
import dev.buildnet.internal.protocol.Protocol;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PipedInputStream;
import java.io.PipedOutputStream;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A decoder from {@link MessageCodec#newPreHandshakeDecoder()}: frames over 64 KiB are refused
 * from their length prefix until {@link MessageCodec.Decoder#authenticated()}, and accepted up to
 * the codec's maximum after it; {@link MessageCodec#encodeError} is the ERROR a refused peer gets.
 */
class MessageCodecPreHandshakeTest {
  private static final int MIB = 1 << 20;
  private final MessageCodec codec = MessageCodec.standard();

  private static byte[] prefix(long declared) {
    return ByteBuffer.allocate(4).putInt((int) declared).array();
  }

  private static byte[] concat(byte[]... parts) {
    ByteArrayOutputStream all = new ByteArrayOutputStream();
    for (byte[] p : parts) {
      all.writeBytes(p);
    }
    return all.toByteArray();
  }

  private static Message set(String key, int valueBytes) {
    byte[] value = new byte[valueBytes];
    new Random(valueBytes).nextBytes(value);
    Payloads.StateSet p = new Payloads.StateSet(key, value, null, null, null);
    return new Message(Protocol.MAJOR, p.type(), "m-" + key, 1L, Protocol.RUNTIME, p);
  }

  private static byte[] valueOf(Message m) {
    return ((Payloads.StateSet) m.payload()).value();
  }

  @Test
  void before_authenticating_a_prefix_over_64_KiB_is_refused_and_one_of_64_KiB_is_awaited() {
    MessageCodec.Decoder atLimit = codec.newPreHandshakeDecoder();
    assertEquals(MessageCodec.PRE_HANDSHAKE_MAX_FRAME_BYTES, atLimit.maxFrameBytes());
    assertEquals(List.of(), atLimit.next(ByteBuffer.wrap(prefix(65_536))), "awaits the body");

    MessageCodec.Decoder over = codec.newPreHandshakeDecoder();
    FrameException e = assertThrows(FrameException.class,
        () -> over.next(ByteBuffer.wrap(prefix(65_537))));
    assertEquals(ErrorCode.FRAME_TOO_LARGE, e.reason());
    assertEquals("frame of 65537 bytes exceeds the maximum of 65536 bytes before the handshake "
        + "completes", e.getMessage());
  }

  @Test
  void a_50_MB_prefix_before_authenticating_is_refused_by_read_without_reading_its_body()
      throws Exception {
    ByteArrayInputStream in = new ByteArrayInputStream(concat(prefix(50_000_000), new byte[3]));
    FrameException e = assertThrows(FrameException.class,
        () -> codec.newPreHandshakeDecoder().read(in));
    assertEquals(ErrorCode.FRAME_TOO_LARGE, e.reason());
    assertEquals(3, in.available(), "refused from the prefix alone: no body byte was read");
  }

  @Test
  void after_authenticating_frames_up_to_the_codec_maximum_pass_through_next_and_read()
      throws Exception {
    Message big = set("big", MIB);
    byte[] frame = codec.encode(big);

    MessageCodec.Decoder chunks = codec.newPreHandshakeDecoder();
    chunks.authenticated();
    chunks.authenticated(); // idempotent
    assertEquals(codec.maxFrameBytes(), chunks.maxFrameBytes());
    List<Message> got = chunks.next(ByteBuffer.wrap(frame));
    assertEquals(1, got.size());
    assertArrayEquals(valueOf(big), valueOf(got.get(0)));

    MessageCodec.Decoder stream = codec.newPreHandshakeDecoder();
    stream.authenticated();
    ByteArrayInputStream in = new ByteArrayInputStream(frame);
    assertArrayEquals(valueOf(big), valueOf(stream.read(in)));
    assertNull(stream.read(in), "a clean end after the frame");
  }

  @Test
  void before_authenticating_next_stops_after_each_message_so_the_limit_can_rise_in_between() {
    // The listener's HELLO_ACK and a large frame right behind it can arrive in one chunk.
    byte[] small = codec.encode(set("ack", 10));
    Message big = set("big", MIB);
    ByteBuffer chunk = ByteBuffer.wrap(concat(small, codec.encode(big)));
    MessageCodec.Decoder decoder = codec.newPreHandshakeDecoder();

    List<Message> first = decoder.next(chunk);

    assertEquals(1, first.size());
    assertEquals("ack", ((Payloads.StateSet) first.get(0).payload()).key());
    assertEquals(small.length, chunk.position(), "the large frame is left in the chunk");
    decoder.authenticated(); // what delivering the handshake's last message does
    List<Message> rest = decoder.next(chunk);
    assertEquals(1, rest.size());
    assertArrayEquals(valueOf(big), valueOf(rest.get(0)));
    assertFalse(chunk.hasRemaining());
    decoder.finish();
  }

  @Test
  void a_reader_waiting_for_a_prefix_takes_a_limit_raised_by_another_thread_meanwhile()
      throws Exception {
    PipedOutputStream out = new PipedOutputStream();
    PipedInputStream in = new PipedInputStream(out, 64 * 1024);
    MessageCodec.Decoder decoder = codec.newPreHandshakeDecoder();
    CompletableFuture<Message> read = new CompletableFuture<>();
    Thread reader = new Thread(() -> {
      try {
        read.complete(decoder.read(in));
      } catch (Throwable t) {
        read.completeExceptionally(t);
      }
    }, "pre-handshake-reader");
    reader.start();
    long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (reader.getState() == Thread.State.RUNNABLE || reader.getState() == Thread.State.NEW) {
      assertTrue(System.nanoTime() < until, "the reader never blocked on the empty stream");
      Thread.onSpinWait(); // waiting on a condition: the reader parked in read()
    }

    decoder.authenticated();
    Message big = set("big", MIB);
    out.write(codec.encode(big));
    out.close();

    assertArrayEquals(valueOf(big), valueOf(read.get(30, TimeUnit.SECONDS)));
  }

  @Test
  void before_authenticating_next_over_a_byte_array_is_refused_because_it_cannot_stop() {
    MessageCodec.Decoder decoder = codec.newPreHandshakeDecoder();
    byte[] frame = codec.encode(set("k", 10));
    IllegalStateException e = assertThrows(IllegalStateException.class,
        () -> decoder.next(frame, 0, frame.length));
    assertTrue(e.getMessage().contains("next(ByteBuffer)"), e.getMessage());
    decoder.authenticated();
    assertEquals(1, decoder.next(frame, 0, frame.length).size());
  }

  @Test
  void a_codec_maximum_below_64_KiB_applies_before_the_handshake_too() {
    MessageCodec small = MessageCodec.withMaxFrameBytes(4096);
    MessageCodec.Decoder decoder = small.newPreHandshakeDecoder();
    assertEquals(4096, decoder.maxFrameBytes());
    FrameException e = assertThrows(FrameException.class,
        () -> decoder.next(ByteBuffer.wrap(prefix(4097))));
    assertEquals(ErrorCode.FRAME_TOO_LARGE, e.reason());
  }

  @Test
  void a_plain_decoder_accepts_the_codec_maximum_from_the_start() {
    MessageCodec.Decoder decoder = codec.newDecoder();
    assertEquals(codec.maxFrameBytes(), decoder.maxFrameBytes());
    Message big = set("big", MIB);
    byte[] frame = codec.encode(big);
    assertArrayEquals(valueOf(big), valueOf(decoder.next(frame, 0, frame.length).get(0)));
  }

  @Test
  void the_error_for_a_refused_frame_is_a_fatal_ERROR_with_its_code_and_message()
      throws Exception {
    FrameException refused = assertThrows(FrameException.class,
        () -> codec.newPreHandshakeDecoder().next(ByteBuffer.wrap(prefix(50_000_000))));

    Message m = codec.read(new ByteArrayInputStream(codec.encodeError(refused)));

    assertEquals(MessageType.ERROR, m.type());
    Payloads.ErrorReply error = (Payloads.ErrorReply) m.payload();
    assertEquals(ErrorCode.FRAME_TOO_LARGE.code(), error.code());
    assertEquals(refused.getMessage(), error.message());
    assertTrue(error.fatal());
    assertNull(error.replyTo());
  }
}
