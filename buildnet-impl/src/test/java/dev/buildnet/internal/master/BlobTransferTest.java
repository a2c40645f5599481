package dev.buildnet.internal.master;

import dev.buildnet.api.blob.BlobException;
import dev.buildnet.client.RemoteClient;
import dev.buildnet.client.RemoteBlobs;

import dev.buildnet.api.transport.TransportSettings;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildnet.api.hash.Digest;
import dev.buildnet.api.state.StateBackend;
import dev.buildnet.api.transport.Message;
import dev.buildnet.internal.cache.DiskBlobStore;
import dev.buildnet.internal.hash.Hashing;
import dev.buildnet.api.transport.ErrorCode;
import dev.buildnet.internal.protocol.Payloads.BlobChunk;
import dev.buildnet.internal.protocol.Payloads.BlobGet;
import dev.buildnet.internal.protocol.Payloads.BlobHas;
import dev.buildnet.internal.protocol.Payloads.BlobPut;
import dev.buildnet.internal.protocol.Payloads.BlobPutResponse;
import dev.buildnet.internal.state.InMemoryStateBackend;
import dev.buildnet.internal.transport.RemoteErrorException;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Blob upload and download through a real master on loopback, into a real {@link DiskBlobStore}. */
class BlobTransferTest {
  static final byte[] SECRET = "blob transfer test secret, 16+ bytes".getBytes(UTF_8);

  @TempDir Path dir;
  StateBackend state;
  DiskBlobStore store;
  MasterServer master;
  RemoteClient client;
  final LinkedBlockingQueue<WorkerEvent> events = new LinkedBlockingQueue<>();

  @BeforeEach
  void start() {
    state = InMemoryStateBackend.builder().build();
    store = new DiskBlobStore(dir.resolve("cas"), Hashing.xxh64(), Clock.systemUTC());
    master = MasterServer.builder().state(state).transport(TransportSettings.ofSecret(SECRET)).blobs(store).start();
    master.addWorkerListener(events::add);
    client = RemoteClient.builder().address(master.localAddress()).transport(TransportSettings.ofSecret(SECRET))
        .clientId("blob-client").connect();
  }

  @AfterEach
  void stop() {
    client.close();
    master.close();
    state.close();
  }

  Path write(String name, byte[] bytes) throws IOException {
    Path f = dir.resolve(name);
    Files.write(f, bytes);
    return f;
  }

  FakeWorker worker() throws Exception {
    return new FakeWorker(master.localAddress(), SECRET, "w-1", List.of(), 1, 1024);
  }

  long tempFiles() throws IOException {
    Path tmp = store.root().resolve("tmp");
    if (!Files.isDirectory(tmp)) {
      return 0;
    }
    try (Stream<Path> s = Files.list(tmp)) {
      return s.count();
    }
  }

  static RemoteErrorException remoteError(Throwable t) {
    Throwable cause = t instanceof ExecutionException ? t.getCause() : t;
    return assertInstanceOf(RemoteErrorException.class, cause);
  }

  @Test
  void missing_namesOnlyTheBlobsTheMasterLacks() throws Exception {
    Digest present = store.putBytes("present".getBytes(UTF_8));
    Digest absent = Hashing.xxh64().hash("absent".getBytes(UTF_8));
    assertEquals(Set.of(absent), client.blobs().missing(List.of(present, absent)));
    assertEquals(Set.of(), client.blobs().missing(List.of(present)));
  }

  @Test
  void uploadThenDownload_roundTripsASmallAndAnEmptyFile() throws Exception {
    for (byte[] bytes : List.of("small blob".getBytes(UTF_8), new byte[0])) {
      Path src = write("src", bytes);
      Digest d = client.blobs().upload(src);
      assertEquals(Hashing.xxh64().hash(bytes), d);
      assertTrue(store.contains(d));
      assertEquals(Set.of(), client.blobs().missing(List.of(d)));
      Path dst = dir.resolve("out/dst");
      Files.createDirectories(dst.getParent());
      client.blobs().download(d, dst);
      assertArrayEquals(bytes, Files.readAllBytes(dst));
      assertEquals(0, tempFiles());
    }
  }

