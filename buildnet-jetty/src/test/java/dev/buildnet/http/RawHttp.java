package dev.buildnet.http;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Locale;

/**
 * HTTP/1.1 over one plain socket: for what {@code java.net.http} will not send (a forged
 * {@code Host}, a body sent a byte at a time) and to prove several requests travel over the same
 * keep-alive connection.
 */
final class RawHttp implements AutoCloseable {
  record Reply(int status, String headers, byte[] bytes) {
    String body() {
      return new String(bytes, StandardCharsets.UTF_8);
    }

    /** Whether the server said it closes the connection after this answer. */
    boolean closes() {
      return headers.toLowerCase(Locale.ROOT).contains("\r\nconnection: close");
    }

    String header(String name) {
      for (String line : headers.split("\r\n")) {
        if (line.regionMatches(true, 0, name + ":", 0, name.length() + 1)) {
          return line.substring(name.length() + 1).trim();
        }
      }
      return null;
    }
  }

  private final Socket socket;
  private final InputStream in;
  private final OutputStream out;

  RawHttp(int port) throws IOException {
    this(port, 10_000);
  }

  /** {@code timeoutMillis} bounds each read, as a failure bound only. */
  RawHttp(int port, int timeoutMillis) throws IOException {
    socket = new Socket("127.0.0.1", port);
    socket.setSoTimeout(timeoutMillis);
    socket.setTcpNoDelay(true);
    in = new BufferedInputStream(socket.getInputStream());
    out = socket.getOutputStream();
  }

  Reply send(String request) throws IOException {
    write(request.getBytes(StandardCharsets.ISO_8859_1));
    return read(false);
  }

  /**
   * Sends {@code head} (request line and headers, ending in an empty line) and {@code body}. With
   * {@code Expect: 100-continue} in the head, the body goes only after a 100; a final answer
   * instead is returned at once, the body unsent.
   */
  Reply exchange(String head, byte[] body, boolean headRequest) throws IOException {
    byte[] h = head.getBytes(StandardCharsets.ISO_8859_1);
    if (head.toLowerCase(Locale.ROOT).contains("\r\nexpect: 100-continue")) {
      write(h);
      Reply interim = readOne(headRequest);
      if (interim.status() != 100) {
        return interim;
      }
      write(body);
      return read(headRequest);
    }
    byte[] all = new byte[h.length + body.length];
    System.arraycopy(h, 0, all, 0, h.length);
    System.arraycopy(body, 0, all, h.length, body.length);
    write(all);
    return read(headRequest);
  }

  void write(byte[] bytes) throws IOException {
    out.write(bytes);
    out.flush();
  }

  /** The next final answer (1xx interim answers are skipped). */
  Reply read(boolean headRequest) throws IOException {
    while (true) {
      Reply r = readOne(headRequest);
      if (r.status() >= 200) {
        return r;
      }
    }
  }

  private Reply readOne(boolean headRequest) throws IOException {
    ByteArrayOutputStream head = new ByteArrayOutputStream();
    int matched = 0;
    while (matched < 4) {
      int b = in.read();
      if (b < 0) {
        throw new IOException("connection closed after: " + head);
      }
      head.write(b);
      matched = (b == (matched % 2 == 0 ? '\r' : '\n')) ? matched + 1 : (b == '\r' ? 1 : 0);
    }
    String headers = head.toString(StandardCharsets.ISO_8859_1);
    int status = Integer.parseInt(headers.substring(9, 12));
    int length = 0;
    for (String line : headers.split("\r\n")) {
      if (line.toLowerCase(Locale.ROOT).startsWith("content-length:")) {
        length = Integer.parseInt(line.substring(15).trim());
      }
    }
    byte[] body = headRequest || status < 200 ? new byte[0] : in.readNBytes(length);
    if (body.length < (headRequest || status < 200 ? 0 : length)) {
      throw new IOException("connection closed " + body.length + " bytes into a " + length
          + "-byte body after: " + headers);
    }
    return new Reply(status, headers, body);
  }

  @Override
  public void close() throws IOException {
    socket.close();
  }
}
