package dev.buildnet.http;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** What the cache endpoints serve when the disk or the client misbehaves, and what they echo. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class CacheIntegrityTest {
  static final String V1 = "application/vnd.gradle.build-cache-artifact.v1";
  Fixture f;
  /** A server that keeps every entry as files of its own (no pack), for the file format's tests. */
  Fixture files;

  @BeforeAll
  void start() throws Exception {
    f = Fixture.withToken();
    files = new Fixture(b -> b.token(Fixture.TOKEN).packedEntryBytes(0));
  }

  @AfterAll
  void stop() throws Exception {
    f.close();
    files.close();
  }

  private Path blobFile(String sha256) {
    return files.workspace.resolve(".buildnet/http-cache/cas/sha256")
        .resolve(sha256.substring(0, 2)).resolve(sha256);
  }

  private HttpResponse<byte[]> bytes(HttpRequest.Builder r) throws Exception {
    return f.client.send(r.build(), HttpResponse.BodyHandlers.ofByteArray());
  }

  private Path cacheDir() {
    return f.workspace.resolve(".buildnet/http-cache");
  }

  private static void flipOneByte(Path file) throws Exception {
    byte[] b = Files.readAllBytes(file);
    b[b.length / 2] ^= 0x20;
    Files.write(file, b);
  }

  @Test
  void blobFlippedOnDisk_isA404AndRemoved_smallOrStreamed() throws Exception {
    for (int size : new int[] {100, 300 * 1024}) {
      byte[] blob = new byte[size];
      new Random(size).nextBytes(blob);
      String hash = BuildCacheTest.sha256(blob);
      assertEquals(200, bytes(files.authed("/cas/" + hash)
          .PUT(HttpRequest.BodyPublishers.ofByteArray(blob))).statusCode());
      assertArrayEquals(blob, bytes(files.authed("/cas/" + hash).GET()).body());
      flipOneByte(blobFile(hash));

      assertEquals(404, bytes(files.authed("/cas/" + hash).GET()).statusCode(), "size " + size);
      assertFalse(Files.exists(blobFile(hash)), "the damaged blob is removed");
      // Stored again, it is served again.
      assertEquals(200, bytes(files.authed("/cas/" + hash)
          .PUT(HttpRequest.BodyPublishers.ofByteArray(blob))).statusCode());
      assertArrayEquals(blob, bytes(files.authed("/cas/" + hash).GET()).body());
    }
  }

  @Test
  void gradleEntryWhoseBlobWasFlipped_isA404() throws Exception {
    byte[] artifact = "task outputs, tarred".getBytes(StandardCharsets.UTF_8);
    assertEquals(201, bytes(files.authed("/cache/flipme")
        .PUT(HttpRequest.BodyPublishers.ofByteArray(artifact))).statusCode());
    flipOneByte(blobFile(BuildCacheTest.sha256(artifact)));
    assertEquals(404, bytes(files.authed("/cache/flipme").GET()).statusCode());
    assertEquals(404, bytes(files.authed("/cache/flipme").GET()).statusCode());
  }

  @Test
  void packedBlobFlippedOnDisk_isA404AndDropped_thenStoredAgain() throws Exception {
    byte[] blob = new byte[100];
    new Random(7).nextBytes(blob);
    String hash = BuildCacheTest.sha256(blob);
    assertEquals(200, bytes(f.authed("/cas/" + hash)
        .PUT(HttpRequest.BodyPublishers.ofByteArray(blob))).statusCode());
    assertArrayEquals(blob, bytes(f.authed("/cas/" + hash).GET()).body());
    PackFiles.Where where = PackFiles.find(cacheDir(), "cas", hash);
    assertTrue(where != null, "a 100-byte blob is packed");
    PackFiles.flipOneByte(where);

    assertEquals(404, bytes(f.authed("/cas/" + hash).GET()).statusCode());
    assertEquals(404, bytes(f.authed("/cas/" + hash)
        .method("HEAD", HttpRequest.BodyPublishers.noBody())).statusCode(),
        "the damaged entry is dropped, not just refused");
    assertEquals(200, bytes(f.authed("/cas/" + hash)
        .PUT(HttpRequest.BodyPublishers.ofByteArray(blob))).statusCode());
    assertArrayEquals(blob, bytes(f.authed("/cas/" + hash).GET()).body());
  }

  @Test
  void packedGradleEntryFlippedOnDisk_isA404_everyTime() throws Exception {
    byte[] artifact = "packed task outputs, tarred".getBytes(StandardCharsets.UTF_8);
    assertEquals(201, bytes(f.authed("/cache/flipme-packed")
        .PUT(HttpRequest.BodyPublishers.ofByteArray(artifact))).statusCode());
    assertArrayEquals(artifact, bytes(f.authed("/cache/flipme-packed").GET()).body());
    PackFiles.flipOneByte(PackFiles.find(cacheDir(), "gradle", "flipme-packed"));
    assertEquals(404, bytes(f.authed("/cache/flipme-packed").GET()).statusCode());
    assertEquals(404, bytes(f.authed("/cache/flipme-packed").GET()).statusCode());
  }

  @Test
  void packedHits_areAnsweredWithoutAPoolHandOff_bigOnesAndMissesTakeThePool() throws Exception {
    HttpCacheStore store = f.http.cacheStore();
    byte[] small = "small and packed".getBytes(StandardCharsets.UTF_8);
    byte[] big = new byte[100 * 1024];
    new Random(3).nextBytes(big);
    assertEquals(201, bytes(f.authed("/cache/inline-small")
        .PUT(HttpRequest.BodyPublishers.ofByteArray(small))).statusCode());
    assertEquals(201, bytes(f.authed("/cache/inline-big")
        .PUT(HttpRequest.BodyPublishers.ofByteArray(big))).statusCode());

    long before = store.answeredNow.sum();
    HttpResponse<byte[]> hit = bytes(f.authed("/cache/inline-small").GET());
    assertArrayEquals(small, hit.body());
    assertEquals(CacheHandlers.GRADLE_V2, hit.headers().firstValue("Content-Type").orElse(""));
    assertEquals(before + 1, store.answeredNow.sum(), "the packed hit was answered inline");

    assertArrayEquals(big, bytes(f.authed("/cache/inline-big").GET()).body());
    assertEquals(404, bytes(f.authed("/cache/inline-missing").GET()).statusCode());
    assertEquals(401, bytes(f.request("/cache/inline-small").GET()).statusCode(),
        "the token check still comes first");
    assertEquals(before + 1, store.answeredNow.sum(), "big entries and misses take the pool");
  }

  @Test
  void smallPuts_whoseBodiesArriveWithTheHeadersOrLater_areStoredAndAnsweredOnce_onOneConnection()
      throws Exception {
    HttpCacheStore store = f.http.cacheStore();
    try (RawHttp c = new RawHttp(f.http.port())) {
      for (int i = 0; i < 20; i++) {
        String body = "value " + i;
        String head = "PUT /cache/raw-" + i + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer "
            + Fixture.TOKEN + "\r\nContent-Length: " + body.length() + "\r\n\r\n";
        if (i % 2 == 0) {
          c.write((head + body).getBytes(StandardCharsets.ISO_8859_1)); // one write
        } else {
          long before = store.bytesIn.get();
          c.write(head.getBytes(StandardCharsets.ISO_8859_1));
          c.write(body.substring(0, 3).getBytes(StandardCharsets.ISO_8859_1));
          // The server has started on the body before the rest is sent.
          Poll.until(() -> store.bytesIn.get() >= before + 3, "the first 3 bytes arrived");
          c.write(body.substring(3).getBytes(StandardCharsets.ISO_8859_1));
        }
        RawHttp.Reply r = c.read(false);
        assertEquals(201, r.status(), "PUT " + i);
      }
      for (int i = 0; i < 20; i++) {
        RawHttp.Reply r = c.send("GET /cache/raw-" + i + " HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            + "Authorization: Bearer " + Fixture.TOKEN + "\r\n\r\n");
        assertEquals(200, r.status());
        assertEquals("value " + i, r.body());
      }
    }
  }

  @Test
  void gradleGet_answersInTheTypeStoredOrAskedFor() throws Exception {
    byte[] artifact = "v1 artifact".getBytes(StandardCharsets.UTF_8);
    bytes(f.authed("/cache/v1key").header("Content-Type", V1)
        .PUT(HttpRequest.BodyPublishers.ofByteArray(artifact)));
    HttpResponse<byte[]> get = bytes(f.authed("/cache/v1key").header("Accept", V1 + ", */*").GET());
    assertEquals(V1, get.headers().firstValue("Content-Type").orElse(""));
    assertEquals(V1, bytes(f.authed("/cache/v1key").GET()).headers()
        .firstValue("Content-Type").orElse(""), "the type stored, when none is asked for");

    bytes(f.authed("/cache/untyped").PUT(HttpRequest.BodyPublishers.ofByteArray(artifact)));
    assertEquals(V1, bytes(f.authed("/cache/untyped").header("Accept", V1 + ", */*").GET())
        .headers().firstValue("Content-Type").orElse(""), "the type asked for");
  }

  @Test
  void errorBodies_doNotEchoUnboundedInput() throws Exception {
    String name = "t".repeat(900_000);
    HttpResponse<String> r = f.postJson("/api/builds", "{\"targets\": [\"" + name + "\"]}");
    assertEquals(400, r.statusCode());
    assertTrue(r.body().length() < 4096, "a " + r.body().length() + "-character error body");
    assertEquals("unknown_target", Fixture.json(r).get("code").asText());

    HttpResponse<String> path = f.get("/api/" + "p".repeat(6000));
    assertEquals(404, path.statusCode());
    assertTrue(path.body().length() < 1024, "a " + path.body().length() + "-character error body");
  }

  @Test
  void anAbortedUpload_storesNothing_andLogsOneLine() throws Exception {
    PrintStream saved = System.err;
    ByteArrayOutputStream captured = new ByteArrayOutputStream();
    HttpCacheStore store = f.http.cacheStore();
    long before = store.bytesIn.get();
    System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
    try {
      try (RawHttp c = new RawHttp(f.http.port())) {
        c.write(("PUT /cache/aborted HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer "
            + Fixture.TOKEN + "\r\nContent-Length: 1000\r\n\r\n0123456789")
            .getBytes(StandardCharsets.ISO_8859_1));
        Poll.until(() -> store.bytesIn.get() >= before + 10, "the first 10 bytes arrived");
      }
      Poll.until(() -> captured.toString(StandardCharsets.UTF_8).contains("/cache/aborted"),
          "the aborted upload is logged");
    } finally {
      System.setErr(saved);
    }
    String log = captured.toString(StandardCharsets.UTF_8);
    assertEquals(1, log.lines().filter(l -> l.contains("/cache/aborted")).count(), log);
    assertFalse(log.contains("\tat "), "no stack trace:\n" + log);
    assertEquals(404, f.get("/cache/aborted").statusCode());
  }
}
