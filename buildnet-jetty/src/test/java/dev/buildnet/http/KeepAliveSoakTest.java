package dev.buildnet.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * Regression for requests hanging on keep-alive connections (and the next upload's body being
 * parsed as a request): 100,000 back-to-back requests of a dozen kinds, cache uploads with and
 * without {@code Expect: 100-continue}, hits, misses, refusals and probes, over a few keep-alive
 * connections. Every one must get its expected answer, on the connection it was sent on.
 */
class KeepAliveSoakTest {
  static final int REQUESTS = 100_000;
  static final int CONNECTIONS = 4;

  @Test
  void hundredThousandMixedRequests_allAnsweredOnTheirKeepAliveConnections() throws Exception {
    try (Fixture f = new Fixture(b -> b.token(Fixture.TOKEN).maxCacheEntryBytes(8 * 1024))) {
      ExecutorService pool = Executors.newFixedThreadPool(CONNECTIONS);
      AtomicLong reconnects = new AtomicLong();
      try {
        List<Future<Integer>> done = new ArrayList<>();
        for (int c = 0; c < CONNECTIONS; c++) {
          int conn = c;
          done.add(pool.submit(() -> soak(f, conn, REQUESTS / CONNECTIONS, reconnects)));
        }
        int total = 0;
        for (Future<Integer> d : done) {
          total += d.get(10, TimeUnit.MINUTES);
        }
        assertEquals(REQUESTS, total);
      } finally {
        pool.shutdownNow();
      }
      // Only the refusals that leave a body unsent close their connection.
      assertTrue(reconnects.get() <= REQUESTS / 12 + CONNECTIONS, "reconnects: " + reconnects);
      assertEquals(200, f.get("/health").statusCode());
    }
  }

  private static int soak(Fixture f, int conn, int count, AtomicLong reconnects) throws Exception {
    Random random = new Random(conn);
    String auth = "Authorization: Bearer " + Fixture.TOKEN + "\r\n";
    String host = "Host: 127.0.0.1\r\n";
    RawHttp c = new RawHttp(f.http.port(), 60_000);
    try {
      String lastCas = null;
      String lastKey = null;
      for (int i = 0; i < count; i++) {
        int kind = i % 12;
        byte[] blob = new byte[1024];
        random.nextBytes(blob);
        String hash = sha256(blob);
        RawHttp.Reply r;
        int expected;
        switch (kind) {
          case 0 -> { // Bazel CAS upload
            r = c.exchange("PUT /cas/" + hash + " HTTP/1.1\r\n" + host + auth
                + "Content-Length: 1024\r\n\r\n", blob, false);
            expected = 200;
            lastCas = hash;
          }
          case 1 -> { // CAS hit
            r = c.exchange("GET /cas/" + lastCas + " HTTP/1.1\r\n" + host + auth + "\r\n",
                new byte[0], false);
            expected = 200;
            assertEquals(lastCas, sha256(r.bytes()), "CAS body on connection " + conn);
          }
          case 2 -> { // CAS existence check
            r = c.exchange("HEAD /cas/" + lastCas + " HTTP/1.1\r\n" + host + auth + "\r\n",
                new byte[0], true);
            expected = 200;
          }
          case 3 -> { // miss
            r = c.exchange("GET /cas/" + hash + " HTTP/1.1\r\n" + host + auth + "\r\n",
                new byte[0], false);
            expected = 404;
          }
          case 4 -> { // Gradle upload with Expect: 100-continue
            lastKey = "k" + conn + "-" + i;
            r = c.exchange("PUT /cache/" + lastKey + " HTTP/1.1\r\n" + host + auth
                + "Content-Type: application/vnd.gradle.build-cache-artifact.v1\r\n"
                + "Expect: 100-continue\r\nContent-Length: 1024\r\n\r\n", blob, false);
            expected = 201;
          }
          case 5 -> { // Gradle hit
            r = c.exchange("GET /cache/" + lastKey + " HTTP/1.1\r\n" + host + auth
                + "Accept: application/vnd.gradle.build-cache-artifact.v1, */*\r\n\r\n",
                new byte[0], false);
            expected = 200;
            assertEquals(1024, r.bytes().length);
          }
          case 6 -> { // action cache upload, chunked
            String chunked = Integer.toHexString(blob.length) + "\r\n";
            byte[] body = concat(chunked.getBytes(StandardCharsets.ISO_8859_1), blob,
                "\r\n0\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
            r = c.exchange("PUT /ac/" + hash + " HTTP/1.1\r\n" + host + auth
                + "Transfer-Encoding: chunked\r\n\r\n", body, false);
            expected = 200;
          }
          case 7 -> { // action cache hit
            r = c.exchange("GET /ac/" + lastCas + " HTTP/1.1\r\n" + host + auth + "\r\n",
                new byte[0], false);
            expected = 404; // the AC and the CAS are separate namespaces
          }
          case 8 -> { // probe
            r = c.exchange("GET /health HTTP/1.1\r\n" + host + "\r\n", new byte[0], false);
            expected = 200;
          }
          case 9 -> { // wrong digest: the body is read, then refused
            r = c.exchange("PUT /cas/" + sha256(new byte[] {1}) + " HTTP/1.1\r\n" + host + auth
                + "Content-Length: 1024\r\n\r\n", blob, false);
            expected = 400;
          }
          case 10 -> { // the JSON API
            r = c.exchange("GET /api/cache HTTP/1.1\r\n" + host + auth + "\r\n", new byte[0], false);
            expected = 200;
          }
          default -> { // over the limit, announced with Expect: the body is never sent
            r = c.exchange("PUT /cache/big HTTP/1.1\r\n" + host + auth
                + "Expect: 100-continue\r\nContent-Length: " + (4L << 20) + "\r\n\r\n",
                new byte[0], false);
            expected = 413;
          }
        }
        assertEquals(expected, r.status(), "request " + i + " (kind " + kind + ") on connection "
            + conn + ": " + r.headers() + r.body());
        if (r.closes()) {
          c.close();
          c = new RawHttp(f.http.port(), 60_000);
          reconnects.incrementAndGet();
        }
      }
      return count;
    } finally {
      c.close();
    }
  }

  static byte[] concat(byte[]... parts) {
    int n = 0;
    for (byte[] p : parts) {
      n += p.length;
    }
    byte[] all = new byte[n];
    int at = 0;
    for (byte[] p : parts) {
      System.arraycopy(p, 0, all, at, p.length);
      at += p.length;
    }
    return all;
  }

  static String sha256(byte[] b) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
  }
}