  @Test
  void uploadThenDownload_roundTripsA64MiBFileStreamedInChunks() throws Exception {
    Path src = dir.resolve("big");
    Random random = new Random(42);
    byte[] block = new byte[1 << 20];
    try (OutputStream out = Files.newOutputStream(src)) {
      for (int i = 0; i < 64; i++) {
        random.nextBytes(block);
        out.write(block, 0, block.length - (i == 63 ? 12345 : 0)); // not a chunk multiple
      }
    }
    Digest expected = Hashing.xxh64().hash(src);
    assertEquals(expected, client.blobs().upload(src));
    assertEquals(Files.size(src), store.sizeOf(expected).orElseThrow());
    Path dst = dir.resolve("big.copy");
    client.blobs().download(expected, dst);
    assertEquals(Files.size(src), Files.size(dst));
    assertEquals(expected, Hashing.xxh64().hash(dst));
  }

  @Test
  void aBlobLargerThanTheHeapStreamsBothWays() throws Exception {
    Path log = dir.resolve("child.log");
    Path work = Files.createDirectories(dir.resolve("child"));
    Process p = new ProcessBuilder(
            Path.of(System.getProperty("java.home"), "bin", "java").toString(),
            // Client and master share this JVM, each with a window of chunks in flight: 56 MiB
            // leaves them headroom (32 MiB ran out now and then, 48 MiB about 1 run in 20) and is
            // still less than the 64 MiB blob, so any side buffering the whole blob fails.
            "-Xmx56m", "-XX:+ExitOnOutOfMemoryError",
            "-cp", System.getProperty("java.class.path"),
            BlobStreamingMain.class.getName(), work.toString(), "64")
        .redirectErrorStream(true).redirectOutput(log.toFile()).start();
    try {
      assertTrue(p.waitFor(60, TimeUnit.SECONDS), "child JVM did not finish within 60 s");
    } finally {
      p.destroyForcibly();
    }
    String out = Files.readString(log);
    assertEquals(0, p.exitValue(), out);
    assertTrue(out.contains("ok max heap"), out);
  }

  @Test
  void remoteBlobsOverAWorkersOwnConnection_uploadsAndDownloads() throws Exception {
    byte[] bytes = new byte[2_500_000];
    new Random(9).nextBytes(bytes);
    try (FakeWorker w = worker()) {
      RemoteBlobs blobs = RemoteBlobs.over(w.connection, Hashing.xxh64(), Duration.ofSeconds(10),
          Duration.ofSeconds(30));
      Digest d = blobs.upload(write("src", bytes));
      assertEquals(Set.of(), blobs.missing(List.of(d)));
      Path dst = dir.resolve("dst");
      blobs.download(d, dst);
      assertArrayEquals(bytes, Files.readAllBytes(dst));
      w.close();
      assertEquals(BlobException.Reason.TRANSFER,
          assertThrows(BlobException.class, () -> blobs.missing(List.of(d))).reason());
    }
  }

  @Test
  void blobGet_answersInChunksNoLargerThanAsked() throws Exception {
    byte[] bytes = new byte[10_000];
    new Random(1).nextBytes(bytes);
    Digest d = store.putBytes(bytes);
    try (FakeWorker w = worker()) {
      List<BlobChunk> chunks = new ArrayList<>();
      Message last = w.connection.request(new BlobGet(d.toString(), null, 1000L), FakeWorker.T,
          m -> chunks.add((BlobChunk) m.payload())).get(10, TimeUnit.SECONDS);
      chunks.add((BlobChunk) last.payload());
      assertEquals(10, chunks.size());
      long offset = 0;
      for (BlobChunk c : chunks) {
        assertEquals(offset, c.offset());
        assertTrue(c.data().length <= 1000);
        offset += c.data().length;
      }
      BlobChunk end = chunks.get(chunks.size() - 1);
      assertTrue(end.last());
      assertEquals(d.toString(), end.digest());
      assertEquals(10_000L, end.size());
    }
  }

  @Test
  void upload_withAWrongFinalDigestIsRefusedAndNothingIsStored() throws Exception {
    byte[] data = "what was sent".getBytes(UTF_8);
    Digest actual = Hashing.xxh64().hash(data);
    Digest claimed = Hashing.xxh64().hash("what was claimed".getBytes(UTF_8));
    try (FakeWorker w = worker()) {
      w.connection.send(new BlobPut("t-1", 0, new byte[] {data[0]}, false, null, null));
      byte[] rest = java.util.Arrays.copyOfRange(data, 1, data.length);
      ExecutionException e = assertThrows(ExecutionException.class, () -> w.request(
          new BlobPut("t-1", 1, rest, true, claimed.toString(), (long) data.length)));
      RemoteErrorException r = remoteError(e);
      assertEquals(ErrorCode.DIGEST_MISMATCH, r.code().orElseThrow());
      assertTrue(r.remoteMessage().contains("expected " + claimed), r.remoteMessage());
      assertTrue(r.remoteMessage().contains(actual.toString()), r.remoteMessage());
    }
    assertFalse(store.contains(actual));
    assertFalse(store.contains(claimed));
    assertTrue(store.entries().isEmpty());
    assertEquals(0, tempFiles());
  }

