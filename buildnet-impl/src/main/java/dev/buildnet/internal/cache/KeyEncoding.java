package dev.buildnet.internal.cache;

import dev.buildnet.api.hash.Digest;
import dev.buildnet.api.hash.HashProvider;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The bytes a cache key is the digest of. Every component starts with its own tag and every
 * string and list is length-prefixed, so no two different manifests encode to the same bytes:
 * argv {@code ["ab","c"]} and {@code ["a","bc"]}, or an argv element and an environment value,
 * cannot be confused. Changing this layout requires bumping {@link KeyManifest#FORMAT_VERSION}.
 */
final class KeyEncoding {
  private static final String MAGIC = "buildnet-cache-key";
  private static final String OUTPUTS_MAGIC = "buildnet-outputs";

  private KeyEncoding() {}

  static Digest key(HashProvider hashes, KeyManifest m) {
    // The whole encoding is a few hundred bytes: build it in one array and hash it in one call,
    // rather than streaming it through a DataOutputStream, an 8 KiB buffer and a hasher's own
    // staging buffer per key (the bytes, and so the key, are the same).
    Bytes out = Bytes.reused();
    out.string(MAGIC);
    out.writeInt(m.formatVersion());
    out.writeByte('A');
    out.strings(m.argv());
    out.writeByte('W');
    out.string(m.workingDirectory());
    out.writeByte('E');
    out.digests(m.environment());
    out.writeByte('I');
    out.digests(m.inputs());
    out.writeByte('D');
    out.digests(m.dependencies());
    out.writeByte('O');
    out.strings(m.outputs());
    out.writeByte('B');
    if (m.bundler().isEmpty()) {
      out.writeBoolean(false);
    } else {
      KeyManifest.BundlerKey b = m.bundler().get();
      out.writeBoolean(true);
      out.string(b.adapter());
      out.string(b.version());
      out.writeInt(b.options().size());
      for (Map.Entry<String, String> option : b.options().entrySet()) {
        out.string(option.getKey());
        out.string(option.getValue());
      }
      out.strings(b.entrypoints());
      out.string(b.outDir());
    }
    out.writeByte('P');
    out.string(m.platform().os());
    out.string(m.platform().arch());
    return out.hashAndRelease(hashes);
  }

  /**
   * The digest of a dependency's outputs (docs/CACHE-KEY.md, "Output digest"): files sorted by
   * path in UTF-16 order (String order), each path, digest text and executable bit; then the
   * directories, sorted. Sizes are left out: the digest determines them.
   */
  static Digest outputDigest(HashProvider hashes, List<ActionManifest.Output> files,
      List<String> directories) {
    TreeMap<String, ActionManifest.Output> sorted = new TreeMap<>();
    for (ActionManifest.Output o : files) {
      sorted.put(o.path(), o);
    }
    Bytes out = Bytes.reused();
    out.string(OUTPUTS_MAGIC);
    out.writeByte('F');
    out.writeInt(sorted.size());
    for (ActionManifest.Output o : sorted.values()) {
      out.string(o.path());
      out.string(o.digest());
      out.writeBoolean(o.executable());
    }
    out.writeByte('R');
    out.strings(new TreeSet<>(directories));
    return out.hashAndRelease(hashes);
  }

  /**
   * A growable byte array written as {@link java.io.DataOutputStream} would: ints big-endian,
   * booleans as one byte 0 or 1, strings as their UTF-8 length (an int) and bytes.
   */
  private static final class Bytes {
    /** Kept per thread up to this size: a key per target no longer allocates (and grows) one. */
    private static final int KEEP = 64 * 1024;
    private static final ThreadLocal<Bytes> REUSED = ThreadLocal.withInitial(Bytes::new);

    byte[] bytes = new byte[1024];
    int size;
    private boolean inUse;

    /** This thread's buffer, emptied; a fresh one if it is in use (hashing never re-enters). */
    static Bytes reused() {
      Bytes b = REUSED.get();
      if (b.inUse) {
        return new Bytes();
      }
      b.inUse = true;
      b.size = 0;
      return b;
    }

    /** The digest of the bytes written; the buffer is then free for the next key. */
    Digest hashAndRelease(HashProvider hashes) {
      try {
        return hashes.hash(bytes, 0, size);
      } finally {
        inUse = false;
        if (bytes.length > KEEP) {
          bytes = new byte[1024]; // an exceptional key's buffer is not kept for good
        }
      }
    }

    private void ensure(int more) {
      if (size + more > bytes.length) {
        bytes = Arrays.copyOf(bytes, Math.max(bytes.length * 2, size + more));
      }
    }

    void writeByte(int b) {
      ensure(1);
      bytes[size++] = (byte) b;
    }

    void writeBoolean(boolean b) {
      writeByte(b ? 1 : 0);
    }

    void writeInt(int v) {
      ensure(4);
      bytes[size++] = (byte) (v >>> 24);
      bytes[size++] = (byte) (v >>> 16);
      bytes[size++] = (byte) (v >>> 8);
      bytes[size++] = (byte) v;
    }

    void string(String value) {
      int n = value.length();
      int at = size + 4;
      ensure(4 + n);
      int i = 0;
      // ASCII (names, paths, digests): written as is, which is its UTF-8, without a copy.
      for (; i < n; i++) {
        char c = value.charAt(i);
        if (c >= 0x80) {
          break;
        }
        bytes[at + i] = (byte) c;
      }
      if (i == n) {
        writeInt(n);
        size += n;
        return;
      }
      byte[] utf8 = value.getBytes(StandardCharsets.UTF_8);
      writeInt(utf8.length);
      ensure(utf8.length);
      System.arraycopy(utf8, 0, bytes, size, utf8.length);
      size += utf8.length;
    }

    void strings(Collection<String> values) {
      writeInt(values.size());
      for (String value : values) {
        string(value);
      }
    }

    void digests(Map<String, Digest> entries) {
      writeInt(entries.size());
      for (Map.Entry<String, Digest> entry : entries.entrySet()) {
        string(entry.getKey());
        string(entry.getValue().toString());
      }
    }
  }
}
