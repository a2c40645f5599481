package dev.buildnet.exec;

import dev.buildnet.api.exec.OutputListener;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads one of a child's output streams to its end: keeps the first {@code capBytes} bytes and
 * hands every line to the listener as soon as its terminator arrives. The stream is always read
 * to the end, whatever the cap and whatever the listener does, so the child never blocks on a full
 * pipe.
 */
final class OutputPump implements Runnable {
  private static final Logger LOG = LoggerFactory.getLogger(OutputPump.class);
  // A line longer than this (minified JS on one line, a progress bar without newlines) reaches
  // the listener in pieces rather than growing a buffer without bound.
  static final int MAX_LINE_BYTES = 64 * 1024;

  private final InputStream in;
  private final OutputListener.Stream stream;
  private final OutputListener listener;
  private final int capBytes;
  private final String threadName;
  private final CompletableFuture<Void> done = new CompletableFuture<>();
  private final ByteArrayOutputStream captured = new ByteArrayOutputStream();
  private boolean truncated;
  private byte[] line = new byte[256];
  private int lineLength;
  private boolean listenerFailed;

  OutputPump(
      InputStream in,
      OutputListener.Stream stream,
      OutputListener listener,
      int capBytes,
      String threadName) {
    this.in = in;
    this.stream = stream;
    this.listener = listener;
    this.capBytes = capBytes;
    this.threadName = threadName;
  }

  /**
   * Completes once the stream has ended (every holder of its write end has closed it) and every
   * line has been delivered.
   */
  CompletableFuture<Void> done() {
    return done;
  }

  /** What was kept; read only after {@link #done()} has completed. */
  byte[] captured() {
    return captured.toByteArray();
  }

  /** Whether the stream produced more than the cap; read only after {@link #done()}. */
  boolean truncated() {
    return truncated;
  }

  @Override
  public void run() {
    Thread thread = Thread.currentThread();
    String previousName = thread.getName();
    thread.setName(threadName);
    // The JDK's exit hook for a child's pipe (ProcessPipeInputStream.processExited) closes it
    // under the same monitor as read(). Holding that monitor for the whole loop keeps the JDK from
    // closing the pipe early, so end-of-file here means every process holding the write end has
    // closed it: the provider relies on that to know whether a command left anything behind.
    try (InputStream input = in) {
      synchronized (input) {
        byte[] buffer = new byte[8192];
        int n;
        while ((n = input.read(buffer)) >= 0) {
          capture(buffer, n);
          split(buffer, n);
        }
      }
    } catch (IOException e) {
      LOG.debug("{}: stream ended with {}", threadName, e.toString());
    } finally {
      if (lineLength > 0) {
        emit(lineLength);
      }
      thread.setName(previousName);
      done.complete(null);
    }
  }

  private void capture(byte[] buffer, int n) {
    int room = capBytes - captured.size();
    if (n > room) {
      truncated = true;
    }
    if (room > 0) {
      captured.write(buffer, 0, Math.min(n, room));
    }
  }

  private void split(byte[] buffer, int n) {
    int start = 0;
    for (int i = 0; i < n; i++) {
      if (buffer[i] == '\n') {
        append(buffer, start, i - start);
        emit(lineLength);
        start = i + 1;
      }
    }
    append(buffer, start, n - start);
  }

  private void append(byte[] buffer, int offset, int length) {
    while (length > 0) {
      if (lineLength == MAX_LINE_BYTES) {
        emitPiece();
      }
      int take = Math.min(length, MAX_LINE_BYTES - lineLength);
      if (lineLength + take > line.length) {
        line = Arrays.copyOf(line, Math.min(MAX_LINE_BYTES, Math.max(line.length * 2, lineLength + take)));
      }
      System.arraycopy(buffer, offset, line, lineLength, take);
      lineLength += take;
      offset += take;
      length -= take;
    }
  }

  /** Delivers a full buffer, cut before any UTF-8 character that straddles the end. */
  private void emitPiece() {
    int last = lineLength - 1;
    while (last > 0 && last > lineLength - 4 && (line[last] & 0xC0) == 0x80) {
      last--;
    }
    int lead = line[last] & 0xFF;
    int width = lead < 0x80 ? 1 : lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
    boolean incomplete = last + width > lineLength;
    emit(incomplete && last > 0 ? last : lineLength);
  }

  /** Delivers the first {@code length} bytes of the line buffer and keeps the rest. */
  private void emit(int length) {
    int end = length;
    if (end > 0 && end == lineLength && line[end - 1] == '\r') {
      end--;
    }
    String text = new String(line, 0, end, StandardCharsets.UTF_8);
    System.arraycopy(line, length, line, 0, lineLength - length);
    lineLength -= length;
    if (listenerFailed) {
      return;
    }
    try {
      listener.onLine(stream, text);
    } catch (RuntimeException e) {
      // Stop calling a broken listener but keep draining, or the child would block on the pipe.
      listenerFailed = true;
      LOG.warn("{}: output listener failed; it gets no more lines", threadName, e);
    }
  }
}
