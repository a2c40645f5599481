package dev.buildnet.internal.protocol;

import dev.buildnet.api.transport.ErrorCode;

import dev.buildnet.api.transport.Message;
import dev.buildnet.api.transport.MessageType;
import dev.buildnet.api.transport.Payload;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.msgpack.core.MessageFormat;
import org.msgpack.core.MessageInsufficientBufferException;
import org.msgpack.core.MessageIntegerOverflowException;
import org.msgpack.core.MessagePack;
import org.msgpack.core.MessagePackException;
import org.msgpack.core.MessagePacker;
import org.msgpack.core.MessageUnpacker;
import org.msgpack.core.buffer.ArrayBufferInput;
import org.msgpack.value.ValueType;

/**
 * Encodes {@link Message}s to frames and decodes frames back, exactly as {@code
 * docs/PROTOCOL.md} specifies: a 4-byte big-endian body length, then a MessagePack map
 * {@code {version, type, id, timestamp, runtime, payload}} with the payload's fields in their
 * documented order.
 *
 * <p>Decoding is safe on untrusted bytes: the frame size is checked before anything is allocated,
 * every declared string, binary, array and map length is checked against the bytes left before
 * allocating, nesting is capped at {@link #MAX_DEPTH}, strings must be valid UTF-8, and payloads
 * are read by schema into their records (no generic value tree). Every rejection is a {@link
 * ProtocolException} saying what is wrong; nothing else escapes for bad input.
 *
 * <p>Immutable and safe for concurrent use; methods do not block.
 *
 * @since 0.1
 */
public final class FrameCodec {
  /** The default largest frame body: 16 MiB. */
  public static final int DEFAULT_MAX_FRAME_BYTES = 16 << 20;

  /**
   * The largest frame body a listener accepts before the handshake completes: a HELLO or
   * AUTH_PROOF is a few hundred bytes, so an unauthenticated peer never makes it hold more.
   */
  public static final int PRE_HANDSHAKE_MAX_FRAME_BYTES = 64 * 1024;

  /** The deepest container nesting accepted (the envelope map is depth 1). */
  public static final int MAX_DEPTH = 16;

  /** Length of the big-endian length prefix. */
  public static final int PREFIX_BYTES = 4;

  static final int MAX_ID_BYTES = 256;
  static final int MAX_RUNTIME_BYTES = 64;

  private static final String[] ENVELOPE = {
    "version", "type", "id", "timestamp", "runtime", "payload"
  };
  private static final byte[][] ENVELOPE_UTF8 = utf8(ENVELOPE);
  /** How an error names each envelope field (built once, not per frame). */
  private static final String[] ENVELOPE_WHAT = whats(ENVELOPE);

  private static final byte[] PLACEHOLDER = new byte[PREFIX_BYTES];

  /**
   * One packer and output buffer per thread, reused for every frame it encodes: a packer's own
   * buffer is 8 KiB, which a frame of a few hundred bytes would otherwise allocate each time.
   */
  private static final ThreadLocal<Encoder> ENCODERS = ThreadLocal.withInitial(Encoder::new);

  /** Per thread, a packer whose output is discarded: {@link #encodedSize} only counts bytes. */
  private static final ThreadLocal<Sizer> SIZERS = ThreadLocal.withInitial(Sizer::new);

  private static final class Sizer {
    final MessagePacker packer = MessagePack.newDefaultPacker(OutputStream.nullOutputStream());
    final byte[] scratch = new byte[STRING_SCRATCH_BYTES];
  }

  /** ASCII strings up to this length are encoded through a per-thread array, not a new one. */
  private static final int STRING_SCRATCH_BYTES = 1024;

  /** Per thread, the unpacker and scratch space {@link #decodeBody} reuses for every frame. */
  private static final ThreadLocal<Decoding> DECODERS = ThreadLocal.withInitial(Decoding::new);

  private static final class Encoder {
    final FrameOutput out = new FrameOutput();
    final MessagePacker packer = MessagePack.newDefaultPacker(out);
    final byte[] scratch = new byte[STRING_SCRATCH_BYTES];
  }

  private final int maxFrameBytes;

  private FrameCodec(int maxFrameBytes) {
    this.maxFrameBytes = maxFrameBytes;
  }

  /** A codec accepting frame bodies up to {@link #DEFAULT_MAX_FRAME_BYTES}. */
  public static FrameCodec withDefaults() {
    return new FrameCodec(DEFAULT_MAX_FRAME_BYTES);
  }

