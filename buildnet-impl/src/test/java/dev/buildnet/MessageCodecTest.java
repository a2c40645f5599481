package dev.buildnet;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.buildnet.api.transport.ErrorCode;
import dev.buildnet.api.transport.Message;
import dev.buildnet.api.transport.MessageType;
import dev.buildnet.internal.protocol.Payloads;
import dev.buildnet.internal.protocol.Protocol;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The public frame codec against the protocol's golden frames ({@code docs/protocol-vectors.json}):
 * every valid one decodes and re-encodes byte for byte, every invalid one is refused with its
 * error code, through {@link MessageCodec#read} and through a {@link MessageCodec.Decoder} alike.
 */
class MessageCodecTest {
  private static final HexFormat HEX = HexFormat.of();
  private final MessageCodec codec = MessageCodec.standard();

  private static JsonNode vectors() throws Exception {
    return new ObjectMapper().readTree(Path.of("..", "docs", "protocol-vectors.json").toFile());
  }

  private static List<byte[]> validFrames() throws Exception {
    List<byte[]> frames = new ArrayList<>();
    for (JsonNode v : vectors().get("vectors")) {
      frames.add(HEX.parseHex(v.get("hex").asText()));
    }
    return frames;
  }

  private static byte[] concat(List<byte[]> frames) {
    ByteArrayOutputStream all = new ByteArrayOutputStream();
    frames.forEach(all::writeBytes);
    return all.toByteArray();
  }

  private static Message get(String key) {
    Payloads.StateGet p = new Payloads.StateGet(key);
    return new Message(Protocol.MAJOR, p.type(), "m-" + key, 1L, Protocol.RUNTIME, p);
  }

  @Test
  void every_message_type_reads_and_encodes_back_to_its_golden_bytes() throws Exception {
    Set<MessageType> seen = EnumSet.noneOf(MessageType.class);
    for (byte[] frame : validFrames()) {
      ByteArrayInputStream in = new ByteArrayInputStream(frame);
      Message m = codec.read(in);
      seen.add(m.type());
      assertArrayEquals(frame, codec.encode(m), m.type().toString());
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      codec.encode(m, out);
      assertArrayEquals(frame, out.toByteArray(), m.type() + " through a stream");
      assertNull(codec.read(in), "a clean end after the frame");
    }
    assertEquals(EnumSet.allOf(MessageType.class), seen);
  }

  @Test
  void read_takes_one_frame_and_not_a_byte_more() throws Exception {
    byte[] one = codec.encode(get("a"));
    byte[] two = codec.encode(get("b"));
    ByteArrayInputStream in = new ByteArrayInputStream(concat(List.of(one, two)));
    assertEquals("a", ((Payloads.StateGet) codec.read(in).payload()).key());
    assertEquals(two.length, in.available(), "the second frame is still in the stream");
    assertEquals("b", ((Payloads.StateGet) codec.read(in).payload()).key());
    assertNull(codec.read(in));
  }

  @Test
  void a_decoder_fed_byte_by_byte_yields_each_message_when_its_last_byte_arrives()
      throws Exception {
    List<byte[]> frames = validFrames();
    byte[] all = concat(frames);
    List<Integer> frameEnds = new ArrayList<>();
    int end = 0;
    for (byte[] f : frames) {
      end += f.length;
      frameEnds.add(end);
    }
    MessageCodec.Decoder decoder = codec.newDecoder();
    List<Integer> yieldedAt = new ArrayList<>();
    List<Message> got = new ArrayList<>();
    for (int i = 0; i < all.length; i++) {
      List<Message> out = decoder.next(all, i, 1);
      if (!out.isEmpty()) {
        assertEquals(1, out.size(), "one byte completes at most one frame");
        yieldedAt.add(i + 1);
        got.addAll(out);
      }
    }
    decoder.finish();
    assertEquals(frameEnds, yieldedAt);
    for (int i = 0; i < frames.size(); i++) {
      assertArrayEquals(frames.get(i), codec.encode(got.get(i)));
    }
  }

  @Test
  void a_decoder_takes_many_frames_from_one_buffer() throws Exception {
    List<byte[]> frames = validFrames();
    ByteBuffer chunk = ByteBuffer.wrap(concat(frames));
    MessageCodec.Decoder decoder = codec.newDecoder();
    assertEquals(frames.size(), decoder.next(chunk).size());
    assertEquals(0, chunk.remaining(), "the chunk was consumed");
    decoder.finish();
  }

  @Test
  void every_golden_error_is_refused_with_its_code_by_read_and_by_a_decoder() throws Exception {
    for (JsonNode v : vectors().get("errors")) {
      String name = v.get("name").asText();
      ErrorCode expected = ErrorCode.valueOf(v.get("error").get("code").asText());
      byte[] bytes = HEX.parseHex(v.get("hex").asText());

      FrameException read =
          assertThrows(FrameException.class, () -> codec.read(new ByteArrayInputStream(bytes)), name);
      assertEquals(expected, read.reason(), name + ": " + read.getMessage());

      MessageCodec.Decoder decoder = codec.newDecoder();
      FrameException decoded = assertThrows(FrameException.class, () -> {
        decoder.next(bytes, 0, bytes.length);
        decoder.finish();
      }, name);
      assertEquals(expected, decoded.reason(), name + ": " + decoded.getMessage());
    }
  }

  @Test
  void a_stream_that_ends_inside_a_frame_is_a_truncated_frame() throws Exception {
    byte[] frame = codec.encode(get("cut"));
    byte[] cut = Arrays.copyOf(frame, frame.length - 1);

    FrameException read =
        assertThrows(FrameException.class, () -> codec.read(new ByteArrayInputStream(cut)));
    assertEquals(ErrorCode.BAD_FRAME, read.reason());
    assertTrue(read.getMessage().contains("truncated frame"), read.getMessage());

    MessageCodec.Decoder decoder = codec.newDecoder();
    assertEquals(List.of(), decoder.next(cut, 0, cut.length));
    FrameException finish = assertThrows(FrameException.class, decoder::finish);
    assertEquals(ErrorCode.BAD_FRAME, finish.reason());
    assertEquals("truncated frame: the bytes ended after " + (cut.length - 4) + " of "
        + (frame.length - 4) + " bytes", finish.getMessage());
  }

  @Test
  void a_stream_that_ends_inside_the_length_prefix_is_a_truncated_frame() throws Exception {
    byte[] two = {0, 0};
    FrameException read =
        assertThrows(FrameException.class, () -> codec.read(new ByteArrayInputStream(two)));
    assertEquals(ErrorCode.BAD_FRAME, read.reason());
    assertTrue(read.getMessage().contains("2 of the 4 length-prefix bytes"), read.getMessage());

    MessageCodec.Decoder decoder = codec.newDecoder();
    decoder.next(two, 0, 2);
    FrameException finish = assertThrows(FrameException.class, decoder::finish);
    assertEquals("truncated frame: the bytes ended after 2 of the 4 length-prefix bytes",
        finish.getMessage());
  }

  @Test
  void an_oversize_prefix_is_refused_before_its_body_arrives() throws Exception {
    MessageCodec small = MessageCodec.withMaxFrameBytes(1024);
    byte[] prefix = ByteBuffer.allocate(4).putInt(1025).array();

    FrameException read =
        assertThrows(FrameException.class, () -> small.read(new ByteArrayInputStream(prefix)));
    assertEquals(ErrorCode.FRAME_TOO_LARGE, read.reason());
    assertEquals("frame of 1025 bytes exceeds the maximum of 1024 bytes", read.getMessage());

    FrameException fed = assertThrows(FrameException.class,
        () -> small.newDecoder().next(prefix, 0, prefix.length));
    assertEquals(ErrorCode.FRAME_TOO_LARGE, fed.reason());
  }

  @Test
  void encoding_a_message_over_the_maximum_is_refused() {
    MessageCodec small = MessageCodec.withMaxFrameBytes(1024);
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> small.encode(get("k".repeat(2000))));
    assertTrue(e.getMessage().contains("exceeds the maximum of 1024"), e.getMessage());
  }

  @Test
  void garbage_is_a_bad_frame() throws Exception {
    // A plausible length, then bytes that are not a MessagePack envelope (0xC1 is never valid).
    byte[] garbage = {0, 0, 0, 4, (byte) 0xC1, 1, 2, 3};
    FrameException read =
        assertThrows(FrameException.class, () -> codec.read(new ByteArrayInputStream(garbage)));
    assertEquals(ErrorCode.BAD_FRAME, read.reason());
    FrameException fed =
        assertThrows(FrameException.class, () -> codec.newDecoder().next(garbage, 0, 8));
    assertEquals(ErrorCode.BAD_FRAME, fed.reason());
  }

  @Test
  void a_decoder_returns_the_good_messages_before_a_bad_frame_then_throws_then_refuses_more() {
    byte[] good = codec.encode(get("before"));
    byte[] bad = {0, 0, 0, 1, (byte) 0xC1};
    byte[] after = codec.encode(get("after"));
    byte[] chunk = concat(List.of(good, bad, after));
    MessageCodec.Decoder decoder = codec.newDecoder();

    List<Message> first = decoder.next(chunk, 0, chunk.length);
    assertEquals(List.of("before"),
        first.stream().map(m -> ((Payloads.StateGet) m.payload()).key()).toList());
    FrameException e = assertThrows(FrameException.class, decoder::finish);
    assertEquals(ErrorCode.BAD_FRAME, e.reason());
    IllegalStateException again =
        assertThrows(IllegalStateException.class, () -> decoder.next(after, 0, after.length));
    assertTrue(again.getMessage().startsWith("the decoder failed earlier: "), again.getMessage());
  }

  @Test
  void read_stays_in_step_after_a_frame_of_an_unknown_type() throws Exception {
    byte[] unknown = null;
    for (JsonNode v : vectors().get("errors")) {
      if (v.get("name").asText().equals("unknown_type")) {
        unknown = HEX.parseHex(v.get("hex").asText());
      }
    }
    ByteArrayInputStream in =
        new ByteArrayInputStream(concat(List.of(unknown, codec.encode(get("next")))));
    FrameException e = assertThrows(FrameException.class, () -> codec.read(in));
    assertEquals(ErrorCode.UNKNOWN_TYPE, e.reason());
    assertFalse(e.fatal());
    assertEquals("w-1", e.messageId());
    assertEquals("next", ((Payloads.StateGet) codec.read(in).payload()).key());
  }

  @Test
  void an_unknown_type_is_fatal_only_before_the_decoder_is_authenticated() throws Exception {
    byte[] unknown = null;
    for (JsonNode v : vectors().get("errors")) {
      if (v.get("name").asText().equals("unknown_type")) {
        unknown = HEX.parseHex(v.get("hex").asText());
      }
    }
    MessageCodec.Decoder decoder = codec.newPreHandshakeDecoder();
    ByteArrayInputStream in = new ByteArrayInputStream(concat(List.of(unknown, unknown)));

    FrameException before = assertThrows(FrameException.class, () -> decoder.read(in));
    decoder.authenticated();
    FrameException after = assertThrows(FrameException.class, () -> decoder.read(in));

    assertTrue(before.fatal());
    assertFalse(after.fatal());
    Payloads.ErrorReply answer = (Payloads.ErrorReply) codec.read(
        new ByteArrayInputStream(codec.encodeError(after))).payload();
    assertEquals(ErrorCode.UNKNOWN_TYPE.code(), answer.code());
    assertEquals("w-1", answer.replyTo());
    assertFalse(answer.fatal());
  }

  private byte[] unknownTypeFrame() throws Exception {
    for (JsonNode v : vectors().get("errors")) {
      if (v.get("name").asText().equals("unknown_type")) {
        return HEX.parseHex(v.get("hex").asText());
      }
    }
    throw new AssertionError("docs/protocol-vectors.json has no unknown_type vector");
  }

  private static List<String> keys(List<Message> messages) {
    return messages.stream().map(m -> ((Payloads.StateGet) m.payload()).key()).toList();
  }

  @Test
  void next_refuses_an_unknown_type_without_failing_and_returns_the_frames_after_it() throws Exception {
    byte[] chunk = concat(List.of(codec.encode(get("before")), unknownTypeFrame(),
        codec.encode(get("after")), codec.encode(get("later"))));
    MessageCodec.Decoder decoder = codec.newDecoder();

    assertEquals(List.of("before"), keys(decoder.next(chunk, 0, chunk.length)));
    byte[] tail = codec.encode(get("tail"));
    FrameException e = assertThrows(FrameException.class, () -> decoder.next(tail, 0, tail.length));
    assertEquals(ErrorCode.UNKNOWN_TYPE, e.reason());
    assertFalse(e.fatal());
    assertEquals("w-1", e.messageId());
    // The refusing call took its chunk too: nothing is lost and nothing is fed twice.
    assertEquals(List.of("after", "later", "tail"), keys(decoder.next(ByteBuffer.allocate(0))));
    decoder.finish();
  }

  @Test
  void next_throws_at_once_for_an_unknown_type_first_in_its_chunk_and_keeps_a_split_frame_after_it()
      throws Exception {
    byte[] after = codec.encode(get("after"));
    byte[] chunk = concat(List.of(unknownTypeFrame(), java.util.Arrays.copyOf(after, 5)));
    MessageCodec.Decoder decoder = codec.newDecoder();

    assertFalse(assertThrows(FrameException.class,
        () -> decoder.next(chunk, 0, chunk.length)).fatal());
    IllegalStateException early = assertThrows(IllegalStateException.class, decoder::finish);
    assertTrue(early.getMessage().contains("call next with an empty chunk"), early.getMessage());
    assertEquals(List.of(), decoder.next(ByteBuffer.allocate(0)), "half a frame so far");
    assertEquals(List.of("after"), keys(decoder.next(after, 5, after.length - 5)));
    decoder.finish();
  }

  @Test
  void next_fails_for_an_unknown_type_before_a_pre_handshake_decoder_is_authenticated()
      throws Exception {
    MessageCodec.Decoder decoder = codec.newPreHandshakeDecoder();
    ByteBuffer chunk = ByteBuffer.wrap(unknownTypeFrame());
    assertTrue(assertThrows(FrameException.class, () -> decoder.next(chunk)).fatal());
    assertThrows(IllegalStateException.class, () -> decoder.next(ByteBuffer.allocate(0)));
  }

  @Test
  void a_finished_decoder_takes_no_more_bytes() {
    MessageCodec.Decoder decoder = codec.newDecoder();
    decoder.finish();
    IllegalStateException e =
        assertThrows(IllegalStateException.class, () -> decoder.next(new byte[1], 0, 1));
    assertEquals("the decoder was finished", e.getMessage());
  }

  @Test
  void a_maximum_below_one_kib_is_refused() {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> MessageCodec.withMaxFrameBytes(1023));
    assertEquals("maxFrameBytes must be at least 1024 but was 1023", e.getMessage());
  }
}
