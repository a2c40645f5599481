package dev.buildnet.internal.hash;

import com.sun.jna.Native;
import com.sun.jna.Platform;
import com.sun.jna.Pointer;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.Charset;
import java.nio.charset.CharsetEncoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A file's stat with one Linux {@code statx} call through JNA's direct mapping, decoded from a
 * per-thread buffer. {@link FileStat#read} uses it instead of {@code
 * Files.readAttributes(p, "unix:...")}, which splits the attribute list, builds a set and a map
 * and boxes every value on each call: most of what a null build allocated.
 *
 * <p>It reports exactly what the JDK's {@code stat}/{@code lstat} reports (the fields are the same
 * kernel values; the device number is encoded as glibc's {@code makedev} does for {@code
 * st_dev}), so stats taken either way compare equal and the file state written by one is used by
 * the other. Whatever it cannot answer exactly it leaves to the JDK by returning null: a path
 * that does not fit the buffer, a name that may not round-trip through the file-name encoding, a
 * file system that does not report a field, and every error but "no such file" (whose exception
 * it makes as the JDK does), so the exceptions stay the JDK's own.
 *
 * <p>Off (everything goes through the JDK) where JNA, glibc's {@code statx} or the system call is
 * missing, on 32-bit JVMs, or with {@code -Dbuildnet.jdkStat=true}.
 */
final class NativeStat {
  private static final Logger LOG = LoggerFactory.getLogger(NativeStat.class);
  /** Forces the JDK's attribute reads, e.g. to rule this class out when chasing a problem. */
  static final String JDK_STAT_PROPERTY = "buildnet.jdkStat";

  private static final int AT_FDCWD = -100;
  private static final int AT_SYMLINK_NOFOLLOW = 0x100;
  private static final int STATX_TYPE = 0x1;
  private static final int STATX_MODE = 0x2;
  private static final int STATX_MTIME = 0x40;
  private static final int STATX_CTIME = 0x80;
  private static final int STATX_INO = 0x100;
  private static final int STATX_SIZE = 0x200;
  private static final int WANTED =
      STATX_TYPE | STATX_MODE | STATX_MTIME | STATX_CTIME | STATX_INO | STATX_SIZE;
  private static final int ENOENT = 2;
  private static final int EINTR = 4;

  // struct statx (linux/stat.h): the same layout on every architecture.
  private static final int STATX_SIZE_BYTES = 256;
  private static final int OFF_MASK = 0;
  private static final int OFF_MODE = 28;
  private static final int OFF_INO = 32;
  private static final int OFF_SIZE = 40;
  private static final int OFF_CTIME = 96;
  private static final int OFF_MTIME = 112;
  private static final int OFF_DEV_MAJOR = 136;
  private static final int OFF_DEV_MINOR = 140;
  /** PATH_MAX, with its terminating NUL; a longer name is the JDK's to report. */
  private static final int PATH_BYTES = 4096;

  /** The encoding the JDK uses for file names (what {@code UnixPath} encodes with). */
  private static final Charset NAMES = fileNameEncoding();

  /** The C library's {@code statx}, bound once at class load (JNA direct mapping). */
  private static final class Libc {
    static native int statx(int dirfd, long path, int flags, int mask, long statxbuf);
  }

  /** One per thread: the statx result, then the NUL-terminated path. */
  private static final class Buffer {
    final ByteBuffer bytes =
        ByteBuffer.allocateDirect(STATX_SIZE_BYTES + PATH_BYTES).order(ByteOrder.nativeOrder());
    final long address = Pointer.nativeValue(Native.getDirectBufferPointer(bytes));
    CharsetEncoder encoder;
    /** The ASCII path's bytes, copied into {@link #bytes} at once rather than a put per byte. */
    final byte[] path = new byte[PATH_BYTES];
  }

  private static final ThreadLocal<Buffer> BUFFERS = ThreadLocal.withInitial(Buffer::new);
  /** Last: {@link #load} uses the fields above. */
  private static final boolean AVAILABLE = load();

  private NativeStat() {}

  /** Whether {@link #read} may answer at all (else the JDK reads every stat). */
  static boolean available() {
    return AVAILABLE;
  }

  /**
   * The stat of {@code path} ({@code lstat} if not {@code followLinks}), or null where the JDK must
   * answer (see the class documentation).
   *
   * @param path the path as {@code Path.toString()} gives it (relative ones are against the
   *     working directory, as for the JDK; "" means ".")
   * @throws NoSuchFileException if it does not exist, as the JDK would throw it
   */
  static FileStat read(String path, boolean followLinks) throws IOException {
    Buffer buffer = BUFFERS.get();
    if (!putPath(buffer, path.isEmpty() ? "." : path)) {
      return null;
    }
    return statx(buffer, path, followLinks) ? decode(buffer.bytes) : null;
  }

