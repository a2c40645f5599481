package dev.buildnet.internal.master;

import dev.buildnet.api.hash.Digest;
import dev.buildnet.api.hash.Hasher;
import dev.buildnet.api.transport.Message;
import dev.buildnet.api.transport.Payload;
import dev.buildnet.internal.cache.DiskBlobStore;
import dev.buildnet.api.blob.BlobException;
import dev.buildnet.api.transport.ErrorCode;
import dev.buildnet.internal.protocol.Chunks;
import dev.buildnet.internal.protocol.Payloads;
import dev.buildnet.internal.protocol.Payloads.BlobChunk;
import dev.buildnet.internal.protocol.Payloads.BlobGet;
import dev.buildnet.internal.protocol.Payloads.BlobHas;
import dev.buildnet.internal.protocol.Payloads.BlobHasResponse;
import dev.buildnet.internal.protocol.Payloads.BlobPut;
import dev.buildnet.internal.protocol.Payloads.BlobPutResponse;
import dev.buildnet.internal.transport.Session;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * BLOB_HAS, BLOB_PUT and BLOB_GET of one connection against the master's {@link DiskBlobStore}, on
 * that connection's reader thread. Uploads stream chunk by chunk into temp files of the store and
 * are verified as they arrive; downloads stream from the blob file and are verified as they go,
 * so that the final chunk (which carries the digest) is sent only for a sound blob. Never holds
 * more than a couple of chunks of a blob in memory, plus the bounded window of chunks queued for
 * the socket.
 */
public final class BlobService {
  private static final Logger log = LoggerFactory.getLogger(BlobService.class);

  /** Chunks queued for the socket at once on a download. */
  static final int WINDOW = 8;

  /** How long a download waits for the peer to drain the window before giving up on it. */
  private static final long DRAIN_TIMEOUT_MS = 60_000;

  private final DiskBlobStore store;
  private final Session connection;
  private final long maxBlobBytes;
  private final int maxTransfers;
  private final Runnable alive;
  private final Map<String, DiskBlobStore.Upload> uploads = new HashMap<>();
  private boolean closed;

  /**
   * @param alive called while a download keeps the reader thread busy and the peer is draining it
   *     (the peer's frames are not read meanwhile, but it is evidently alive)
   */
  public BlobService(DiskBlobStore store, Session connection, long maxBlobBytes, int maxTransfers,
      Runnable alive) {
    this.store = store;
    this.connection = connection;
    this.maxBlobBytes = maxBlobBytes;
    this.maxTransfers = maxTransfers;
    this.alive = alive;
  }

  static boolean serves(Payload p) {
    return p instanceof BlobHas || p instanceof BlobPut || p instanceof BlobGet;
  }

  /** Answers {@code m} (sends its replies); throws {@link RequestError} for an ERROR reply. */
  public void handle(Message m) {
    try {
      Payload p = m.payload();
      if (p instanceof BlobHas has) {
        has(m.id(), has);
      } else if (p instanceof BlobPut put) {
        put(m.id(), put);
      } else if (p instanceof BlobGet get) {
        get(m.id(), get);
      } else {
        throw new IllegalStateException("not a blob request: " + m.type());
      }
    } catch (IOException e) {
      log.error("{}: {} {} failed on the blob store", connection, m.type(), m.id(), e);
      throw new RequestError(ErrorCode.INTERNAL, "the master's blob store failed: " + e);
    }
  }

  private void has(String id, BlobHas has) {
    List<String> missing = new ArrayList<>();
    for (String text : has.digests()) {
      if (!store.contains(digest(text))) {
        missing.add(text);
      }
    }
    connection.send(new BlobHasResponse(id, missing));
  }

  private synchronized void put(String id, BlobPut put) throws IOException {
    if (closed) {
      return;
    }
    String transfer = put.transferId();
    DiskBlobStore.Upload upload = uploads.get(transfer);
    if (upload == null) {
      if (put.offset() != 0) {
        throw new RequestError(ErrorCode.DIGEST_MISMATCH, "BLOB_PUT chunk at offset " + put.offset()
            + " of transfer '" + transfer + "', which is not open: a transfer starts at offset 0"
            + " (an earlier error may have discarded it)");
      }
      if (uploads.size() >= maxTransfers) {
        throw new RequestError(ErrorCode.BUSY, "this connection already has " + uploads.size()
            + " open blob transfers, the most the master allows; finish one first");
      }
      upload = store.openUpload();
      uploads.put(transfer, upload);
    }
    if (put.offset() != upload.size()) {
      long expected = upload.size();
      discard(transfer);
      throw new RequestError(ErrorCode.DIGEST_MISMATCH, "BLOB_PUT chunk of transfer '" + transfer
          + "' at offset " + put.offset() + " but " + expected + " bytes had arrived (chunks must"
          + " be contiguous and in order); the transfer is discarded");
    }
    if (upload.size() + put.data().length > maxBlobBytes) {
      discard(transfer);
      throw new RequestError(ErrorCode.INVALID_PAYLOAD, "blob of transfer '" + transfer
          + "' exceeds the master's limit of " + maxBlobBytes + " bytes; the transfer is discarded");
    }
    try {
      upload.write(put.data(), 0, put.data().length);
    } catch (IOException e) {
      discard(transfer);
      throw e;
    }
    if (!put.last()) {
      return;
    }
    uploads.remove(transfer);
    try (DiskBlobStore.Upload u = upload) {
      Digest expected;
      try {
        expected = digest(put.digest());
      } catch (RequestError e) {
        throw new RequestError(e.code, e.getMessage() + "; transfer '" + transfer + "' is discarded");
      }
      boolean stored = u.publish(expected);
      connection.send(new BlobPutResponse(id, expected.toString(), stored));
    } catch (BlobException e) {
      if (e.reason() != BlobException.Reason.DIGEST_MISMATCH) {
        throw e;
      }
      throw new RequestError(ErrorCode.DIGEST_MISMATCH, "blob of transfer '" + transfer
          + "' does not match its digest: expected " + e.digest() + " but the "
          + put.size() + " bytes received hash to " + e.actualDigest() + "; nothing stored");
    }
  }

