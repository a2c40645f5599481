package dev.buildnet.internal.hash;

import dev.buildnet.internal.state.NativeLibrary;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Checks a batch of remembered regular files against their remembered stat fields in one native
 * call ({@code src/main/native/buildnet_stat.c}): a {@code statx} per file in a C loop, compared
 * there, one result per file. For a null build, which confirms every remembered input and output
 * by its stat: from the JVM, one {@link NativeStat} call per file cost 0.5–0.8 µs more than the
 * {@code statx} itself (JNA's per-call work and the transition), a target's inputs in one call do
 * not.
 *
 * <p>The answer per file is exactly {@link NativeStat#isRegularFileAt}'s ({@link NativeStat#SAME},
 * {@link NativeStat#CHANGED}, {@link NativeStat#UNKNOWN} where the JDK must answer), except that
 * a missing file is {@code CHANGED} rather than an exception.
 *
 * <p>Off where the library is not built (only Linux x86-64 is), does not load, or {@link
 * NativeStat} is off, and with {@code -Dbuildnet.stat.native=false}: callers then stat file by
 * file as before. A failure to load is logged once at debug level, never an error.
 *
 * <p>Use: {@link #batch}, {@link Batch#put} each file, {@link Batch#run}, {@link Batch#result};
 * on one thread (the batch is the thread's own), with no other batch between {@code batch} and
 * the last {@code result}.
 */
final class StatBatch {
  private static final Logger LOG = LoggerFactory.getLogger(StatBatch.class);
  /** The system property that turns the batched check off when it is {@code false}. */
  static final String SWITCH = "buildnet.stat.native";
  /** The library's resource, beside this class, for the one platform it is built for. */
  static final String RESOURCE = "native/linux-x86_64/libbuildnet-stat.so";

  // One entry (buildnet_stat.c): five longs, the path's offset, follow links, the result.
  static final int ENTRY_BYTES = 56;
  private static final int OFF_PATH = 40;
  private static final int OFF_FOLLOW = 44;
  private static final int OFF_RESULT = 48;
  private static final int INITIAL_BYTES = 8 * 1024;

  /** A thread's batch: the entries, then their paths, in one direct buffer. */
  static final class Batch {
    private ByteBuffer bytes = allocate(INITIAL_BYTES);
    private long address = address(bytes);
    private int paths;

    /** Writes entry {@code i}: the path as {@link NativeStat#encode} made it and the fields. */
    void put(int i, byte[] path, boolean followLinks, long size, long mtimeNanos,
        long ctimeNanos, long dev, long ino) {
      int o = i * ENTRY_BYTES;
      bytes.putLong(o, size).putLong(o + 8, mtimeNanos).putLong(o + 16, ctimeNanos)
          .putLong(o + 24, dev).putLong(o + 32, ino)
          .putInt(o + OFF_PATH, paths).putInt(o + OFF_FOLLOW, followLinks ? 1 : 0)
          .put(paths, path, 0, path.length);
      paths += path.length;
    }

    /** Checks the first {@code count} entries; returns how many are {@code SAME}. */
    int run(int count) {
      return check(address, count);
    }

    /** Entry {@code i}'s result after {@link #run}. */
    int result(int i) {
      return bytes.getInt(i * ENTRY_BYTES + OFF_RESULT);
    }
  }

  private static final ThreadLocal<Batch> BATCHES = ThreadLocal.withInitial(Batch::new);
  private static final boolean AVAILABLE = load();

  private StatBatch() {}

  /** Whether batches may be checked at all (else callers stat file by file). */
  static boolean available() {
    return AVAILABLE;
  }

  /**
   * The thread's batch, made ready for {@code count} entries whose encoded paths (each with its
   * NUL) take {@code pathBytes} in all.
   */
  static Batch batch(int count, int pathBytes) {
    Batch b = BATCHES.get();
    long needed = (long) count * ENTRY_BYTES + pathBytes;
    if (needed > Integer.MAX_VALUE - 8) {
      throw new IllegalArgumentException("a batch of " + count + " files is too large");
    }
    if (b.bytes.capacity() < needed) {
      b.bytes = allocate((int) Math.min(Math.max(needed, 2L * b.bytes.capacity()),
          Integer.MAX_VALUE - 8));
      b.address = address(b.bytes);
    }
    b.paths = count * ENTRY_BYTES;
    return b;
  }

  private static native int check(long buffer, int count);

  private static native long address(ByteBuffer buffer);

  private static ByteBuffer allocate(int bytes) {
    return ByteBuffer.allocateDirect(bytes).order(ByteOrder.nativeOrder());
  }

  private static boolean load() {
    String why = whyNot(System.getProperty(SWITCH), System.getProperty("os.name"),
        System.getProperty("os.arch"));
    if (why != null) {
      LOG.debug("Batched file checks off ({}); files are stat'ed one by one", why);
      return false;
    }
    return true;
  }

  /** Null if the library loaded and links, otherwise why it is not used. */
  static String whyNot(String switchValue, String osName, String osArch) {
    if ("false".equalsIgnoreCase(switchValue)) {
      return "-D" + SWITCH + "=false";
    }
    if (!NativeStat.available()) {
      return "the native stat is off";
    }
    if (!"Linux".equals(osName) || !("amd64".equals(osArch) || "x86_64".equals(osArch))) {
      return "built only for Linux x86-64, not " + osName + " " + osArch;
    }
    String whyNot = NativeLibrary.load(StatBatch.class, RESOURCE);
    if (whyNot != null) {
      return whyNot;
    }
    try {
      ByteBuffer probe = allocate(16);
      check(address(probe), 0); // both functions link
      return address(probe) != 0 ? null : "no direct buffer address";
    } catch (UnsatisfiedLinkError e) {
      return RESOURCE + " does not match this BuildNet: " + e.getMessage();
    }
  }
}
