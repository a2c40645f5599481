package dev.buildnet.internal.engine;

import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * Keeps what a remote target printed, line by line, within a byte cap: all of it if it fits,
 * otherwise its first lines (up to half the cap) and its latest lines (the other half) around a
 * {@code [buildnet: N bytes omitted]} line, as a local target's output is kept. Thread-safe.
 */
final class LogCapture {
  private final long headCap;
  private final long tailCap;
  private final List<byte[]> head = new ArrayList<>();
  /** Made when the head is full: most targets print little, and every remote attempt has two. */
  private ArrayDeque<byte[]> tail;
  private long headBytes;
  private long tailBytes;
  private long omitted;
  private boolean headFull;

  LogCapture(long capBytes) {
    this.tailCap = capBytes / 2;
    this.headCap = capBytes - tailCap;
  }

  synchronized void add(String text) {
    byte[] line = (text + "\n").getBytes(StandardCharsets.UTF_8);
    if (!headFull && headBytes + line.length <= headCap) {
      head.add(line);
      headBytes += line.length;
      return;
    }
    headFull = true; // later lines, however short, belong to the tail: the head stays in order
    if (line.length > tailCap) {
      omitted += line.length;
      return;
    }
    if (tail == null) {
      tail = new ArrayDeque<>();
    }
    tail.addLast(line);
    tailBytes += line.length;
    while (tailBytes > tailCap) {
      byte[] dropped = tail.removeFirst();
      tailBytes -= dropped.length;
      omitted += dropped.length;
    }
  }

  synchronized boolean isEmpty() {
    return head.isEmpty() && (tail == null || tail.isEmpty()) && omitted == 0;
  }

  synchronized byte[] bytes() {
    byte[] marker = omitted == 0 ? new byte[0]
        : ("[buildnet: " + omitted + " bytes omitted]\n").getBytes(StandardCharsets.UTF_8);
    byte[] all = new byte[(int) (headBytes + marker.length + tailBytes)];
    int at = 0;
    for (byte[] l : head) {
      System.arraycopy(l, 0, all, at, l.length);
      at += l.length;
    }
    System.arraycopy(marker, 0, all, at, marker.length);
    at += marker.length;
    for (byte[] l : tail == null ? List.<byte[]>of() : tail) {
      System.arraycopy(l, 0, all, at, l.length);
      at += l.length;
    }
    return all;
  }
}
