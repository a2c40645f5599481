package dev.buildnet.blob;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.buildnet.api.blob.BlobException;
import dev.buildnet.api.hash.Digest;
import dev.buildnet.api.hash.HashProvider;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.time.Duration;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@link HttpBlobStore}'s own checks, against a naive cache on loopback that trusts its clients
 * and serves whatever it holds (the JDK's HTTP server): the client must not rely on the server.
 * The kit run against the real buildnet-jetty cache is {@code HttpBlobStoreCompatibilityTest}.
 */
class HttpBlobStoreTest {
  private HttpServer server;
  /** What the naive cache holds, by hex; it stores any complete body it receives. */
  private final Map<String, byte[]> held = new ConcurrentHashMap<>();
  private final AtomicInteger incompleteBodies = new AtomicInteger();
  private HttpBlobStore store;

  @BeforeEach
  void start() throws IOException {
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.createContext("/cache/cas/", this::handle);
    server.start();
    store = HttpBlobStore.connect(URI.create("http://127.0.0.1:" + server.getAddress().getPort()
        + "/cache"), null, Duration.ofSeconds(30));
  }

  @AfterEach
  void stop() {
    store.close();
    server.stop(0);
  }

  private void handle(HttpExchange x) throws IOException {
    String hex = x.getRequestURI().getPath().substring("/cache/cas/".length());
    try (x) {
      switch (x.getRequestMethod()) {
        case "PUT" -> {
          byte[] body;
          try (InputStream in = x.getRequestBody()) {
            body = in.readAllBytes();
          } catch (IOException e) {
            incompleteBodies.incrementAndGet(); // the client cut the body short
            x.sendResponseHeaders(400, -1);
            return;
          }
          held.put(hex, body);
          x.sendResponseHeaders(200, -1);
        }
        case "GET", "HEAD" -> {
          byte[] b = held.get(hex);
          if (b == null) {
            x.sendResponseHeaders(404, -1);
            return;
          }
          boolean head = x.getRequestMethod().equals("HEAD");
          x.getResponseHeaders().set("Content-Length", Long.toString(b.length));
          x.sendResponseHeaders(200, head ? -1 : (b.length == 0 ? -1 : b.length));
          if (!head) {
            x.getResponseBody().write(b);
          }
        }
        default -> x.sendResponseHeaders(405, -1);
      }
    }
  }

  private static byte[] random(int size, long seed) {
    byte[] b = new byte[size];
    new Random(seed).nextBytes(b);
    return b;
  }

  @Test
  void roundTrip_throughABasePathWithoutATrailingSlash() throws Exception {
    byte[] bytes = random(100_000, 1);
    Digest d = HashProvider.sha256().hash(bytes);
    assertTrue(store.put(d, new ByteArrayInputStream(bytes)));
    assertTrue(store.has(d));
    assertEquals(100_000, store.size(d).getAsLong());
    try (InputStream in = store.open(d).orElseThrow()) {
      assertArrayEquals(bytes, in.readAllBytes());
    }
  }

  @Test
  void corruptBytesFromTheServer_areNeverReturned() throws Exception {
    byte[] bytes = random(100, 2);
    Digest d = HashProvider.sha256().hash(bytes);
    held.put(d.hex(), random(100, 3));
    try (InputStream in = store.open(d).orElseThrow()) {
      assertEquals(BlobException.Reason.CORRUPT,
          assertThrows(BlobException.class, in::read).reason());
    }
    byte[] big = random(300_000, 4);
    Digest bigDigest = HashProvider.sha256().hash(big);
    byte[] tampered = big.clone();
    tampered[0] ^= 1;
    held.put(bigDigest.hex(), tampered);
    try (InputStream in = store.open(bigDigest).orElseThrow()) {
      assertEquals(BlobException.Reason.CORRUPT,
          assertThrows(BlobException.class, in::readAllBytes).reason());
    }
  }

  @Test
  void aWrongDigest_neverReachesAServerThatDoesNotCheck() throws Exception {
    for (int size : new int[] {10, 300_000}) {
      byte[] bytes = random(size, size);
      Digest wrong = HashProvider.sha256().hash(new byte[] {7});
      BlobException e = assertThrows(BlobException.class,
          () -> store.put(wrong, new ByteArrayInputStream(bytes)));
      assertEquals(BlobException.Reason.DIGEST_MISMATCH, e.reason());
      assertEquals(HashProvider.sha256().hash(bytes), e.actualDigest());
      assertFalse(held.containsKey(wrong.hex()), "size " + size + ": the naive cache stored it");
      assertFalse(store.has(wrong));
    }
  }

  @Test
  void serverErrors_throw_andAreNeverAMiss() {
    server.removeContext("/cache/cas/");
    server.createContext("/cache/cas/", x -> {
      try (x) {
        x.sendResponseHeaders(503, -1);
      }
    });
    Digest d = HashProvider.sha256().hash(new byte[] {1});
    IOException e = assertThrows(IOException.class, () -> store.has(d));
    assertTrue(e.getMessage().contains("HTTP 503"), e.getMessage());
    assertThrows(IOException.class, () -> store.open(d));
  }

  @Test
  void badConfiguration_isRejectedAtOnce() {
    assertThrows(IllegalArgumentException.class,
        () -> HttpBlobStore.connect(URI.create("ftp://127.0.0.1/"), null, Duration.ofSeconds(1)));
    assertThrows(IllegalArgumentException.class,
        () -> HttpBlobStore.connect(URI.create("http://127.0.0.1/"), "a b", Duration.ofSeconds(1)));
    assertThrows(IllegalArgumentException.class,
        () -> HttpBlobStore.connect(URI.create("http://127.0.0.1/"), null, Duration.ZERO));
    Digest xxh = HashProvider.xxh64().hash(new byte[] {1});
    assertThrows(IllegalArgumentException.class, () -> store.has(xxh));
  }
}