  /**
   * {@link #read(String, boolean)} of a path already {@link #encode encoded}: a caller that stats
   * the same file on every build encodes it once rather than on each stat.
   *
   * @param path what {@link #encode} made of {@code name}
   * @param name the path as text, for the exception
   */
  static FileStat read(byte[] path, String name, boolean followLinks) throws IOException {
    Buffer buffer = BUFFERS.get();
    buffer.bytes.put(STATX_SIZE_BYTES, path, 0, path.length);
    return statx(buffer, name, followLinks) ? decode(buffer.bytes) : null;
  }

  /** {@link #isRegularFileAt}: the stat is that of a regular file with exactly those fields. */
  static final int SAME = 1;
  /** {@link #isRegularFileAt}: the file is not that regular file at those fields. */
  static final int CHANGED = 0;
  /** {@link #isRegularFileAt}: left to the JDK, as {@link #read} would return null. */
  static final int UNKNOWN = -1;

  /**
   * Whether {@code read(path, name, followLinks)} would be a regular file's {@link FileStat#unix}
   * of exactly these fields, without making one (a null build asks this once per input and
   * output): {@link #SAME}, {@link #CHANGED}, or {@link #UNKNOWN} where {@link #read} would return
   * null.
   *
   * @throws NoSuchFileException as {@link #read} does
   */
  static int isRegularFileAt(byte[] path, String name, boolean followLinks, long size,
      long mtimeNanos, long ctimeNanos, long dev, long ino) throws IOException {
    Buffer buffer = BUFFERS.get();
    ByteBuffer b = buffer.bytes;
    b.put(STATX_SIZE_BYTES, path, 0, path.length);
    if (!statx(buffer, name, followLinks)) {
      return UNKNOWN;
    }
    int mode = b.getShort(OFF_MODE) & 0xffff;
    return (mode & FileStat.S_IFMT) == FileStat.S_IFREG && b.getLong(OFF_SIZE) == size
        && b.getLong(OFF_INO) == ino && nanos(b, OFF_MTIME) == mtimeNanos
        && nanos(b, OFF_CTIME) == ctimeNanos && dev(b) == dev ? SAME : CHANGED;
  }

  /**
   * {@code path} NUL-terminated in the bytes {@link #read(String, boolean)} would hand to {@code
   * statx}, or null where that would leave it to the JDK (too long, or a name that may not
   * round-trip through the file-name encoding).
   */
  static byte[] encode(String path) {
    Buffer buffer = BUFFERS.get();
    if (!putPath(buffer, path.isEmpty() ? "." : path)) {
      return null;
    }
    int n = 0;
    while (buffer.bytes.get(STATX_SIZE_BYTES + n) != 0) {
      n++;
    }
    byte[] encoded = new byte[n + 1];
    buffer.bytes.get(STATX_SIZE_BYTES, encoded, 0, n + 1);
    return encoded;
  }

  /**
   * Stats the path {@code buffer} holds after its statx area into the statx area: false where the
   * JDK must answer (an error but "no such file", a field the file system does not report).
   */
  private static boolean statx(Buffer buffer, String path, boolean followLinks)
      throws IOException {
    ByteBuffer b = buffer.bytes;
    int flags = followLinks ? 0 : AT_SYMLINK_NOFOLLOW;
    int rc;
    do {
      rc = Libc.statx(AT_FDCWD, buffer.address + STATX_SIZE_BYTES, flags, WANTED, buffer.address);
    } while (rc != 0 && Native.getLastError() == EINTR);
    if (rc != 0) {
      if (Native.getLastError() == ENOENT) {
        throw new NoSuchFileException(path);
      }
      return false; // the JDK makes its own exception for it (or finds it there after all)
    }
    return (b.getInt(OFF_MASK) & WANTED) == WANTED;
  }

  private static FileStat decode(ByteBuffer b) {
    int mode = b.getShort(OFF_MODE) & 0xffff;
    return FileStat.unix(b.getLong(OFF_SIZE), nanos(b, OFF_MTIME), nanos(b, OFF_CTIME), dev(b),
        b.getLong(OFF_INO), mode);
  }

  private static long dev(ByteBuffer b) {
    return makedev(b.getInt(OFF_DEV_MAJOR) & 0xffffffffL, b.getInt(OFF_DEV_MINOR) & 0xffffffffL);
  }