  /** A codec accepting frame bodies up to {@code maxFrameBytes} (at least 1 KiB). */
  public static FrameCodec withMaxFrameBytes(int maxFrameBytes) {
    if (maxFrameBytes < 1024) {
      throw new IllegalArgumentException(
          "maxFrameBytes must be at least 1024 but was " + maxFrameBytes);
    }
    return new FrameCodec(maxFrameBytes);
  }

  /** The largest frame body (excluding the length prefix) this codec accepts. */
  public int maxFrameBytes() {
    return maxFrameBytes;
  }

  // ---- encoding ------------------------------------------------------------------------------

  /**
   * The whole frame, length prefix included.
   *
   * @throws IllegalArgumentException if the payload is not a protocol record, a string is not
   *     encodable as UTF-8, or the frame would exceed the maximum size
   */
  public byte[] encode(Message message) {
    Encoder e = ENCODERS.get();
    FrameOutput out = e.out;
    MessagePacker p = e.packer;
    long idAndRuntime;
    boolean done = false;
    try {
      // Four placeholder bytes, overwritten with the length once the body is known.
      p.writePayload(PLACEHOLDER);
      idAndRuntime = packBody(p, message, e.scratch);
      p.flush();
      done = true;
    } catch (IOException ex) {
      throw new UncheckedIOException(ex); // in-memory output: cannot happen
    } finally {
      if (!done) {
        ENCODERS.remove(); // half a frame may be buffered in the packer: start afresh next time
      }
    }
    byte[] frame = out.toByteArray();
    out.clear();
    int body = frame.length - PREFIX_BYTES;
    if (body > maxFrameBytes) {
      throw new IllegalArgumentException(
          message.type() + " frame of " + body + " bytes exceeds the maximum of " + maxFrameBytes);
    }
    frame[0] = (byte) (body >>> 24);
    frame[1] = (byte) (body >>> 16);
    frame[2] = (byte) (body >>> 8);
    frame[3] = (byte) body;
    if (message.version() < 0) {
      throw new IllegalArgumentException(
          "version must not be negative but was " + message.version());
    }
    checkLength("id", (int) (idAndRuntime >>> 32), MAX_ID_BYTES);
    checkLength("runtime", (int) idAndRuntime, MAX_RUNTIME_BYTES);
    return frame;
  }

  /**
   * The length {@link #encode} gives {@code message}'s frame, prefix included, without building
   * it: binary fields are counted, not copied, so sizing a BLOB_PUT of megabytes costs what its
   * strings and headers do. For accounting what a message that arrived decoded holds in memory.
   *
   * @throws IllegalArgumentException if the payload is not a protocol record or a string is not
   *     encodable as UTF-8 (the frame limit and the id and runtime lengths are not checked)
   */
  public static long encodedSize(Message message) {
    Sizer sizer = SIZERS.get();
    MessagePacker p = sizer.packer;
    long before = p.getTotalWrittenBytes();
    try {
      packBody(p, message, sizer.scratch);
    } catch (IOException ex) {
      throw new UncheckedIOException(ex); // a discarding output: cannot happen
    }
    // A half-packed body after a throw stays in the buffer: harmless, since it is only counted.
    return PREFIX_BYTES + p.getTotalWrittenBytes() - before;
  }

  /**
   * Packs the envelope and payload (not the length prefix); returns the UTF-8 lengths of the id
   * (high 32 bits) and the runtime (low 32 bits), which the caller checks.
   */
  private static long packBody(MessagePacker p, Message message, byte[] scratch)
      throws IOException {
    p.packMapHeader(ENVELOPE.length);
    key(p, ENVELOPE_UTF8[0]);
    p.packInt(message.version());
    key(p, ENVELOPE_UTF8[1]);
    p.packInt(message.type().code());
    key(p, ENVELOPE_UTF8[2]);
    // Packed as payload strings are: an ASCII id or runtime (all of ours) needs no array of its
    // own, where two were made for every frame.
    int id = str(p, message.id(), "id", scratch);
    key(p, ENVELOPE_UTF8[3]);
    p.packLong(message.timestamp());
    key(p, ENVELOPE_UTF8[4]);
    int runtime = str(p, message.runtime(), "runtime", scratch);
    key(p, ENVELOPE_UTF8[5]);
    Payload payload = message.payload();
    Schema schema = Schema.of(message.type());
    if (payload.getClass() != schema.type) {
      throw new IllegalArgumentException(
          "payload " + payload.getClass().getName() + " is not the protocol record of "
              + message.type() + " (" + schema.type.getName() + ")");
    }
    record(p, schema, payload, scratch);
    return (long) id << 32 | runtime;
  }

