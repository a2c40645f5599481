package dev.buildnet.internal.transport;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;

/**
 * Makes every read on a socket give up at one deadline rather than after a per-read timeout, so a
 * peer trickling a byte now and then cannot keep a connection alive without sending whole frames.
 */
final class DeadlineInputStream extends FilterInputStream {
  private final Socket socket;
  private volatile long deadlineNanos;
  private volatile String reason = "timeout";

  DeadlineInputStream(Socket socket, InputStream in) {
    super(in);
    this.socket = socket;
  }

  /** Reads after {@code nanos} from now fail with {@code reason}. */
  void deadlineIn(long nanos, String reason) {
    this.deadlineNanos = System.nanoTime() + nanos;
    this.reason = reason;
  }

  @Override
  public int read() throws IOException {
    arm();
    return super.read();
  }

  @Override
  public int read(byte[] b, int off, int len) throws IOException {
    arm();
    return super.read(b, off, len);
  }

  private void arm() throws IOException {
    long left = deadlineNanos - System.nanoTime();
    if (left <= 0) {
      throw new SocketTimeoutException(reason);
    }
    socket.setSoTimeout((int) Math.max(1, Math.min(Integer.MAX_VALUE, (left + 999_999) / 1_000_000)));
  }

  /** The current deadline's reason, for a read that timed out. */
  String reason() {
    return reason;
  }
}