  /** glibc's {@code makedev}, which is how {@code st_dev} (and so the JDK's "unix:dev") encodes. */
  static long makedev(long major, long minor) {
    return ((major & 0xfffff000L) << 32) | ((major & 0x00000fffL) << 8)
        | ((minor & 0xffffff00L) << 12) | (minor & 0x000000ffL);
  }

  /**
   * A statx_timestamp in nanoseconds since the epoch, as {@code FileTime.to(NANOSECONDS)} gives
   * the JDK's: saturated where it does not fit.
   */
  private static long nanos(ByteBuffer b, int offset) {
    long seconds = b.getLong(offset);
    long nanos = b.getInt(offset + 8) & 0xffffffffL;
    long high = Math.multiplyHigh(seconds, 1_000_000_000L);
    long low = seconds * 1_000_000_000L;
    if ((high == 0 && low >= 0) || (high == -1 && low < 0)) {
      long sum = low + nanos;
      if (((low ^ sum) & (nanos ^ sum)) >= 0) {
        return sum;
      }
    }
    return seconds < 0 ? Long.MIN_VALUE : Long.MAX_VALUE;
  }

  /**
   * Writes {@code path}, encoded as the JDK encodes file names, and a NUL after the statx area;
   * false if it does not fit or may not be the bytes the JDK would use.
   */
  private static boolean putPath(Buffer buffer, String path) {
    ByteBuffer b = buffer.bytes;
    int n = path.length();
    if (n >= PATH_BYTES) {
      return false;
    }
    byte[] ascii = buffer.path;
    int i = 0;
    for (; i < n; i++) {
      char c = path.charAt(i);
      if (c >= 0x80) {
        break;
      }
      if (c == 0) {
        return false; // the JDK refuses such a path itself
      }
      ascii[i] = (byte) c;
    }
    if (i == n) {
      ascii[n] = 0;
      b.put(STATX_SIZE_BYTES, ascii, 0, n + 1);
      return true;
    }
    return putEncoded(buffer, path);
  }

  /**
   * The non-ASCII case. A name the JDK read from a directory whose bytes are not valid in the
   * encoding decodes to U+FFFD, and encoding that back gives other bytes: such a path is the JDK's
   * (it kept the original bytes).
   */
  private static boolean putEncoded(Buffer buffer, String path) {
    if (path.indexOf('\uFFFD') >= 0 || path.indexOf('\0') >= 0) {
      return false;
    }
    if (buffer.encoder == null) {
      buffer.encoder = NAMES.newEncoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT);
    }
    ByteBuffer encoded;
    try {
      encoded = buffer.encoder.reset().encode(CharBuffer.wrap(path));
    } catch (CharacterCodingException e) {
      return false;
    }
    int length = encoded.remaining();
    if (length >= PATH_BYTES) {
      return false;
    }
    ByteBuffer b = buffer.bytes;
    for (int i = 0; i < length; i++) {
      byte x = encoded.get(i);
      if (x == 0) {
        return false; // an encoding with NUL bytes in it is not one Unix file names use
      }
      b.put(STATX_SIZE_BYTES + i, x);
    }
    b.put(STATX_SIZE_BYTES + length, (byte) 0);
    return true;
  }

  /** {@code sun.jnu.encoding}, as the JDK's Unix file system reads it. */
  static Charset fileNameEncoding() {
    String name = System.getProperty("sun.jnu.encoding");
    try {
      return name == null ? StandardCharsets.UTF_8 : Charset.forName(name);
    } catch (RuntimeException e) {
      return StandardCharsets.UTF_8;
    }
  }

  private static boolean load() {
    if (Boolean.getBoolean(JDK_STAT_PROPERTY)) {
      return false;
    }
    try {
      if (!Platform.isLinux() || Native.POINTER_SIZE != 8) {
        return false;
      }
      Native.register(Libc.class, "c");
      // A kernel before 4.11 or a sandbox that refuses statx: find out once, here.
      Buffer buffer = BUFFERS.get();
      buffer.bytes.put(STATX_SIZE_BYTES, (byte) '/').put(STATX_SIZE_BYTES + 1, (byte) 0);
      if (Libc.statx(AT_FDCWD, buffer.address + STATX_SIZE_BYTES, 0, WANTED, buffer.address) != 0) {
        LOG.debug("statx failed (errno {}); file stats go through the JDK", Native.getLastError());
        return false;
      }
      return true;
    } catch (LinkageError | RuntimeException e) {
      LOG.debug("statx is not available ({}); file stats go through the JDK", e.toString());
      return false;
    }
  }
}