  private static void checkLength(String what, int length, int max) {
    if (length < 1 || length > max) {
      throw new IllegalArgumentException(what + " must be 1.." + max + " UTF-8 bytes but was " + length);
    }
  }

  private static void record(MessagePacker p, Schema schema, Object record, byte[] scratch)
      throws IOException {
    List<Schema.Field> fields = schema.fields;
    Object[] values = new Object[fields.size()];
    int present = 0;
    for (int i = 0; i < values.length; i++) {
      values[i] = schema.get(fields.get(i), record);
      if (values[i] != null) {
        present++;
      }
    }
    p.packMapHeader(present);
    for (int i = 0; i < values.length; i++) {
      Object v = values[i];
      if (v == null) {
        continue;
      }
      Schema.Field f = fields.get(i);
      key(p, f.nameUtf8());
      switch (f.kind()) {
        case STR -> str(p, (String) v, f.name(), scratch);
        case INT -> p.packLong((Long) v);
        case BOOL -> p.packBoolean((Boolean) v);
        case BIN -> {
          byte[] b = (byte[]) v;
          p.packBinaryHeader(b.length);
          // Copied, not referenced (addPayload): referencing a BLOB_CHUNK's MiB saved a copy but
          // made MasterBlobBenchmark's download stall for seconds at a time (cause not found yet).
          p.writePayload(b);
        }
        case STR_ARRAY -> {
          Collection<?> list = (Collection<?>) v;
          p.packArrayHeader(list.size());
          for (Object s : list) {
            str(p, (String) s, f.name(), scratch);
          }
        }
        case STR_MAP -> strMap(p, (Map<?, ?>) v, f.name());
        case RECORD_ARRAY -> {
          Collection<?> list = (Collection<?>) v;
          p.packArrayHeader(list.size());
          for (Object r : list) {
            record(p, f.element(), r, scratch);
          }
        }
      }
    }
  }

  private static void strMap(MessagePacker p, Map<?, ?> map, String field) throws IOException {
    // Keys in byte-wise UTF-8 order, so every implementation writes the same bytes.
    byte[][][] entries = new byte[map.size()][][];
    int i = 0;
    for (Map.Entry<?, ?> e : map.entrySet()) {
      entries[i++] =
          new byte[][] {utf8((String) e.getKey(), field), utf8((String) e.getValue(), field)};
    }
    Arrays.sort(entries, (a, b) -> Arrays.compareUnsigned(a[0], b[0]));
    p.packMapHeader(entries.length);
    for (byte[][] e : entries) {
      key(p, e[0]);
      key(p, e[1]);
    }
  }

  private static void key(MessagePacker p, byte[] utf8) throws IOException {
    p.packRawStringHeader(utf8.length);
    p.writePayload(utf8);
  }

  /** Packs {@code s} as a str; returns its length in UTF-8 bytes. */
  @SuppressWarnings("deprecation") // getBytes(int, int, byte[], int): the low byte of each char
  private static int str(MessagePacker p, String s, String field, byte[] scratch)
      throws IOException {
    int n = s.length();
    if (n <= scratch.length) {
      int i = 0;
      while (i < n && s.charAt(i) < 0x80) {
        i++;
      }
      if (i == n) { // ASCII: its UTF-8 bytes are its chars' low bytes, no array of its own needed
        s.getBytes(0, n, scratch, 0);
        p.packRawStringHeader(n);
        p.writePayload(scratch, 0, n);
        return n;
      }
    }
    byte[] utf8 = utf8(s, field);
    key(p, utf8);
    return utf8.length;
  }

  private static byte[] utf8(String s, String field) {
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (Character.isHighSurrogate(c)
          && i + 1 < s.length()
          && Character.isLowSurrogate(s.charAt(i + 1))) {
        i++;
      } else if (Character.isSurrogate(c)) {
        throw new IllegalArgumentException(
            "field '" + field + "' has an unpaired surrogate at index " + i + ": not encodable as UTF-8");
      }
    }
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static String[] whats(String[] names) {
    String[] out = new String[names.length];
    for (int i = 0; i < names.length; i++) {
      out[i] = "envelope field '" + names[i] + "'";
    }
    return out;
  }

