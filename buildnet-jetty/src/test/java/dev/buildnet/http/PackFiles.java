package dev.buildnet.http;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads the HTTP cache's pack segments the way a disk sees them, for tests that damage a packed
 * entry in place: a record is a 62-byte header (magic, kind, namespace, key and type lengths, data
 * length, kill location, SHA-256), the namespace, key, type and data, and a CRC-32C.
 */
final class PackFiles {
  private PackFiles() {}

  /** Where an entry's data lies: its segment file, the data's offset and length. */
  record Where(Path segment, long recordStart, long dataOffset, int dataLength, long recordEnd) {}

  /** The segment files of a cache directory, oldest first. */
  static List<Path> segments(Path cacheDir) throws IOException {
    List<Path> out = new ArrayList<>();
    Path dir = cacheDir.resolve("pack");
    if (Files.isDirectory(dir)) {
      try (var s = Files.list(dir)) {
        s.filter(p -> p.toString().endsWith(".seg")).sorted().forEach(out::add);
      }
    }
    return out;
  }

  /** The newest entry record of {@code namespace/key}, or null. */
  static Where find(Path cacheDir, String namespace, String key) throws IOException {
    Where found = null;
    for (Path seg : segments(cacheDir)) {
      byte[] a = Files.readAllBytes(seg);
      ByteBuffer b = ByteBuffer.wrap(a);
      int pos = 0;
      while (pos + PackStore.HEADER + 4 <= a.length) {
        b.position(pos);
        b.getInt();
        byte kind = b.get();
        int nsLen = b.get() & 0xff;
        int keyLen = b.getShort() & 0xffff;
        int typeLen = b.getShort() & 0xffff;
        int dataLen = b.getInt();
        int o = pos + PackStore.HEADER;
        String ns = new String(a, o, nsLen, StandardCharsets.UTF_8);
        String k = new String(a, o + nsLen, keyLen, StandardCharsets.UTF_8);
        int data = o + nsLen + keyLen + typeLen;
        int end = data + dataLen + 4;
        if (kind == PackStore.ENTRY && ns.equals(namespace) && k.equals(key)) {
          found = new Where(seg, pos, data, dataLen, end);
        }
        pos = end;
      }
    }
    return found;
  }

  /** Overwrites the entry's data in place with {@code bytes} (of the same length). */
  static void overwrite(Where w, byte[] bytes) throws IOException {
    if (bytes.length != w.dataLength()) {
      throw new IllegalArgumentException(bytes.length + " bytes for a " + w.dataLength() + "-byte entry");
    }
    try (var ch = java.nio.channels.FileChannel.open(w.segment(),
        java.nio.file.StandardOpenOption.WRITE)) {
      ByteBuffer b = ByteBuffer.wrap(bytes);
      while (b.hasRemaining()) {
        ch.write(b, w.dataOffset() + b.position());
      }
    }
  }

  /** Flips one bit in the middle of the entry's data. */
  static void flipOneByte(Where w) throws IOException {
    flipByteAt(w.segment(), w.dataOffset() + w.dataLength() / 2);
  }

  /** Flips one bit of the first byte of the entry's key. */
  static void flipKeyByte(Where w, String namespace) throws IOException {
    flipByteAt(w.segment(), w.recordStart() + PackStore.HEADER
        + namespace.getBytes(StandardCharsets.UTF_8).length);
  }

  private static void flipByteAt(Path segment, long at) throws IOException {
    try (var ch = java.nio.channels.FileChannel.open(segment,
        java.nio.file.StandardOpenOption.READ, java.nio.file.StandardOpenOption.WRITE)) {
      ByteBuffer one = ByteBuffer.allocate(1);
      ch.read(one, at);
      one.put(0, (byte) (one.get(0) ^ 0x20));
      one.rewind();
      ch.write(one, at);
    }
  }
}