  private void get(String id, BlobGet get) throws IOException {
    Digest digest = digest(get.digest());
    long offset = get.offset() == null ? 0 : get.offset();
    int max = get.maxChunk() == null ? Payloads.MAX_CHUNK_BYTES : (int) (long) get.maxChunk();
    Optional<Long> size = store.sizeOf(digest);
    Optional<InputStream> opened = size.isPresent() ? store.openUnverified(digest) : Optional.empty();
    if (opened.isEmpty()) {
      throw new RequestError(ErrorCode.NOT_FOUND, "the master has no blob " + digest);
    }
    if (offset > size.get()) {
      opened.get().close();
      throw new RequestError(ErrorCode.INVALID_PAYLOAD, "BLOB_GET offset " + offset
          + " is beyond the end of blob " + digest + " (" + size.get() + " bytes)");
    }
    ArrayDeque<CompletableFuture<Void>> window = new ArrayDeque<>();
    // When the session has encoded a chunk by the time send returns, its array is free again:
    // two arrays then serve the whole download instead of one per chunk.
    boolean reuse = connection.encodesOnSend();
    byte[] spare = null;
    Hasher hasher = store.hashes().newHasher();
    long pos = 0;
    byte[] held;
    long heldAt;
    try (InputStream in = opened.get()) {
      // The whole blob is hashed, also before the offset, so that every download is verified.
      byte[] skip = new byte[64 * 1024];
      while (pos < offset) {
        int n = in.read(skip, 0, (int) Math.min(skip.length, offset - pos));
        if (n < 0) {
          break;
        }
        hasher.update(skip, 0, n);
        pos += n;
      }
      // One chunk is held back: the last goes out only once the whole blob is verified.
      held = Chunks.read(in, max);
      hasher.update(held);
      heldAt = pos;
      pos += held.length;
      while (true) {
        byte[] next = spare != null ? Chunks.read(in, spare) : Chunks.read(in, max);
        if (next.length == 0) {
          break;
        }
        hasher.update(next);
        if (!send(window, new BlobChunk(id, heldAt, held, false, null, null))) {
          return;
        }
        spare = reuse && held.length == max ? held : null;
        held = next;
        heldAt = pos;
        pos += next.length;
      }
    }
    Digest actual = hasher.digest();
    if (!actual.equals(digest)) {
      store.discard(digest);
      log.warn("{}: blob {} is corrupt on disk (its {} bytes hash to {}); deleted it",
          connection, digest, pos, actual);
      throw new RequestError(ErrorCode.DIGEST_MISMATCH, "blob " + digest + " is corrupt on the"
          + " master (its " + pos + " bytes hash to " + actual + "); the master deleted it:"
          + " discard what was received and upload it again");
    }
    connection.send(new BlobChunk(id, heldAt, held, true, digest.toString(), pos));
  }

  /** Queues a chunk, first waiting for the oldest of a full window to leave; false if the peer is gone. */
  private boolean send(ArrayDeque<CompletableFuture<Void>> window, BlobChunk chunk) {
    if (window.size() >= WINDOW) {
      try {
        window.removeFirst().get(DRAIN_TIMEOUT_MS, TimeUnit.MILLISECONDS);
        alive.run();
      } catch (ExecutionException e) {
        log.debug("{}: download ended, the connection failed: {}", connection, e.getCause().toString());
        return false;
      } catch (TimeoutException e) {
        connection.close();
        log.warn("{}: peer drained no download chunk for {} ms; disconnected it", connection,
            DRAIN_TIMEOUT_MS);
        return false;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return false;
      }
    }
    window.addLast(connection.send(chunk));
    return true;
  }

  private Digest digest(String text) {
    Digest d;
    try {
      d = Digest.parse(text);
    } catch (IllegalArgumentException e) {
      throw new RequestError(ErrorCode.INVALID_PAYLOAD, "'" + text + "' is not a digest: " + e.getMessage());
    }
    if (!d.algorithm().equals(store.hashes().algorithm())) {
      throw new RequestError(ErrorCode.INVALID_PAYLOAD, "the master's blob store holds "
          + store.hashes().algorithm() + " blobs, not " + d);
    }
    return d;
  }

  private void discard(String transfer) {
    DiskBlobStore.Upload u = uploads.remove(transfer);
    if (u != null) {
      try {
        u.close();
      } catch (IOException e) {
        log.warn("{}: cannot discard blob transfer '{}': {}", connection, transfer, e.toString());
      }
    }
  }

  /** Discards every unfinished upload (the connection ended). */
  synchronized void close() {
    closed = true;
    for (String t : List.copyOf(uploads.keySet())) {
      discard(t);
    }
  }
}