  private static byte[][] utf8(String[] names) {
    byte[][] out = new byte[names.length][];
    for (int i = 0; i < names.length; i++) {
      out[i] = names[i].getBytes(StandardCharsets.UTF_8);
    }
    return out;
  }

  // ---- decoding ------------------------------------------------------------------------------

  /** Decodes a whole frame, length prefix included (as in the test vectors). */
  public Message decode(byte[] frame) {
    if (frame.length < PREFIX_BYTES) {
      throw new ProtocolException(
          ErrorCode.BAD_FRAME,
          "truncated frame: " + frame.length + " bytes, not even the 4-byte length prefix");
    }
    long declared = ByteBuffer.wrap(frame).getInt() & 0xFFFF_FFFFL;
    checkDeclaredLength(declared);
    long actual = frame.length - PREFIX_BYTES;
    if (actual < declared) {
      throw new ProtocolException(
          ErrorCode.BAD_FRAME,
          "truncated frame: the prefix declares " + declared + " bytes but only " + actual + " follow");
    }
    if (actual > declared) {
      throw new ProtocolException(
          ErrorCode.BAD_FRAME,
          (actual - declared) + " bytes follow the " + declared + "-byte frame the prefix declares");
    }
    return decodeBody(frame, PREFIX_BYTES, (int) declared);
  }

  /**
   * Checks a length prefix against the maximum; call before allocating the body.
   *
   * @throws ProtocolException {@link ErrorCode#FRAME_TOO_LARGE} if it exceeds the maximum
   */
  public void checkDeclaredLength(long declared) {
    checkDeclaredLength(declared, maxFrameBytes);
  }

  /**
   * Checks a length prefix against {@code max} (e.g. the pre-handshake limit).
   *
   * @throws ProtocolException {@link ErrorCode#FRAME_TOO_LARGE} if it exceeds {@code max}
   */
  public static void checkDeclaredLength(long declared, int max) {
    if (declared > max) {
      throw new ProtocolException(
          ErrorCode.FRAME_TOO_LARGE,
          "frame of " + declared + " bytes exceeds the maximum of " + max + " bytes"
              + (max == PRE_HANDSHAKE_MAX_FRAME_BYTES ? " before the handshake completes" : ""));
    }
  }

  /** Decodes a frame body (the bytes after the length prefix). */
  public Message decodeBody(byte[] body) {
    return decodeBody(body, 0, body.length);
  }

  /**
   * Decodes the frame body in {@code bytes[offset, offset + length)}. The message keeps no
   * reference to {@code bytes} (every string and binary is copied out), so the caller may reuse it.
   */
  public Message decodeBody(byte[] bytes, int offset, int length) {
    checkDeclaredLength(length);
    if (length == 0) {
      throw new ProtocolException(ErrorCode.BAD_FRAME, "empty frame: a frame needs an envelope");
    }
    Decoding d = DECODERS.get();
    try {
      d.input.reset(bytes, offset, length);
      d.unpacker.reset(d.input);
      return new Reader(d, length).envelope();
    } catch (IOException e) {
      throw new UncheckedIOException(e); // in-memory input: cannot happen
    }
  }

  /**
   * What decoding reuses on one thread: an unpacker (with its buffers) reset onto each frame, a
   * scratch array that short strings and map keys are read into, and a small cache of the ASCII
   * strings decoded lately. Fields such as build ids, worker ids, runtimes and capability names
   * repeat frame after frame; a hit returns the same String (its hash already computed) instead of
   * a copy of the bytes and a new String. Bounded: {@link #CACHED_STRINGS} entries of at most
   * {@link #CACHED_STRING_BYTES} bytes, whatever a peer sends.
   */
  private static final class Decoding {
    static final int SCRATCH_BYTES = 1024;
    static final int CACHED_STRINGS = 1024; // a power of two
    static final int CACHED_STRING_BYTES = 64;

    final ArrayBufferInput input = new ArrayBufferInput(new byte[0]);
    final MessageUnpacker unpacker = MessagePack.newDefaultUnpacker(input);
    final byte[] scratch = new byte[SCRATCH_BYTES];
    private final byte[][] cachedBytes = new byte[CACHED_STRINGS][];
    private final String[] cachedStrings = new String[CACHED_STRINGS];
    CharsetDecoder utf8;

