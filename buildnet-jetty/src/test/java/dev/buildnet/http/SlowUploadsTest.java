package dev.buildnet.http;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.eclipse.jetty.util.thread.QueuedThreadPool;
import org.junit.jupiter.api.Test;

/**
 * Regression for the slow-upload freeze: about 32 authenticated uploads sending a byte a second
 * held all of Jetty's threads (blocking body reads) and /health stopped answering. Bodies are now
 * read through Jetty's demand model, so open uploads hold connections, not threads.
 */
class SlowUploadsTest {
  static final int UPLOADS = 500;
  static final int BODY = 10;

  @Test
  void fiveHundredStalledUploads_leaveProbesTheApiAndThePoolFree() throws Exception {
    try (Fixture f = Fixture.withToken()) {
      List<RawHttp> uploads = new ArrayList<>();
      try {
        for (int i = 0; i < UPLOADS; i++) {
          RawHttp c = new RawHttp(f.http.port(), 60_000);
          uploads.add(c);
          c.write(("PUT /cache/slow-" + i + " HTTP/1.1\r\nHost: 127.0.0.1\r\n"
              + "Authorization: Bearer " + Fixture.TOKEN + "\r\nContent-Length: " + BODY + "\r\n\r\n"
              + "x").getBytes(StandardCharsets.ISO_8859_1));
        }
        // Every upload has reached its handler and sent its first byte, and waits for the rest.
        HttpCacheStore store = f.http.cacheStore();
        Poll.until(() -> store.bytesIn.get() >= UPLOADS, "the server received the first byte of "
            + UPLOADS + " uploads (now " + store.bytesIn.get() + ")");

        HttpResponse<String> health = f.send(f.request("/health").GET());
        assertEquals(200, health.statusCode());
        assertEquals(200, f.get("/api/builds").statusCode());
        String id = f.submit("lib");
        assertEquals("succeeded", f.awaitFinished(id));
        QueuedThreadPool pool = f.http.threadPool();
        assertFalse(pool.isLowOnThreads(), "pool: " + pool);
        assertTrue(pool.getBusyThreads() < pool.getMaxThreads() / 2, "pool: " + pool);

        // The uploads are intact: each finishes and stores what it sent.
        for (int i = 0; i < UPLOADS; i++) {
          uploads.get(i).write("123456789".getBytes(StandardCharsets.ISO_8859_1));
        }
        for (int i = 0; i < UPLOADS; i++) {
          assertEquals(201, uploads.get(i).read(false).status(), "upload " + i);
        }
      } finally {
        for (RawHttp c : uploads) {
          c.close();
        }
      }
      HttpResponse<byte[]> got = f.client.send(f.authed("/cache/slow-7").GET().build(),
          HttpResponse.BodyHandlers.ofByteArray());
      assertArrayEquals("x123456789".getBytes(StandardCharsets.ISO_8859_1), got.body());
    }
  }
}
