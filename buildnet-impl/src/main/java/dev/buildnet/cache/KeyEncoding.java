package dev.buildnet.cache;

import dev.buildnet.api.hash.Digest;
import dev.buildnet.api.hash.HashProvider;
import dev.buildnet.api.hash.Hasher;
import java.io.BufferedOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Collection;
import java.util.Map;

/**
 * The bytes a cache key is the digest of. Every component starts with its own tag and every
 * string and list is length-prefixed, so no two different manifests encode to the same bytes:
 * argv {@code ["ab","c"]} and {@code ["a","bc"]}, or an argv element and an environment value,
 * cannot be confused. Changing this layout requires bumping {@link KeyManifest#FORMAT_VERSION}.
 */
final class KeyEncoding {
  private static final String MAGIC = "buildnet-cache-key";

  private KeyEncoding() {}

  static Digest key(HashProvider hashes, KeyManifest m) {
    Hasher hasher = hashes.newHasher();
    try (DataOutputStream out = new DataOutputStream(new BufferedOutputStream(new HasherStream(hasher), 8192))) {
      string(out, MAGIC);
      out.writeInt(m.formatVersion());
      out.writeByte('A');
      strings(out, m.argv());
      out.writeByte('W');
      string(out, m.workingDirectory());
      out.writeByte('E');
      digests(out, m.environment());
      out.writeByte('I');
      digests(out, m.inputs());
      out.writeByte('D');
      digests(out, m.dependencies());
      out.writeByte('O');
      strings(out, m.outputs());
      out.writeByte('B');
      if (m.bundler().isEmpty()) {
        out.writeBoolean(false);
      } else {
        KeyManifest.BundlerKey b = m.bundler().get();
        out.writeBoolean(true);
        string(out, b.adapter());
        string(out, b.version());
        out.writeInt(b.options().size());
        for (Map.Entry<String, String> option : b.options().entrySet()) {
          string(out, option.getKey());
          string(out, option.getValue());
        }
        strings(out, b.entrypoints());
        string(out, b.outDir());
      }
      out.writeByte('P');
      string(out, m.platform().os());
      string(out, m.platform().arch());
    } catch (IOException e) {
      throw new UncheckedIOException("hashing into memory failed", e);
    }
    return hasher.digest();
  }

  private static void digests(DataOutputStream out, Map<String, Digest> entries)
      throws IOException {
    out.writeInt(entries.size());
    for (Map.Entry<String, Digest> entry : entries.entrySet()) {
      string(out, entry.getKey());
      string(out, entry.getValue().toString());
    }
  }

  private static void strings(DataOutputStream out, Collection<String> values) throws IOException {
    out.writeInt(values.size());
    for (String value : values) {
      string(out, value);
    }
  }

  private static void string(DataOutputStream out, String value) throws IOException {
    byte[] bytes = value.getBytes(StandardCharsets.UTF_8);
    out.writeInt(bytes.length);
    out.write(bytes);
  }

  /** Feeds written bytes to a hasher; closing it does not finish the hasher. */
  private static final class HasherStream extends OutputStream {
    private final Hasher hasher;

    HasherStream(Hasher hasher) {
      this.hasher = hasher;
    }

    @Override
    public void write(int b) {
      hasher.update(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public void write(byte[] bytes, int offset, int length) {
      hasher.update(bytes, offset, length);
    }
  }
}