    /** The string of the ASCII bytes {@code b[0, len)}: a cached one if it has the same bytes. */
    String ascii(byte[] b, int len, boolean cache) {
      if (!cache || len > CACHED_STRING_BYTES) {
        return new String(b, 0, len, StandardCharsets.ISO_8859_1);
      }
      int h = len;
      for (int i = 0; i < len; i++) {
        h = 31 * h + b[i];
      }
      int slot = (h ^ (h >>> 16)) & (CACHED_STRINGS - 1);
      byte[] k = cachedBytes[slot];
      if (k != null && k.length == len && Arrays.equals(k, 0, len, b, 0, len)) {
        return cachedStrings[slot];
      }
      String s = new String(b, 0, len, StandardCharsets.ISO_8859_1);
      cachedBytes[slot] = Arrays.copyOf(b, len);
      cachedStrings[slot] = s;
      return s;
    }
  }

  /** The state of decoding one frame. Not thread-safe; one per call. */
  /**
   * A part of an error message, joined only if an error is thrown: decoding a frame names every
   * field it reads (for the message should it be wrong) and used to build each name as a string.
   */
  private static final class Text {
    private final Object a;
    private final Object b;
    private final Object c;
    private final Object d;

    Text(Object a, Object b, Object c, Object d) {
      this.a = a;
      this.b = b;
      this.c = c;
      this.d = d;
    }

    @Override
    public String toString() {
      StringBuilder s = new StringBuilder().append(a).append(b);
      if (c != null) {
        s.append(c);
      }
      if (d != null) {
        s.append(d);
      }
      return s.toString();
    }
  }

  private static final class Reader {
    private final Decoding d;
    private final MessageUnpacker u;
    private final long size;
    private String id;

    Reader(Decoding d, long size) {
      this.d = d;
      this.u = d.unpacker;
      this.size = size;
    }

    Message envelope() throws IOException {
      try {
        return readEnvelope();
      } catch (MessageInsufficientBufferException e) {
        throw error(ErrorCode.BAD_FRAME, "truncated frame: a value runs past its end");
      } catch (MessagePackException e) {
        throw error(ErrorCode.BAD_FRAME, "malformed MessagePack: " + e.getMessage());
      }
    }

    private Message readEnvelope() throws IOException {
      MessageFormat f = next();
      if (f.getValueType() != ValueType.MAP) {
        throw error(
            ErrorCode.BAD_FRAME, "a frame must hold a map (the envelope) but held " + name(f));
      }
      int n = mapHeader(1);
      if (n < ENVELOPE.length) {
        throw error(
            ErrorCode.BAD_FRAME,
            "the envelope has " + n + " keys; it needs " + String.join(", ", ENVELOPE) + " in that order");
      }
      expectKey(0);
      long version = envelopeInt(0);
      if (version < 0 || version > Integer.MAX_VALUE) {
        throw error(ErrorCode.BAD_FRAME, "envelope version " + version + " is out of range");
      }
      expectKey(1);
      long code = envelopeInt(1);
      if (code < 0 || code > 255) {
        throw error(ErrorCode.BAD_FRAME, "envelope type " + code + " is not a one-byte code");
      }
      expectKey(2);
      String messageId = envelopeStr(2, MAX_ID_BYTES, false); // unique: not worth caching
      id = messageId;
      expectKey(3);
      long timestamp = envelopeInt(3);
      expectKey(4);
      String runtime = envelopeStr(4, MAX_RUNTIME_BYTES, true);
      expectKey(5);
      Optional<MessageType> type = MessageType.fromCode((int) code);
      Payload payload = null;
      // A payload that is not a map breaks the envelope, whatever the type: BAD_FRAME for known
      // and unknown types alike (docs/PROTOCOL.md, "Envelope").
      if (peekType() != ValueType.MAP) {
        throw error(ErrorCode.BAD_FRAME, "the payload must be a map but was " + name(u.getNextFormat()));
      }
      if (type.isPresent()) {
        Schema schema = Schema.of(type.get());
        payload = (Payload) record(schema, schema.payloadLabel, 2);
      } else {
        skip(2);
      }
      for (int i = ENVELOPE.length; i < n; i++) {
        key("envelope");
        skip(2);
      }
      long left = size - u.getTotalReadBytes();
      if (left != 0) {
        throw error(ErrorCode.BAD_FRAME, left + " bytes follow the envelope inside the frame");
      }
      if (payload == null) {
        throw new ProtocolException(
            ErrorCode.UNKNOWN_TYPE,
            String.format("unknown message type 0x%02X", code),
            messageId,
            false);
      }
      return new Message((int) version, type.get(), messageId, timestamp, runtime, payload);
    }