  @Test
  void upload_ofAChunkOutOfOrderIsRefusedAndTheTransferDiscarded() throws Exception {
    try (FakeWorker w = worker()) {
      w.connection.send(new BlobPut("t-1", 0, new byte[] {1, 2, 3}, false, null, null));
      ExecutionException gap = assertThrows(ExecutionException.class,
          () -> w.request(new BlobPut("t-1", 5, new byte[] {4}, false, null, null)));
      assertEquals(ErrorCode.DIGEST_MISMATCH, remoteError(gap).code().orElseThrow());
      assertTrue(remoteError(gap).remoteMessage().contains("offset 5 but 3 bytes had arrived"),
          remoteError(gap).remoteMessage());
      assertEquals(0, tempFiles());
      // The rest of the discarded transfer is refused too, and nothing is stored.
      byte[] all = {1, 2, 3, 4};
      ExecutionException after = assertThrows(ExecutionException.class, () -> w.request(new BlobPut(
          "t-1", 3, new byte[] {4}, true, Hashing.xxh64().hash(all).toString(), 4L)));
      assertEquals(ErrorCode.DIGEST_MISMATCH, remoteError(after).code().orElseThrow());
      assertTrue(store.entries().isEmpty());
      // The connection stays usable.
      Message ok = w.request(new BlobPut("t-2", 0, all, true, Hashing.xxh64().hash(all).toString(), 4L));
      assertTrue(((BlobPutResponse) ok.payload()).stored());
    }
  }

  @Test
  void upload_aboveTheMaximumBlobSizeIsRefused() throws Exception {
    master.close();
    master = MasterServer.builder().state(state).transport(TransportSettings.ofSecret(SECRET)).blobs(store).maxBlobBytes(10).start();
    try (FakeWorker w = worker()) {
      w.connection.send(new BlobPut("t-1", 0, new byte[8], false, null, null));
      ExecutionException e = assertThrows(ExecutionException.class,
          () -> w.request(new BlobPut("t-1", 8, new byte[8], false, null, null)));
      assertEquals(ErrorCode.INVALID_PAYLOAD, remoteError(e).code().orElseThrow());
      assertEquals(0, tempFiles());
    }
  }

  @Test
  void upload_beyondTheOpenTransfersAllowedPerConnectionIsBusy() throws Exception {
    master.close();
    master = MasterServer.builder().state(state).transport(TransportSettings.ofSecret(SECRET)).blobs(store).maxBlobTransfers(1).start();
    try (FakeWorker w = worker()) {
      w.connection.send(new BlobPut("t-1", 0, new byte[8], false, null, null));
      ExecutionException e = assertThrows(ExecutionException.class,
          () -> w.request(new BlobPut("t-2", 0, new byte[8], false, null, null)));
      assertEquals(ErrorCode.BUSY, remoteError(e).code().orElseThrow());
      byte[] all = new byte[16];
      Message ok = w.request(new BlobPut("t-1", 8, new byte[8], true,
          Hashing.xxh64().hash(all).toString(), 16L));
      assertTrue(((BlobPutResponse) ok.payload()).stored());
    }
  }

