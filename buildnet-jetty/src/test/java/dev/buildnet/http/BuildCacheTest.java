package dev.buildnet.http;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.ByteArrayInputStream;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.HexFormat;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** The requests Gradle's and Bazel's HTTP cache clients send, with their headers and auth. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class BuildCacheTest {
  static final String GRADLE_TYPE = "application/vnd.gradle.build-cache-artifact.v2";
  Fixture f;
  String basic;

  @BeforeAll
  void start() throws Exception {
    f = new Fixture(b -> b.token(Fixture.TOKEN).maxCacheEntryBytes(64 * 1024));
    // Gradle: credentials { username = "ci"; password = token } sends Basic.
    basic = "Basic " + Base64.getEncoder().encodeToString(("ci:" + Fixture.TOKEN).getBytes(StandardCharsets.UTF_8));
  }

  @AfterAll
  void stop() throws Exception {
    f.close();
  }

  static String sha256(byte[] b) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
  }

  private HttpResponse<byte[]> bytes(HttpRequest.Builder r) throws Exception {
    return f.client.send(r.build(), HttpResponse.BodyHandlers.ofByteArray());
  }

  @Test
  void pastTheCacheCap_leastRecentlyUsedBlobsAreEvicted() throws Exception {
    try (Fixture small = new Fixture(b -> b.token(Fixture.TOKEN).maxCacheBytes(100_000))) {
      List<String> hashes = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        byte[] blob = new byte[40_000];
        new java.util.Random(i).nextBytes(blob);
        String hash = sha256(blob);
        hashes.add(hash);
        HttpResponse<byte[]> put = small.client.send(small.request("/cas/" + hash)
            .header("Authorization", "Bearer " + Fixture.TOKEN)
            .PUT(HttpRequest.BodyPublishers.ofByteArray(blob)).build(),
            HttpResponse.BodyHandlers.ofByteArray());
        assertEquals(2, put.statusCode() / 100);
      }
      int present = 0;
      for (String hash : hashes) {
        int status = small.client.send(small.request("/cas/" + hash)
            .header("Authorization", "Bearer " + Fixture.TOKEN)
            .method("HEAD", HttpRequest.BodyPublishers.noBody()).build(),
            HttpResponse.BodyHandlers.discarding()).statusCode();
        present += status == 200 ? 1 : 0;
      }
      assertEquals(2, present, "120,000 bytes against a 100,000 cap evict down to 90,000");
    }
  }

  @Test
  void gradle_putThenGet_andMissIs404() throws Exception {
    byte[] artifact = "gradle task outputs".getBytes(StandardCharsets.UTF_8);
    String key = "a1b2c3d4e5f60718293a4b5c6d7e8f90";
    assertEquals(404, bytes(f.request("/cache/" + key).header("Authorization", basic)
        .header("Accept", GRADLE_TYPE + ", */*").GET()).statusCode());
    HttpResponse<byte[]> put = bytes(f.request("/cache/" + key).header("Authorization", basic)
        .header("Content-Type", GRADLE_TYPE).PUT(HttpRequest.BodyPublishers.ofByteArray(artifact)));
    assertEquals(2, put.statusCode() / 100);
    HttpResponse<byte[]> get = bytes(f.request("/cache/" + key).header("Authorization", basic)
        .header("Accept", GRADLE_TYPE + ", */*").GET());
    assertEquals(200, get.statusCode());
    assertArrayEquals(artifact, get.body());
  }

  @Test
  void bazel_casPut_verifiedWithContentLengthOrChunked() throws Exception {
    byte[] blob = "bazel action output".getBytes(StandardCharsets.UTF_8);
    String hash = sha256(blob);
    String bearer = "Bearer " + Fixture.TOKEN;
    assertEquals(404, bytes(f.request("/cas/" + hash).header("Authorization", bearer).GET()).statusCode());
    assertEquals(200, bytes(f.request("/cas/" + hash).header("Authorization", bearer)
        .PUT(HttpRequest.BodyPublishers.ofByteArray(blob))).statusCode());
    HttpResponse<byte[]> get = bytes(f.request("/cas/" + hash).header("Authorization", bearer).GET());
    assertArrayEquals(blob, get.body());
    HttpResponse<byte[]> head = bytes(f.request("/cas/" + hash).header("Authorization", bearer)
        .method("HEAD", HttpRequest.BodyPublishers.noBody()));
    assertEquals(200, head.statusCode());
    assertEquals(String.valueOf(blob.length), head.headers().firstValue("Content-Length").orElse(""));

    byte[] other = "sent chunked".getBytes(StandardCharsets.UTF_8);
    String otherHash = sha256(other);
    assertEquals(200, bytes(f.request("/cas/" + otherHash).header("Authorization", bearer)
        .PUT(HttpRequest.BodyPublishers.ofInputStream(() -> new ByteArrayInputStream(other))))
        .statusCode());
    assertArrayEquals(other, bytes(f.request("/cas/" + otherHash).header("Authorization", bearer).GET()).body());
  }

  @Test
  void bazel_casPut_ofBytesThatDoNotMatchTheHash_is400AndStoresNothing() throws Exception {
    String hash = sha256("what it claims to be".getBytes(StandardCharsets.UTF_8));
    HttpResponse<String> r = f.send(f.authed("/cas/" + hash)
        .PUT(HttpRequest.BodyPublishers.ofString("something else")));
    assertEquals(400, r.statusCode());
    assertEquals("digest_mismatch", Fixture.json(r).get("code").asText());
    assertEquals(404, f.send(f.authed("/cas/" + hash).GET()).statusCode());
  }

  @Test
  void bazel_actionCache_storedAsIs() throws Exception {
    byte[] actionResult = {8, 1, 18, 4, 1, 2, 3, 4};
    String key = sha256("action".getBytes(StandardCharsets.UTF_8));
    assertEquals(404, f.send(f.authed("/ac/" + key).GET()).statusCode());
    assertEquals(200, bytes(f.authed("/ac/" + key).PUT(HttpRequest.BodyPublishers.ofByteArray(actionResult)))
        .statusCode());
    assertArrayEquals(actionResult, bytes(f.authed("/ac/" + key).GET()).body());
  }

  @Test
  void overTheSizeLimit_is413_declaredOrChunked() throws Exception {
    byte[] big = new byte[64 * 1024 + 1];
    String hash = sha256(big);
    assertEquals(413, f.send(f.authed("/cas/" + hash).PUT(HttpRequest.BodyPublishers.ofByteArray(big)))
        .statusCode());
    assertEquals(413, f.send(f.authed("/cache/big").PUT(
        HttpRequest.BodyPublishers.ofInputStream(() -> new ByteArrayInputStream(big)))).statusCode());
    assertEquals(404, f.send(f.authed("/cache/big").GET()).statusCode());
  }

  @Test
  void malformedKeys_are400() throws Exception {
    assertEquals(400, f.send(f.authed("/cas/XYZ").GET()).statusCode());
    assertEquals(400, f.send(f.authed("/cache/..hidden").GET()).statusCode());
  }
}