    private void expectKey(int i) throws IOException {
      if (peekType() != ValueType.STRING) {
        throw error(
            ErrorCode.BAD_FRAME,
            "envelope key " + (i + 1) + " must be the str '" + ENVELOPE[i] + "' but was "
                + name(u.getNextFormat()));
      }
      int len = checkLength(u.unpackRawStringHeader(), "envelope key");
      readInto(len);
      byte[] expected = ENVELOPE_UTF8[i];
      if (len == expected.length && Arrays.equals(d.scratch, 0, len, expected, 0, len)) {
        return; // the expected (ASCII) key: no String needed
      }
      String k = utf8(len, "envelope key", false);
      if (!k.equals(ENVELOPE[i])) {
        throw error(
            ErrorCode.BAD_FRAME,
            "envelope key " + (i + 1) + " must be '" + ENVELOPE[i] + "' but was '" + k
                + "' (keys are version, type, id, timestamp, runtime, payload, in that order)");
      }
    }

    private long envelopeInt(int i) throws IOException {
      if (peekType() != ValueType.INTEGER) {
        throw error(
            ErrorCode.BAD_FRAME,
            ENVELOPE_WHAT[i] + " must be int but was " + name(u.getNextFormat()));
      }
      return integer(ErrorCode.BAD_FRAME, ENVELOPE_WHAT[i]);
    }

    private String envelopeStr(int i, int maxBytes, boolean cache) throws IOException {
      if (peekType() != ValueType.STRING) {
        throw error(
            ErrorCode.BAD_FRAME,
            ENVELOPE_WHAT[i] + " must be str but was " + name(u.getNextFormat()));
      }
      int len = u.unpackRawStringHeader();
      if (len < 1 || len > maxBytes) {
        throw error(
            ErrorCode.BAD_FRAME,
            ENVELOPE_WHAT[i] + " must be 1.." + maxBytes + " bytes but was " + len);
      }
      return str(len, ENVELOPE_WHAT[i], cache);
    }

    private Object record(Schema schema, Object label, int depth) throws IOException {
      depth(depth);
      MessageFormat f = next();
      if (f.getValueType() != ValueType.MAP) {
        throw error(ErrorCode.INVALID_PAYLOAD, label + " must be a map but was " + name(f));
      }
      int n = mapHeader(depth);
      List<Schema.Field> fields = schema.fields;
      Object[] values = new Object[fields.size()];
      long seen = 0; // bit i: field i was read (Schema.MAX_FIELDS)
      int next = 0; // senders write fields in schema order, leaving out those without a value
      // Top-level fields are named by text built once per schema; nested ones as they fail.
      boolean top = label == schema.payloadLabel;
      for (int e = 0; e < n; e++) {
        int len = keyLength(label);
        int i = len <= d.scratch.length ? schema.indexOf(d.scratch, len, next) : -1;
        if (i < 0) {
          if (len > d.scratch.length) {
            readInto(len); // the bytes keyLength left unread
          }
          utf8(len, new Text(label, " key", null, null), false); // rejected unless valid UTF-8
          skip(depth + 1); // a field of a newer minor version
          continue;
        }
        String k = fields.get(i).name(); // the same bytes, so the same string
        if ((seen & 1L << i) != 0) {
          throw error(ErrorCode.INVALID_PAYLOAD, label + ": duplicate field '" + k + "'");
        }
        seen |= 1L << i;
        next = i + 1;
        Schema.Field field = fields.get(i);
        if (peekType() == ValueType.NIL && !field.required()) {
          u.unpackNil();
          continue;
        }
        values[i] = value(field, top ? field.inPayload() : new Text(label, " field '", field.name(), "'"), depth + 1);
      }
      for (int i = 0; i < values.length; i++) {
        if (values[i] == null && fields.get(i).required()) {
          throw error(
              ErrorCode.INVALID_PAYLOAD,
              label + ": required field '" + fields.get(i).name() + "' is missing");
        }
      }
      try {
        return schema.construct(values);
      } catch (IllegalArgumentException e) {
        throw error(ErrorCode.INVALID_PAYLOAD, label + ": " + e.getMessage());
      }
    }

