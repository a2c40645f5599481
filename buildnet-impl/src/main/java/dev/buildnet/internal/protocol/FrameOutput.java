package dev.buildnet.internal.protocol;

import java.util.Arrays;
import org.msgpack.core.buffer.MessageBuffer;
import org.msgpack.core.buffer.MessageBufferOutput;

/**
 * A packer's output that writes every frame into one array, kept from frame to frame: msgpack's
 * {@code ArrayBufferOutput} takes a new 8 KiB buffer whenever the rest of its last one runs low
 * (every few frames) and a slice object at every flush. An array grown past {@link #KEPT_BYTES}
 * by a large frame is dropped at {@link #clear}, so a thread keeps at most that much.
 *
 * <p>Not thread-safe: one per thread, as the codec's encoders are.
 */
final class FrameOutput implements MessageBufferOutput {
  private static final int INITIAL_BYTES = 8192;
  static final int KEPT_BYTES = 64 * 1024;
  /** Room given to the packer at least, so that it does not ask again after every few bytes. */
  private static final int MIN_ROOM = 1024;

  private byte[] array = new byte[INITIAL_BYTES];
  private int size;

  @Override
  public MessageBuffer next(int minimumSize) {
    room(Math.max(minimumSize, MIN_ROOM));
    // The packer writes from the start of what it is given and then says how much it wrote.
    return MessageBuffer.wrap(array, size, array.length - size);
  }

  @Override
  public void writeBuffer(int length) {
    size += length;
  }

  @Override
  public void write(byte[] buffer, int offset, int length) {
    room(length);
    System.arraycopy(buffer, offset, array, size, length);
    size += length;
  }

  @Override
  public void add(byte[] buffer, int offset, int length) {
    write(buffer, offset, length); // copied: the caller may reuse its array
  }

  @Override
  public void flush() {}

  @Override
  public void close() {}

  /** The bytes written since the last {@link #clear}. */
  byte[] toByteArray() {
    return Arrays.copyOf(array, size);
  }

  /** Forgets what was written, for the next frame. */
  void clear() {
    size = 0;
    if (array.length > KEPT_BYTES) {
      array = new byte[INITIAL_BYTES];
    }
  }

  private void room(int needed) {
    if (array.length - size < needed) {
      long want = Math.max(2L * array.length, (long) size + needed);
      if (want > Integer.MAX_VALUE - 8) {
        throw new IllegalArgumentException("a frame of over 2 GiB cannot be encoded");
      }
      array = Arrays.copyOf(array, (int) want);
    }
  }
}
