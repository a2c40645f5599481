package dev.buildnet.internal.exec;

/** Where to cut UTF-8 bytes so that no character is split in two. */
final class Utf8Cut {
  private Utf8Cut() {}

  /**
   * The largest {@code end <= length} such that {@code bytes[0, end)} does not end in the middle of
   * a character (bytes that are not UTF-8 at all are left as they are).
   */
  static int endBeforeIncomplete(byte[] bytes, int length) {
    if (length == 0) {
      return 0;
    }
    int last = length - 1;
    while (last > 0 && last > length - 4 && (bytes[last] & 0xC0) == 0x80) {
      last--;
    }
    int lead = bytes[last] & 0xFF;
    int width = lead < 0x80 ? 1 : lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
    return last + width > length ? last : length;
  }

  /** How many leading bytes are continuation bytes of a character cut off before (at most 3). */
  static int startAfterContinuations(byte[] bytes) {
    int start = 0;
    while (start < Math.min(3, bytes.length) && (bytes[start] & 0xC0) == 0x80) {
      start++;
    }
    return start;
  }
}