    /** {@code what} names the field in an error message. */
    private Object value(Schema.Field field, Object what, int depth) throws IOException {
      MessageFormat f = next();
      ValueType vt = f.getValueType();
      switch (field.kind()) {
        case STR -> {
          expect(vt, ValueType.STRING, what, f);
          return str(what);
        }
        case INT -> {
          expect(vt, ValueType.INTEGER, what, f);
          return integer(ErrorCode.INVALID_PAYLOAD, what);
        }
        case BOOL -> {
          expect(vt, ValueType.BOOLEAN, what, f);
          return u.unpackBoolean();
        }
        case BIN -> {
          expect(vt, ValueType.BINARY, what, f);
          return payload(u.unpackBinaryHeader(), what);
        }
        case STR_ARRAY -> {
          expect(vt, ValueType.ARRAY, what, f);
          depth(depth);
          int n = arrayHeader();
          List<String> list = new ArrayList<>(n);
          for (int i = 0; i < n; i++) {
            MessageFormat ef = next();
            expect(ef.getValueType(), ValueType.STRING, new Text(what, " element ", i, null), ef);
            list.add(str(what));
          }
          return list;
        }
        case STR_MAP -> {
          expect(vt, ValueType.MAP, what, f);
          int n = mapHeader(depth);
          Map<String, String> map = new LinkedHashMap<>();
          for (int i = 0; i < n; i++) {
            String k = key(what);
            MessageFormat ef = next();
            expect(ef.getValueType(), ValueType.STRING, new Text(what, " value of '", k, "'"), ef);
            if (map.put(k, str(what)) != null) {
              throw error(ErrorCode.INVALID_PAYLOAD, what + ": duplicate key '" + k + "'");
            }
          }
          return map;
        }
        case RECORD_ARRAY -> {
          expect(vt, ValueType.ARRAY, what, f);
          depth(depth);
          int n = arrayHeader();
          List<Object> list = new ArrayList<>(n);
          for (int i = 0; i < n; i++) {
            list.add(record(field.element(), new Text(what, " element ", i, null), depth + 1));
          }
          return list;
        }
      }
      throw new IllegalStateException(field.kind().toString());
    }

    /** Skips one value of any type, with the same limits as a typed read. */
    private void skip(int depth) throws IOException {
      MessageFormat f = next();
      switch (f.getValueType()) {
        case ARRAY -> {
          depth(depth);
          int n = arrayHeader();
          for (int i = 0; i < n; i++) {
            skip(depth + 1);
          }
        }
        case MAP -> {
          int n = mapHeader(depth);
          for (int i = 0; i < 2 * n; i++) {
            skip(depth + 1);
          }
        }
        case STRING -> str("a string");
        case BINARY -> u.readPayloadAsReference(checkLength(u.unpackBinaryHeader(), "a bin"));
        case EXTENSION -> {
          int len = u.unpackExtensionTypeHeader().getLength();
          u.readPayloadAsReference(checkLength(len, "an ext"));
        }
        default -> u.skipValue(); // scalars: nil, bool, int, float
      }
    }

    /**
     * Reads a map key, checked as {@link #key} checks it but not yet decoded, and returns its
     * length: its bytes are in the scratch array when they fit there, else still unread.
     */
    private int keyLength(Object label) throws IOException {
      MessageFormat f = next();
      if (f.getValueType() != ValueType.STRING) {
        throw error(ErrorCode.INVALID_PAYLOAD, label + ": map keys must be str but one was " + name(f));
      }
      int len = u.unpackRawStringHeader();
      if (len < 0 || len > size - u.getTotalReadBytes()) {
        checkLength(len, new Text(label, " key", null, null)); // throws, naming the key
      }
      if (len <= d.scratch.length) {
        u.readPayload(d.scratch, 0, len);
      }
      return len;
    }

    private String key(Object label) throws IOException {
      MessageFormat f = next();
      if (f.getValueType() != ValueType.STRING) {
        throw error(ErrorCode.INVALID_PAYLOAD, label + ": map keys must be str but one was " + name(f));
      }
      return str(new Text(label, " key", null, null));
    }

    private String str(Object what) throws IOException {
      return str(u.unpackRawStringHeader(), what, true);
    }

    /** The string of the next {@code len} bytes (after its header). */
    private String str(int len, Object what, boolean cache) throws IOException {
      checkLength(len, what);
      if (len <= d.scratch.length) {
        u.readPayload(d.scratch, 0, len);
        return utf8(len, what, cache);
      }
      return utf8(u.readPayload(len), what);
    }

    /** Reads {@code len} bytes (checked): into the scratch array if they fit, else {@link #big}. */
    private void readInto(int len) throws IOException {
      if (len <= d.scratch.length) {
        u.readPayload(d.scratch, 0, len);
      } else {
        big = u.readPayload(len);
      }
    }

