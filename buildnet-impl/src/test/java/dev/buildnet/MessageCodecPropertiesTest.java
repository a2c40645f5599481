package dev.buildnet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildnet.api.transport.ErrorCode;
import dev.buildnet.api.transport.Message;
import dev.buildnet.internal.protocol.MessageArbitraries;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.From;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;

/**
 * Random messages of every type come back equal through the public codec, however their bytes
 * are split on the way: by a {@link MessageCodec.Decoder} fed arbitrary chunks, and by {@link
 * MessageCodec#read} from a stream whose reads return arbitrarily few bytes.
 */
class MessageCodecPropertiesTest {
  private final MessageCodec codec = MessageCodec.standard();

  @Provide
  Arbitrary<Message> messages() {
    return MessageArbitraries.messages();
  }

  @Provide
  Arbitrary<List<Integer>> cuts() {
    return Arbitraries.integers().between(1, 64).list().ofMinSize(1).ofMaxSize(20);
  }

  private byte[] encodeAll(List<Message> sent) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (Message m : sent) {
      out.writeBytes(codec.encode(m));
    }
    return out.toByteArray();
  }

  private static void assertSame(List<Message> sent, List<Message> got) {
    assertEquals(sent.size(), got.size(), "messages decoded");
    for (int i = 0; i < sent.size(); i++) {
      Message s = sent.get(i);
      Message g = got.get(i);
      assertTrue(MessageArbitraries.sameMessage(s, g), () -> s + " came back as " + g);
    }
  }

  @Property(tries = 200)
  void messages_round_trip_through_a_decoder_in_arbitrary_chunks(
      @ForAll @Size(min = 1, max = 6) List<@From("messages") Message> sent,
      @ForAll("cuts") List<Integer> chunkSizes) {
    byte[] bytes = encodeAll(sent);
    MessageCodec.Decoder decoder = codec.newDecoder();
    List<Message> got = new ArrayList<>();
    int at = 0;
    // The chunk sizes repeat until every byte is fed; buffers start at an offset to catch
    // decoders that assume position 0.
    for (int i = 0; at < bytes.length; i++) {
      int n = Math.min(chunkSizes.get(i % chunkSizes.size()), bytes.length - at);
      ByteBuffer chunk = ByteBuffer.allocate(n + 3).position(3);
      chunk.put(bytes, at, n).flip().position(3);
      got.addAll(decoder.next(chunk));
      at += n;
    }
    decoder.finish();
    assertSame(sent, got);
  }

  @Property(tries = 100)
  void messages_round_trip_through_read_from_a_stream_of_short_reads(
      @ForAll @Size(min = 1, max = 6) List<@From("messages") Message> sent,
      @ForAll @IntRange(min = 1, max = 17) int mostPerRead) throws IOException {
    InputStream in = new TrickleStream(encodeAll(sent), mostPerRead);
    List<Message> got = new ArrayList<>();
    for (Message m; (m = codec.read(in)) != null; ) {
      got.add(m);
    }
    assertSame(sent, got);
    assertNull(codec.read(in));
  }

  /**
   * Frames with some bytes overwritten (in the prefix, the envelope or the payload) are decoded or
   * refused, and a stream reader and a chunk decoder agree on which messages come out and on the
   * error that ends them; nothing but {@link FrameException} escapes.
   */
  @Property(tries = 400)
  void damaged_frames_are_refused_alike_by_read_and_by_a_decoder(
      @ForAll @Size(min = 1, max = 3) List<@From("messages") Message> sent,
      @ForAll @Size(min = 1, max = 6) List<@IntRange(min = 0, max = 1 << 20) Integer> positions,
      @ForAll @Size(min = 1, max = 6) List<Byte> values,
      @ForAll("cuts") List<Integer> chunkSizes) throws IOException {
    byte[] bytes = encodeAll(sent);
    for (int i = 0; i < Math.min(positions.size(), values.size()); i++) {
      bytes[positions.get(i) % bytes.length] = values.get(i);
    }

    List<Message> read = new ArrayList<>();
    ErrorCode readError = null;
    InputStream in = new TrickleStream(bytes, 7);
    try {
      for (Message m; (m = codec.read(in)) != null; ) {
        read.add(m);
      }
    } catch (FrameException e) {
      readError = e.reason();
    }

    List<Message> decoded = new ArrayList<>();
    ErrorCode decodeError = null;
    MessageCodec.Decoder decoder = codec.newDecoder();
    try {
      int at = 0;
      for (int i = 0; at < bytes.length; i++) {
        int n = Math.min(chunkSizes.get(i % chunkSizes.size()), bytes.length - at);
        decoded.addAll(decoder.next(bytes, at, n));
        at += n;
      }
      decoder.finish();
    } catch (FrameException e) {
      decodeError = e.reason();
    }

    assertEquals(readError, decodeError);
    assertSame(read, decoded);
  }

  /** A stream whose every read returns at most {@code most} bytes, as a socket may. */
  private static final class TrickleStream extends InputStream {
    private final byte[] bytes;
    private final int most;
    private int at;

    TrickleStream(byte[] bytes, int most) {
      this.bytes = bytes;
      this.most = most;
    }

    @Override
    public int read() {
      return at < bytes.length ? bytes[at++] & 0xFF : -1;
    }

    @Override
    public int read(byte[] b, int off, int len) {
      if (at == bytes.length) {
        return -1;
      }
      int n = Math.min(Math.min(len, most), bytes.length - at);
      System.arraycopy(bytes, at, b, off, n);
      at += n;
      return n;
    }
  }
}
