package dev.buildnet.http;

import dev.buildnet.internal.addon.AddOns;

import dev.buildnet.api.transport.TransportSettings;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.buildnet.api.hash.Digest;
import dev.buildnet.worker.Worker;
import java.net.InetSocketAddress;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** A real worker connected to the embedded master, seen through the API and the event stream. */
class WorkersTest {
  static final byte[] SECRET = "0123456789abcdef-worker-secret".getBytes(StandardCharsets.UTF_8);

  /** This test runs nothing on the worker: it never moves a blob. */
  static final class NoBlobs implements dev.buildnet.api.blob.BlobStore {
    @Override
    public String name() {
      return "no blobs";
    }

    @Override
    public dev.buildnet.api.hash.HashProvider hashes() {
      return dev.buildnet.api.hash.HashProvider.xxh64();
    }

    @Override
    public boolean has(Digest digest) {
      throw new UnsupportedOperationException("no blobs in this test");
    }

    @Override
    public java.util.OptionalLong size(Digest digest) {
      throw new UnsupportedOperationException("no blobs in this test");
    }

    @Override
    public java.util.Optional<java.io.InputStream> open(Digest digest) {
      throw new UnsupportedOperationException("no blobs in this test");
    }

    @Override
    public boolean put(Digest expected, java.io.InputStream in) {
      throw new UnsupportedOperationException("no blobs in this test");
    }

    @Override
    public void close() {}
  }

  @Test
  void connectedWorker_isListedWithItsResources_andItsJoinAndLeaveAreStreamed() throws Exception {
    try (Fixture f = new Fixture(
        n -> n.listen(new InetSocketAddress("127.0.0.1", 0)).transport(TransportSettings.ofSecret(SECRET)),
        h -> h.token(Fixture.TOKEN))) {
      EventsTest.Messages events = new EventsTest.Messages();
      WebSocket ws = EventsTest.connect(f, "?replay=false", events);
      int port = AddOns.master(f.net).orElseThrow().localAddress().getPort();
      Worker worker = Worker.builder().master("127.0.0.1", port).transport(TransportSettings.ofSecret(SECRET)).workerId("w-http")
          .capabilities(List.of("sh", "node")).cpuSlots(4).memoryMb(2048)
          .workDir(Files.createDirectories(f.workspace.resolve("worker")))
          .reconnectBackoff(Duration.ofMillis(20), Duration.ofMillis(200))
          .blobs(new NoBlobs())
          .build().connect();
      try {
        events.await(n -> n.path("kind").asText().equals("worker_joined")
            && n.path("worker").asText().equals("w-http"));
        JsonNode w = Fixture.json(f.get("/api/workers")).get("workers").get(0);
        assertEquals("w-http", w.get("id").asText());
        assertTrue(w.get("capabilities").toString().contains("node"));
        assertEquals(4, w.get("resources").get("cpuSlots").asInt());
        assertTrue(w.has("lastHeartbeatAgoMs") && w.has("load"));
        assertEquals(1.0, ApiTest.value(f.get("/metrics").body(), "buildnet_workers"));

        HttpResponse<String> drain = f.postJson("/api/workers/w-http/drain", "");
        assertEquals(202, drain.statusCode(), drain.body());
        assertTrue(Fixture.json(drain).get("draining").asBoolean());
        assertEquals(404, f.postJson("/api/workers/nobody/drain", "").statusCode());
      } finally {
        worker.close();
      }
      events.await(n -> n.path("kind").asText().equals("worker_left")
          && n.path("worker").asText().equals("w-http"));
      ws.abort();
    }
  }
}