    /** The bytes of the last string or key too long for the scratch array. */
    private byte[] big;

    /** Decodes the {@code len} bytes just read: from the scratch array if they fit, else big. */
    private String utf8(int len, Object what, boolean cache) {
      if (len > d.scratch.length) {
        return utf8(big, what);
      }
      byte[] b = d.scratch;
      for (int i = 0; i < len; i++) {
        if (b[i] < 0) {
          return utf8(Arrays.copyOf(b, len), what);
        }
      }
      return d.ascii(b, len, cache);
    }

    private long integer(ErrorCode code, Object what) throws IOException {
      try {
        return u.unpackLong();
      } catch (MessageIntegerOverflowException e) {
        throw error(code, what + " does not fit a signed 64-bit integer");
      }
    }

    private byte[] payload(int len, Object what) throws IOException {
      return u.readPayload(checkLength(len, what));
    }

    private int checkLength(int len, Object what) {
      long left = size - u.getTotalReadBytes();
      if (len < 0 || len > left) {
        throw error(
            ErrorCode.BAD_FRAME,
            what + " declares " + Integer.toUnsignedString(len) + " bytes but only " + left
                + " are left in the frame");
      }
      return len;
    }

    private int mapHeader(int depth) throws IOException {
      depth(depth);
      int n = u.unpackMapHeader();
      long left = size - u.getTotalReadBytes();
      if (n < 0 || 2L * n > left) {
        throw error(
            ErrorCode.BAD_FRAME,
            "a map declares " + Integer.toUnsignedString(n) + " entries but only " + left
                + " bytes are left in the frame");
      }
      return n;
    }

    private int arrayHeader() throws IOException {
      int n = u.unpackArrayHeader();
      long left = size - u.getTotalReadBytes();
      if (n < 0 || n > left) {
        throw error(
            ErrorCode.BAD_FRAME,
            "an array declares " + Integer.toUnsignedString(n) + " elements but only " + left
                + " bytes are left in the frame");
      }
      return n;
    }

    private void depth(int depth) {
      if (depth > MAX_DEPTH) {
        throw error(ErrorCode.TOO_DEEP, "containers nested deeper than " + MAX_DEPTH + " levels");
      }
    }

    private String utf8(byte[] b, Object what) {
      boolean ascii = true;
      for (byte x : b) {
        if (x < 0) {
          ascii = false;
          break;
        }
      }
      if (ascii) {
        return new String(b, StandardCharsets.ISO_8859_1);
      }
      if (d.utf8 == null) {
        d.utf8 =
            StandardCharsets.UTF_8
                .newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
      }
      try {
        CharBuffer chars = d.utf8.reset().decode(ByteBuffer.wrap(b));
        return chars.toString();
      } catch (CharacterCodingException e) {
        throw error(ErrorCode.INVALID_UTF8, what + " is not valid UTF-8");
      }
    }

    private MessageFormat next() throws IOException {
      if (!u.hasNext()) {
        throw error(ErrorCode.BAD_FRAME, "truncated frame: a value is missing at its end");
      }
      MessageFormat f = u.getNextFormat();
      if (f == MessageFormat.NEVER_USED) {
        throw error(
            ErrorCode.BAD_FRAME,
            "byte 0xC1 at offset " + u.getTotalReadBytes() + " is not valid MessagePack");
      }
      return f;
    }

    private ValueType peekType() throws IOException {
      return next().getValueType();
    }

    private void expect(ValueType actual, ValueType expected, Object what, MessageFormat f) {
      if (actual != expected) {
        throw error(
            ErrorCode.INVALID_PAYLOAD, what + " must be " + name(expected) + " but was " + name(f));
      }
    }

    private ProtocolException error(ErrorCode code, String message) {
      return new ProtocolException(code, message, id, true);
    }

    private static String name(MessageFormat f) {
      return f == MessageFormat.NEVER_USED ? "the invalid byte 0xC1" : name(f.getValueType());
    }

    private static String name(ValueType t) {
      return switch (t) {
        case NIL -> "nil";
        case BOOLEAN -> "bool";
        case INTEGER -> "int";
        case FLOAT -> "float";
        case STRING -> "str";
        case BINARY -> "bin";
        case ARRAY -> "array";
        case MAP -> "map";
        case EXTENSION -> "ext";
      };
    }
  }
}
