package dev.buildnet.api.blob;

import dev.buildnet.api.hash.Digest;
import dev.buildnet.api.hash.HashProvider;
import dev.buildnet.api.hash.Hasher;
import java.io.IOException;
import java.io.InputStream;
import java.util.Objects;

/**
 * Serves a blob's bytes one chunk behind what it has read, so that the last chunk goes out only
 * once the whole blob hashed to its digest (see {@link BlobStore#verifying}). Two chunks of memory.
 */
final class VerifyingInputStream extends InputStream {
  private static final int CHUNK = 64 * 1024;

  private final InputStream in;
  private final Digest digest;
  private final Hasher hasher;
  private final Runnable onMismatch;
  private byte[] current = new byte[CHUNK];
  private int pos;
  private int limit;
  private byte[] next = new byte[CHUNK];
  private int nextLength;
  private boolean started;
  /** The source is exhausted and its bytes matched. */
  private boolean ended;
  private long size;
  private BlobException failure;

  VerifyingInputStream(InputStream in, Digest digest, HashProvider hashes, Runnable onMismatch) {
    this.in = Objects.requireNonNull(in, "in");
    this.digest = Objects.requireNonNull(digest, "digest");
    if (!digest.algorithm().equals(hashes.algorithm())) {
      throw new IllegalArgumentException("cannot verify " + digest + " with "
          + hashes.algorithm());
    }
    this.hasher = hashes.newHasher();
    this.onMismatch = onMismatch;
  }

  @Override
  public int read() throws IOException {
    if (!advance()) {
      return -1;
    }
    return current[pos++] & 0xff;
  }

  @Override
  public int read(byte[] b, int off, int len) throws IOException {
    Objects.checkFromIndexSize(off, len, b.length);
    if (len == 0) {
      return 0;
    }
    if (!advance()) {
      return -1;
    }
    int n = Math.min(len, limit - pos);
    System.arraycopy(current, pos, b, off, n);
    pos += n;
    return n;
  }

  @Override
  public int available() {
    return limit - pos;
  }

  @Override
  public void close() throws IOException {
    in.close();
  }

  /** Makes bytes ready to serve; false at the (verified) end. */
  private boolean advance() throws IOException {
    if (failure != null) {
      throw failure;
    }
    while (pos == limit) {
      if (!started) {
        started = true;
        nextLength = fill(next);
      }
      if (nextLength == 0) {
        return false;
      }
      byte[] swap = current;
      current = next;
      next = swap;
      pos = 0;
      limit = nextLength;
      nextLength = ended ? 0 : fill(next);
    }
    return true;
  }

  /** Reads up to a chunk into {@code into}, hashing it; verifies once the source is exhausted. */
  private int fill(byte[] into) throws IOException {
    int n = in.readNBytes(into, 0, CHUNK);
    hasher.update(into, 0, n);
    size += n;
    if (n < CHUNK) {
      Digest actual = hasher.digest();
      if (!actual.equals(digest)) {
        pos = limit = 0;
        failure = new BlobException(BlobException.Reason.CORRUPT, digest,
            "blob " + digest + " is corrupt: its " + size + " bytes hash to " + actual);
        if (onMismatch != null) {
          onMismatch.run();
        }
        throw failure;
      }
      ended = true;
    }
    return n;
  }
}
