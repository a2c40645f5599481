package dev.buildnet.internal.hash;

import dev.buildnet.api.hash.Digest;
import dev.buildnet.api.hash.HashProvider;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Objects;

/**
 * Stream and file hashing shared by our providers. Input is read into one buffer of at most
 * {@link #CHUNK} bytes; input that fits in it is hashed in one shot (cheaper than setting up an
 * incremental computation, which for JNI XXH64 means a native allocation), anything longer is fed
 * to a {@link AbstractHasher} chunk by chunk. Stateless, so safe for concurrent use.
 */
abstract class ChunkedHashProvider implements HashProvider {
  /** The largest buffer one hash of a stream or file holds. */
  static final int CHUNK = 64 * 1024;

  /** Small files get a smaller buffer: allocating and zeroing 64 KiB per 1 KiB file adds up. */
  private static final int MIN_FILE_BUFFER = 8 * 1024;

  private final String algorithm;

  ChunkedHashProvider(String algorithm) {
    this.algorithm = algorithm;
  }

  @Override
  public final String algorithm() {
    return algorithm;
  }

  @Override
  public abstract AbstractHasher newHasher();

  /** The digest of {@code bytes[offset, offset + length)}, already range-checked. */
  abstract Digest oneShot(byte[] bytes, int offset, int length);

  @Override
  public final Digest hash(byte[] bytes, int offset, int length) {
    Objects.requireNonNull(bytes, "bytes");
    Objects.checkFromIndexSize(offset, length, bytes.length);
    return oneShot(bytes, offset, length);
  }

  @Override
  public final Digest hash(InputStream in) throws IOException {
    Objects.requireNonNull(in, "in");
    return hashAll(in, new byte[CHUNK]);
  }

  @Override
  public final Digest hash(Path file) throws IOException {
    Objects.requireNonNull(file, "file");
    // Throws NoSuchFileException naming the file; checking first also keeps us from opening a
    // FIFO (which would block) or hashing a device.
    BasicFileAttributes attributes = Files.readAttributes(file, BasicFileAttributes.class);
    requireRegularFile(file, attributes.isDirectory(), attributes.isRegularFile());
    // One byte more than the size, so a file that did not grow is read to its end in one buffer.
    long wanted = Math.max(MIN_FILE_BUFFER, attributes.size() + 1);
    int bufferSize = (int) Math.min(CHUNK, wanted);
    try (InputStream in = Files.newInputStream(file)) {
      return hashAll(in, new byte[bufferSize]);
    }
  }

  static void requireRegularFile(Path file, boolean directory, boolean regular)
      throws FileSystemException {
    if (directory) {
      throw new FileSystemException(file.toString(), null, "is a directory; only files can be hashed");
    }
    if (!regular) {
      throw new FileSystemException(
          file.toString(), null, "is not a regular file; only regular files can be hashed");
    }
  }

  private Digest hashAll(InputStream in, byte[] buffer) throws IOException {
    int n = fill(in, buffer);
    if (n < buffer.length) {
      return oneShot(buffer, 0, n);
    }
    try (AbstractHasher hasher = newHasher()) {
      while (n > 0) {
        hasher.update(buffer, 0, n);
        n = fill(in, buffer);
      }
      return hasher.digest();
    }
  }

  /**
   * Reads until {@code buffer} is full or the stream ends. Not {@code readNBytes}: some streams
   * override it to read once (ByteArrayInputStream subclasses do), and a short count taken for
   * the end would silently truncate the input.
   */
  private static int fill(InputStream in, byte[] buffer) throws IOException {
    int n = 0;
    while (n < buffer.length) {
      int read = in.read(buffer, n, buffer.length - n);
      if (read < 0) {
        break;
      }
      n += read;
    }
    return n;
  }
}
