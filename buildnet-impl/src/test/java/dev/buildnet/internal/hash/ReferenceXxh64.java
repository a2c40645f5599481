package dev.buildnet.internal.hash;

/**
 * XXH64 written from the specification (github.com/Cyan4973/xxHash, doc/xxhash_spec.md), slow and
 * obvious, to check lz4-java against something that shares no code with it.
 */
final class ReferenceXxh64 {
  private static final long P1 = 0x9E3779B185EBCA87L;
  private static final long P2 = 0xC2B2AE3D27D4EB4FL;
  private static final long P3 = 0x165667B19E3779F9L;
  private static final long P4 = 0x85EBCA77C2B2AE63L;
  private static final long P5 = 0x27D4EB2F165667C5L;

  private ReferenceXxh64() {}

  static long hash(byte[] input, long seed) {
    int length = input.length;
    int i = 0;
    long acc;
    if (length >= 32) {
      long v1 = seed + P1 + P2;
      long v2 = seed + P2;
      long v3 = seed;
      long v4 = seed - P1;
      for (; i <= length - 32; i += 32) {
        v1 = round(v1, readLong(input, i));
        v2 = round(v2, readLong(input, i + 8));
        v3 = round(v3, readLong(input, i + 16));
        v4 = round(v4, readLong(input, i + 24));
      }
      acc = Long.rotateLeft(v1, 1) + Long.rotateLeft(v2, 7) + Long.rotateLeft(v3, 12)
          + Long.rotateLeft(v4, 18);
      acc = merge(acc, v1);
      acc = merge(acc, v2);
      acc = merge(acc, v3);
      acc = merge(acc, v4);
    } else {
      acc = seed + P5;
    }
    acc += length;
    for (; i + 8 <= length; i += 8) {
      acc ^= round(0, readLong(input, i));
      acc = Long.rotateLeft(acc, 27) * P1 + P4;
    }
    if (i + 4 <= length) {
      acc ^= (readInt(input, i) & 0xFFFFFFFFL) * P1;
      acc = Long.rotateLeft(acc, 23) * P2 + P3;
      i += 4;
    }
    for (; i < length; i++) {
      acc ^= (input[i] & 0xFFL) * P5;
      acc = Long.rotateLeft(acc, 11) * P1;
    }
    acc ^= acc >>> 33;
    acc *= P2;
    acc ^= acc >>> 29;
    acc *= P3;
    acc ^= acc >>> 32;
    return acc;
  }

  private static long round(long acc, long lane) {
    acc += lane * P2;
    acc = Long.rotateLeft(acc, 31);
    return acc * P1;
  }

  private static long merge(long acc, long lane) {
    acc ^= round(0, lane);
    return acc * P1 + P4;
  }

  private static long readLong(byte[] b, int i) {
    return (readInt(b, i) & 0xFFFFFFFFL) | ((long) readInt(b, i + 4) << 32);
  }

  private static int readInt(byte[] b, int i) {
    return (b[i] & 0xFF) | (b[i + 1] & 0xFF) << 8 | (b[i + 2] & 0xFF) << 16 | (b[i + 3] & 0xFF) << 24;
  }
}
