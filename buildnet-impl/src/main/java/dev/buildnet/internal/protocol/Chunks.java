package dev.buildnet.internal.protocol;

import java.io.IOException;
import java.io.InputStream;
import java.util.Arrays;

/** Reading a blob's next chunk for BLOB_PUT and BLOB_CHUNK. */
public final class Chunks {
  private Chunks() {}

  /**
   * The next {@code max} bytes of {@code in} (fewer only at its end; empty at the end), read
   * straight into the chunk's array. Not {@link InputStream#readNBytes(int)}: in JDK 17 that
   * reads 8 KiB at a time into separate arrays and copies them together, which for a file's
   * stream is 128 reads and two extra copies per MiB.
   */
  public static byte[] read(InputStream in, int max) throws IOException {
    return read(in, new byte[max]);
  }

  /**
   * The next {@code into.length} bytes of {@code in} read into {@code into}, which is returned
   * when filled (a copy of the part read only at the end of {@code in}): a caller that no longer
   * needs its previous chunk passes that chunk's array instead of allocating one per chunk.
   */
  public static byte[] read(InputStream in, byte[] into) throws IOException {
    byte[] chunk = into;
    int max = into.length;
    int n = 0;
    while (n < max) {
      int r = in.read(chunk, n, max - n);
      if (r < 0) {
        break;
      }
      n += r;
    }
    return n == max ? chunk : Arrays.copyOf(chunk, n);
  }
}