  @Test
  void blobGet_fromAnOffsetSendsTheTailAndStillVerifiesTheWholeBlob() throws Exception {
    byte[] bytes = new byte[5000];
    new Random(2).nextBytes(bytes);
    Digest d = store.putBytes(bytes);
    try (FakeWorker w = worker()) {
      List<BlobChunk> chunks = new ArrayList<>();
      Message last = w.connection.request(new BlobGet(d.toString(), 3000L, 1024L), FakeWorker.T,
          m -> chunks.add((BlobChunk) m.payload())).get(10, TimeUnit.SECONDS);
      chunks.add((BlobChunk) last.payload());
      assertEquals(3000, chunks.get(0).offset());
      java.io.ByteArrayOutputStream tail = new java.io.ByteArrayOutputStream();
      for (BlobChunk c : chunks) {
        tail.write(c.data());
      }
      assertArrayEquals(java.util.Arrays.copyOfRange(bytes, 3000, 5000), tail.toByteArray());
      // A blob corrupt before the offset is still caught.
      Path blob = store.root().resolve(d.algorithm()).resolve(d.hex().substring(0, 2)).resolve(d.hex());
      bytes[0] ^= 1;
      Files.write(blob, bytes);
      ExecutionException e = assertThrows(ExecutionException.class, () -> w.connection.request(
          new BlobGet(d.toString(), 3000L, null), FakeWorker.T).get(10, TimeUnit.SECONDS));
      assertEquals(ErrorCode.DIGEST_MISMATCH, remoteError(e).code().orElseThrow());
      assertFalse(store.contains(d));
    }
  }

  @Test
  void download_ofABlobCorruptOnTheMastersDiskFailsAndTheBlobIsDeleted() throws Exception {
    byte[] bytes = new byte[3_000_000]; // several chunks, so some were delivered before the check
    new Random(7).nextBytes(bytes);
    Digest d = client.blobs().upload(write("src", bytes));
    Path blob = store.root().resolve(d.algorithm()).resolve(d.hex().substring(0, 2)).resolve(d.hex());
    bytes[2_999_999] ^= 1;
    Files.write(blob, bytes);
    Path dst = dir.resolve("out/dst");
    Files.createDirectories(dst.getParent());
    BlobException e = assertThrows(BlobException.class,
        () -> client.blobs().download(d, dst));
    assertEquals(BlobException.Reason.TRANSFER, e.reason());
    assertTrue(e.getMessage().contains("corrupt"), e.getMessage());
    assertFalse(Files.exists(dst));
    try (Stream<Path> s = Files.list(dst.getParent())) {
      assertEquals(0, s.count(), "temp file left beside the destination");
    }
    assertFalse(store.contains(d));
  }

  @Test
  void download_ofAnUnknownBlobFailsWithNotFound() throws Exception {
    Digest d = Hashing.xxh64().hash("never stored".getBytes(UTF_8));
    Path dst = dir.resolve("dst");
    BlobException e = assertThrows(BlobException.class,
        () -> client.blobs().download(d, dst));
    assertEquals(BlobException.Reason.TRANSFER, e.reason());
    assertTrue(e.getMessage().contains("not found"), e.getMessage());
    assertEquals(ErrorCode.NOT_FOUND,
        assertInstanceOf(RemoteErrorException.class, e.getCause()).code().orElseThrow());
    assertFalse(Files.exists(dst));
  }

  @Test
  void blobRequests_ofAnotherAlgorithmAreRefused() throws Exception {
    Digest sha = Hashing.sha256().hash(new byte[] {1});
    BlobException e = assertThrows(BlobException.class,
        () -> client.blobs().missing(List.of(sha)));
    assertEquals(BlobException.Reason.TRANSFER, e.reason());
    assertTrue(e.getMessage().contains("xxh64"), e.getMessage());
  }

  @Test
  void blobRequests_withoutAStoreAreUnsupported() throws Exception {
    master.close();
    master = MasterServer.builder().state(state).transport(TransportSettings.ofSecret(SECRET)).start();
    try (FakeWorker w = worker()) {
      ExecutionException e = assertThrows(ExecutionException.class,
          () -> w.request(new BlobHas(List.of(Hashing.xxh64().hash(new byte[0]).toString()))));
      assertEquals(ErrorCode.UNSUPPORTED, remoteError(e).code().orElseThrow());
    }
  }

  @Test
  void aTransferAbandonedByAClosedConnectionLeavesNoTempFile() throws Exception {
    FakeWorker w = worker();
    assertEquals(WorkerEvent.Kind.JOINED, events.poll(10, TimeUnit.SECONDS).kind());
    w.connection.send(new BlobPut("t-1", 0, new byte[1000], false, null, null));
    w.request(new BlobHas(List.of())); // answered in order: the chunk has been written
    assertEquals(1, tempFiles());
    w.close();
    WorkerEvent left = events.poll(10, TimeUnit.SECONDS);
    assertTrue(left != null, "the master did not notice the closed connection within 10 s");
    assertEquals(0, tempFiles());
  }
}
