package dev.buildnet.internal.exec;

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
 * Reads one of a child's output streams to its end: keeps its head and its tail, {@code capBytes}
 * in all, and hands every line to the listener as soon as its terminator arrives. The stream is
 * always read to the end, whatever the cap and whatever the listener does, so the child never
 * blocks on a full pipe; memory does not grow with the output (at most {@code capBytes} plus one
 * line).
 *
 * <p>If handling the output fails (a listener that throws an {@link Error}, such as an {@link
 * OutOfMemoryError}, or a bug here), the pump stops handling it but goes on draining the pipe, and
 * reports the failure through {@link #failed()} so that the command fails instead of hanging.
 */
public final class OutputPump implements Runnable {
  private static final Logger LOG = LoggerFactory.getLogger(OutputPump.class);
  // A line longer than this (minified JS on one line, a progress bar without newlines) reaches
  // the listener in pieces rather than growing a buffer without bound.
  static final int MAX_LINE_BYTES = 64 * 1024;

  private final InputStream in;
  private final OutputListener.Stream stream;
  private final OutputListener listener;
  private final int capBytes;
  private final int headCap;
  private final int tailCap;
  private final String threadName;
  private final CompletableFuture<Void> done = new CompletableFuture<>();
  private final CompletableFuture<Throwable> failed = new CompletableFuture<>();
  // Allocated up front: draining must not need memory, or an exhausted heap would stop it. Only
  // for run(): a CommandLoop reads into buffers of its own.
  private final byte[] buffer;
  private final ByteArrayOutputStream head = new ByteArrayOutputStream();
  private byte[] tail; // a ring of the last bytes, allocated once the head is full
  private int tailPos;
  private int tailFilled;
  private long total;
  private byte[] line = new byte[256];
  private int lineLength;
  private boolean listenerFailed;
  private volatile Throwable failure;

  /**
   * @param in the stream {@link #run()} reads; null for a pump fed through {@link #accept} and
   *     {@link #end()} by a {@link CommandLoop}
   */
  public OutputPump(
      InputStream in,
      OutputListener.Stream stream,
      OutputListener listener,
      int capBytes,
      String threadName) {
    this.in = in;
    this.stream = stream;
    this.listener = listener;
    this.capBytes = capBytes;
    this.tailCap = capBytes / 2;
    this.headCap = capBytes - tailCap;
    this.threadName = threadName;
    this.buffer = in != null ? new byte[8192] : null;
  }

  /**
   * Completes once the stream has ended (every holder of its write end has closed it) and every
   * line has been delivered.
   */
  CompletableFuture<Void> done() {
    return done;
  }

  /**
   * Completes, with the cause, as soon as handling the output fails; never completes otherwise.
   * The pump goes on draining after a failure, so {@link #done()} still completes.
   */
  CompletableFuture<Throwable> failed() {
    return failed;
  }

  /** What went wrong handling the output, or null; read after {@link #done()}. */
  Throwable failure() {
    return failure;
  }

  /**
   * What was kept; read only after {@link #done()} has completed. Everything, if the stream fit
   * the cap; otherwise the head, a line {@code [buildnet: N bytes omitted]}, and the tail (cut so
   * that no UTF-8 character is split).
   */
  byte[] captured() {
    byte[] h = head.toByteArray();
    byte[] t = tailBytes();
    if (total <= capBytes) {
      byte[] all = Arrays.copyOf(h, h.length + t.length);
      System.arraycopy(t, 0, all, h.length, t.length);
      return all;
    }
    if (capBytes == 0) {
      return new byte[0];
    }
    int headEnd = Utf8Cut.endBeforeIncomplete(h, h.length);
    int tailStart = Utf8Cut.startAfterContinuations(t);
    long omitted = total - headEnd - (t.length - tailStart);
    byte[] marker = marker(omitted);
    byte[] all = new byte[headEnd + marker.length + t.length - tailStart];
    System.arraycopy(h, 0, all, 0, headEnd);
    System.arraycopy(marker, 0, all, headEnd, marker.length);
    System.arraycopy(t, tailStart, all, headEnd + marker.length, t.length - tailStart);
    return all;
  }

  /** The line that stands for what was left out between a kept head and tail. */
  static byte[] marker(long omittedBytes) {
    return ("\n[buildnet: " + omittedBytes + " bytes omitted]\n").getBytes(StandardCharsets.UTF_8);
  }

  /** Whether the stream produced more than the cap; read only after {@link #done()}. */
  boolean truncated() {
    return total > capBytes;
  }

  /** How many bytes the stream produced; read only after {@link #done()}. */
  long totalBytes() {
    return total;
  }

  @Override
  public void run() {
    Thread thread = Thread.currentThread();
    String previousName = thread.getName();
    thread.setName(threadName);
    // End-of-file here must mean that every process holding the write end has closed it: the
    // provider relies on that to know whether a command left anything behind, and a process
    // still writing must not lose its output. On Linux the stream is a pipe of the provider's own
    // (OutputPipes), which nothing else closes. On the JDK's pipes (elsewhere, or without JNA) the
    // JDK's exit hook (ProcessPipeInputStream.processExited) closes the pipe when the root exits,
    // under the same monitor as read(): holding that monitor for the whole loop keeps the hook out
    // once this thread has started, though not if the root exits before it does.
    try (InputStream input = in) {
      synchronized (input) {
        int n;
        while ((n = input.read(buffer)) >= 0) {
          accept(buffer, n);
        }
      }
    } catch (IOException e) {
      LOG.debug("{}: stream ended with {}", threadName, e.toString());
    } catch (RuntimeException | Error e) {
      fail(e); // reading itself failed: the provider stops the command, so nothing waits on it
    } finally {
      thread.setName(previousName);
      end();
    }
  }

  /**
   * Takes the next {@code n} bytes of the stream, as read by whoever reads it (this pump's {@link
   * #run()}, or a {@link CommandLoop}). Never throws: a failure to handle them is reported through
   * {@link #failed()} and the rest is only counted.
   */
  void accept(byte[] bytes, int n) {
    total += n;
    if (failure != null) {
      return; // only drain: the child must never block on a full pipe
    }
    try {
      capture(bytes, n);
      split(bytes, n);
    } catch (RuntimeException | Error e) {
      fail(e);
    }
  }

  /** The stream has ended: delivers an unterminated last line, then completes {@link #done()}. */
  void end() {
    try {
      if (lineLength > 0 && failure == null) {
        emit(lineLength);
      }
    } catch (RuntimeException | Error e) {
      fail(e);
    } finally {
      done.complete(null);
    }
  }

  /** Reading the stream failed: handled as a failure to handle the output. */
  void readFailed(Throwable e) {
    fail(e);
  }

  private void fail(Throwable e) {
    if (failure != null) {
      return;
    }
    failure = e;
    line = null; // let go of what may be large, before doing anything that allocates
    lineLength = 0;
    try {
      // One line: the command's result carries the failure to whoever ran it.
      LOG.warn("{}: handling the output failed ({}); draining the rest unread", threadName,
          e.toString());
      LOG.debug("{}: the output failure", threadName, e);
    } catch (RuntimeException | Error ignored) {
      // Logging may fail for the same reason (no memory); the failure is reported anyway.
    }
    failed.complete(e);
  }

  private void capture(byte[] buffer, int n) {
    int offset = 0;
    int room = headCap - head.size();
    if (room > 0) {
      int take = Math.min(n, room);
      head.write(buffer, 0, take);
      offset = take;
    }
    int rest = n - offset;
    if (rest == 0 || tailCap == 0) {
      return;
    }
    if (tail == null) {
      tail = new byte[tailCap];
    }
    if (rest >= tailCap) {
      System.arraycopy(buffer, offset + rest - tailCap, tail, 0, tailCap);
      tailPos = 0;
      tailFilled = tailCap;
      return;
    }
    int first = Math.min(rest, tailCap - tailPos);
    System.arraycopy(buffer, offset, tail, tailPos, first);
    System.arraycopy(buffer, offset + first, tail, 0, rest - first);
    tailPos = (tailPos + rest) % tailCap;
    tailFilled = Math.min(tailCap, tailFilled + rest);
  }

  /** The tail ring's contents, oldest byte first. */
  private byte[] tailBytes() {
    if (tail == null || tailFilled == 0) {
      return new byte[0];
    }
    byte[] out = new byte[tailFilled];
    if (tailFilled < tailCap) {
      System.arraycopy(tail, 0, out, 0, tailFilled);
    } else {
      System.arraycopy(tail, tailPos, out, 0, tailCap - tailPos);
      System.arraycopy(tail, 0, out, tailCap - tailPos, tailPos);
    }
    return out;
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
    int end = Utf8Cut.endBeforeIncomplete(line, lineLength);
    emit(end > 0 ? end : lineLength);
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
