package dev.buildnet.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildnet.api.blob.BlobStore;
import dev.buildnet.api.hash.Digest;
import dev.buildnet.api.hash.HashProvider;
import dev.buildnet.tck.BlobStoreCompatibilityKit;
import dev.buildnet.blob.HttpBlobStore;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The compatibility kit against {@link HttpBlobStore}, the client of a Bazel-style {@code /cas/}
 * endpoint, talking to the real cache this module serves on loopback.
 */
class HttpBlobStoreCompatibilityTest extends BlobStoreCompatibilityKit {
  Fixture fixture;
  Path cacheDir;

  @Override
  protected BlobStore createStore() throws IOException {
    cacheDir = Files.createTempDirectory("buildnet-http-kit-");
    fixture = new Fixture(b -> b.token(Fixture.TOKEN).cacheDirectory(cacheDir));
    return HttpBlobStore.connect(fixture.uri("/"), Fixture.TOKEN, Duration.ofSeconds(30));
  }

  @AfterEach
  void stopServer() throws Exception {
    fixture.close();
    Fixture.deleteTree(cacheDir);
  }

  @Override
  protected void corrupt(Digest digest, byte[] bytes) throws IOException {
    // Small blobs are packed into segment files, big ones are files of their own.
    PackFiles.Where packed = PackFiles.find(cacheDir, "cas", digest.hex());
    if (packed != null) {
      PackFiles.overwrite(packed, bytes);
      return;
    }
    Files.write(cacheDir.resolve("cas").resolve("sha256").resolve(digest.hex().substring(0, 2))
        .resolve(digest.hex()), bytes);
  }

  @Test
  void withoutTheToken_everyCallFailsSayingSo_neverLooksLikeAMiss() {
    Digest d = HashProvider.sha256().hash(new byte[] {1});
    try (HttpBlobStore anonymous =
        HttpBlobStore.connect(fixture.uri("/"), null, Duration.ofSeconds(30))) {
      IOException e = assertThrows(IOException.class, () -> anonymous.has(d));
      assertTrue(e.getMessage().contains("HTTP 401"), e.getMessage());
      assertThrows(IOException.class,
          () -> anonymous.put(d, new ByteArrayInputStream(new byte[] {1})));
    }
  }

  @Test
  void aBlobOverTheCachesEntryCap_isDeclined_notAFailure() throws Exception {
    try (Fixture small = new Fixture(b -> b.token(Fixture.TOKEN).maxCacheEntryBytes(64 * 1024));
        HttpBlobStore client = HttpBlobStore.connect(small.uri("/"), Fixture.TOKEN,
            Duration.ofSeconds(30))) {
      byte[] big = random(1024 * 1024, 8);
      Digest d = HashProvider.sha256().hash(big);
      assertFalse(client.put(d, new ByteArrayInputStream(big)));
      assertFalse(client.has(d));
      byte[] fits = random(1000, 9);
      assertTrue(client.put(HashProvider.sha256().hash(fits), new ByteArrayInputStream(fits)),
          "the connection is still usable after the refusal");
    }
  }

  @Test
  void afterClose_callsAreRejected() throws Exception {
    Digest d = put(new byte[] {1, 2});
    store.close();
    assertThrows(IllegalStateException.class, () -> store.has(d));
  }

  @Test
  void aWrongDigestIsCaughtByTheClient_soTheServerSeesNoCompleteBody() throws Exception {
    byte[] bytes = random(300_000, 5);
    Digest wrong = HashProvider.sha256().hash(new byte[] {9});
    var e = assertThrows(dev.buildnet.api.blob.BlobException.class,
        () -> store.put(wrong, new ByteArrayInputStream(bytes)));
    assertEquals(dev.buildnet.api.blob.BlobException.Reason.DIGEST_MISMATCH, e.reason());
    assertFalse(store.has(HashProvider.sha256().hash(bytes)));
    var http = Fixture.json(fixture.get("/api/cache")).get("httpCache");
    assertEquals(0, http.get("puts").asLong(), http.toString());
    assertEquals(0, http.get("rejected").asLong(),
        "the client cut the body short; the server never received a whole wrong one: " + http);
  }
}
