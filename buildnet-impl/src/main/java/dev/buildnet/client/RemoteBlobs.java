package dev.buildnet.client;


import dev.buildnet.api.blob.BlobStore;
import dev.buildnet.api.blob.BlobException;
import dev.buildnet.api.hash.Digest;
import dev.buildnet.api.hash.HashProvider;
import dev.buildnet.api.transport.Transport;
import dev.buildnet.api.hash.Hasher;
import dev.buildnet.api.transport.Message;
import dev.buildnet.api.transport.ErrorCode;
import dev.buildnet.internal.protocol.Payloads;
import dev.buildnet.internal.protocol.Payloads.BlobChunk;
import dev.buildnet.internal.protocol.Payloads.BlobGet;
import dev.buildnet.internal.protocol.Payloads.BlobHas;
import dev.buildnet.internal.protocol.Payloads.BlobHasResponse;
import dev.buildnet.internal.protocol.Payloads.BlobPut;
import dev.buildnet.internal.protocol.Payloads.BlobPutResponse;
import dev.buildnet.internal.transport.Session;
import dev.buildnet.internal.transport.RemoteErrorException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;

/**
 * The master's content-addressed blob store, seen from a {@link RemoteClient} or a worker: ask
 * which blobs it lacks, upload files, download blobs to files; and the same store as a {@link
 * BlobStore} (e.g. the shared tier of a {@link dev.buildnet.internal.cache.TieredBlobStore}). Files stream
 * in chunks of at most 1 MiB with a bounded window in flight, so memory does not grow with the
 * file; both sides verify every digest.
 *
 * <h2>Threads and cost</h2>
 *
 * Safe for concurrent use (transfers share the client's connection). Every method blocks: {@link
 * #missing} for a round trip per 10,000 digests, bounded by the request timeout; {@link #upload}
 * and {@link #download} for the whole transfer, bounded by the client's blob timeout.
 *
 * @since 0.1
 */
public final class RemoteBlobs implements BlobStore {
  /** Upload chunks queued for the socket at once. */
  static final int WINDOW = 8;

  private static final int HAS_BATCH = 10_000;

  private final Supplier<Session> connections;
  private final String where;
  private final HashProvider hashes;
  private final Duration requestTimeout;
  private final Duration blobTimeout;
  private final int chunkBytes;

  RemoteBlobs(Supplier<Session> connections, String where, HashProvider hashes,
      Duration requestTimeout, Duration blobTimeout, int chunkBytes) {
    this.connections = connections;
    this.where = where;
    this.hashes = hashes;
    this.requestTimeout = requestTimeout;
    this.blobTimeout = blobTimeout;
    this.chunkBytes = chunkBytes;
  }

  /**
   * Blob transfers over a connection of one's own, e.g. a worker's connection to the master
   * (a {@link RemoteClient} has {@link RemoteClient#blobs()} instead). The connection is not
   * closed by this view.
   *
   * @param connection a connection BuildNet's session layer handed to a master, worker or client
   *     handler (over the TCP transport or a host's {@link Transport}); that layer matches the
   *     replies blob transfers wait for
   * @param hashes the master store's algorithm
   * @param requestTimeout bound on a BLOB_HAS round trip
   * @param blobTimeout bound on one whole upload or download
   */
  public static RemoteBlobs over(Transport.Connection transportConnection, HashProvider hashes,
      Duration requestTimeout, Duration blobTimeout) {
    Objects.requireNonNull(transportConnection, "connection");
    if (!(transportConnection instanceof Session connection)) {
      throw new IllegalArgumentException("blob transfers need a connection BuildNet's session layer "
          + "handed out, not " + transportConnection.getClass().getName());
    }
    Objects.requireNonNull(hashes, "hashes");
    Objects.requireNonNull(requestTimeout, "requestTimeout");
    Objects.requireNonNull(blobTimeout, "blobTimeout");
    return new RemoteBlobs(() -> {
      if (!connection.isOpen()) {
        throw transfer(null, "the connection to " + connection + " is closed", null);
      }
      return connection;
    }, connection.toString(), hashes, requestTimeout, blobTimeout, Payloads.MAX_CHUNK_BYTES);
  }

  /** The algorithm of the digests {@link #upload} computes (it must be the master's). */
  @Override
  public HashProvider hashes() {
    return hashes;
  }

  /**
   * Those of {@code digests} the master lacks, in the given order.
   *
   * @throws BlobException ({@code TRANSFER}) if the master refuses (e.g. another algorithm than
   *     its store's) or is unreachable
   */
  public Set<Digest> missing(Collection<Digest> digests) {
    List<Digest> all = List.copyOf(digests);
    Set<Digest> missing = new LinkedHashSet<>();
    for (int from = 0; from < all.size(); from += HAS_BATCH) {
      List<String> batch = new ArrayList<>();
      for (Digest d : all.subList(from, Math.min(all.size(), from + HAS_BATCH))) {
        batch.add(d.toString());
      }
      BlobHasResponse r = (BlobHasResponse) await(
          connection().request(new BlobHas(batch), requestTimeout), requestTimeout,
          "asking which of " + batch.size() + " blobs it lacks").payload();
      for (String s : r.missing()) {
        missing.add(Digest.parse(s));
      }
    }
    return missing;
  }

  /**
   * Uploads {@code file} to the master, hashing it while reading; the master verifies the digest
   * before it stores anything.
   *
   * @return the file's digest
   * @throws BlobException ({@code TRANSFER}) if the master refuses the blob or the connection
   *     fails
   * @throws java.io.UncheckedIOException if the file cannot be read
   */
  public Digest upload(Path file) {
    Objects.requireNonNull(file, "file");
    try (InputStream in = Files.newInputStream(file)) {
      return upload(in, null, "upload of " + file);
    } catch (IOException e) {
      throw new java.io.UncheckedIOException("cannot read " + file + " to upload it: " + e.getMessage(), e);
    }
  }

  /**
   * Streams {@code in} to the master. With {@code expected}, bytes that hash to something else are
   * never offered under it: the transfer is abandoned before its last chunk and the master
   * discards it.
   */
  private Digest upload(InputStream in, Digest expected, String what) throws IOException {
    Session c = connection();
    String transfer = UUID.randomUUID().toString();
    Hasher hasher = hashes.newHasher();
    ArrayDeque<CompletableFuture<Void>> window = new ArrayDeque<>();
    long deadline = System.nanoTime() + blobTimeout.toNanos();
    // One chunk is held back so that the last one, which carries the digest, is known.
    byte[] held;
    long pos = 0;
    try {
      held = dev.buildnet.internal.protocol.Chunks.read(in, chunkBytes);
      while (true) {
        byte[] next = dev.buildnet.internal.protocol.Chunks.read(in, chunkBytes);
        if (next.length == 0) {
          break;
        }
        hasher.update(held);
        if (window.size() >= WINDOW) {
          await(window.removeFirst(), remaining(deadline), what);
        }
        window.addLast(c.send(new BlobPut(transfer, pos, held, false, null, null)));
        pos += held.length;
        held = next;
      }
    } catch (IOException | RuntimeException e) {
      abandon(c, transfer, pos, deadline, what); // e.g. the source turned out corrupt
      throw e;
    }
    hasher.update(held);
    Digest digest = hasher.digest();
    long size = pos + held.length;
    if (expected != null && !digest.equals(expected)) {
      abandon(c, transfer, pos, deadline, what);
      throw BlobException.digestMismatch(expected, digest, size);
    }
    BlobPutResponse r = (BlobPutResponse) await(
        c.request(new BlobPut(transfer, pos, held, true, digest.toString(), size), remaining(deadline)),
        remaining(deadline), what).payload();
    if (!r.digest().equals(digest.toString())) {
      throw transfer(digest, "the master at " + where + " acknowledged " + what
          + " as " + r.digest() + " but it is " + digest, null);
    }
    return digest;
  }

  /**
   * Makes the master discard a transfer it has chunks of: a chunk out of order does (and is
   * answered with an error, which is the point).
   */
  private void abandon(Session c, String transfer, long sent, long deadline, String what) {
    if (sent == 0) {
      return; // nothing sent, nothing open
    }
    try {
      BlobPut outOfOrder = new BlobPut(transfer, sent + 1, new byte[0], true,
          hashes.hash(new byte[0]).toString(), sent + 1);
      await(c.request(outOfOrder, remaining(deadline)), remaining(deadline), what);
    } catch (BlobException discarded) { // await throws only TRANSFER
      // expected: the master refused the chunk and discarded the transfer
    }
  }

  // ---- the BlobStore SPI ---------------------------------------------------------------------

  @Override
  public String name() {
    return "the master's blob store at " + where;
  }

  /** One BLOB_HAS round trip. */
  @Override
  public boolean has(Digest digest) {
    checkAlgorithm(digest);
    return missing(List.of(digest)).isEmpty();
  }

  /**
   * Costs a whole download: the protocol has no size query (a remote size is only ever needed
   * where the bytes are needed too).
   */
  @Override
  public OptionalLong size(Digest digest) throws IOException {
    Optional<InputStream> opened = open(digest);
    if (opened.isEmpty()) {
      return OptionalLong.empty();
    }
    try (InputStream in = opened.get()) {
      return OptionalLong.of(in.transferTo(OutputStream.nullOutputStream()));
    }
  }

  /**
   * Downloads the blob (verified, see {@link #download}) into a temporary file and streams that;
   * the file is deleted when the stream is closed. Empty if the master lacks the blob.
   */
  @Override
  public Optional<InputStream> open(Digest digest) throws IOException {
    checkAlgorithm(digest);
    Path spool = Files.createTempFile("buildnet-remote-blob-", ".part");
    boolean handedOver = false;
    try {
      try {
        download(digest, spool);
      } catch (BlobException e) {
        // Not there, or corrupt there (the master then deleted it): absent either way.
        if (e.reason() == BlobException.Reason.TRANSFER
            && e.getCause() instanceof RemoteErrorException remote
            && remote.code().filter(c -> c == ErrorCode.NOT_FOUND || c == ErrorCode.DIGEST_MISMATCH)
                .isPresent()) {
          return Optional.empty();
        }
        throw e;
      }
      InputStream in = Files.newInputStream(spool, StandardOpenOption.DELETE_ON_CLOSE);
      handedOver = true;
      return Optional.of(in);
    } finally {
      if (!handedOver) {
        Files.deleteIfExists(spool);
      }
    }
  }

  /** Streams the bytes to the master; the master verifies them too before storing. */
  @Override
  public boolean put(Digest expected, InputStream in) throws IOException {
    checkAlgorithm(expected);
    upload(in, expected, "upload of " + expected);
    return true;
  }

  @Override
  public Digest put(InputStream in) throws IOException {
    return upload(in, null, "upload of a blob");
  }

  /** The connection is not this view's: nothing to release. */
  @Override
  public void close() {
    // The connection's owner closes it.
  }

  private void checkAlgorithm(Digest digest) {
    Objects.requireNonNull(digest, "digest");
    if (!digest.algorithm().equals(hashes.algorithm())) {
      throw new IllegalArgumentException("this client hashes with " + hashes.algorithm()
          + " and cannot verify " + digest);
    }
  }

  /**
   * Downloads blob {@code digest} to {@code destination} (replaced if present): streams into a
   * temp file beside it, verifies the digest, then renames.
   *
   * @throws BlobException ({@code TRANSFER}) if the master lacks the blob (message says not
   *     found), the blob is corrupt, or the connection fails; no temp file is left and {@code
   *     destination} is unchanged
   * @throws IllegalArgumentException if {@code digest} is not of this client's algorithm
   */
  public void download(Digest digest, Path destination) {
    checkAlgorithm(digest);
    Path target = destination.toAbsolutePath();
    Path tmp = target.resolveSibling("." + target.getFileName() + "." + UUID.randomUUID() + ".part");
    String what = "download of " + digest + " to " + destination;
    boolean done = false;
    try {
      Receiver receiver = new Receiver(FileChannel.open(tmp, StandardOpenOption.CREATE_NEW,
          StandardOpenOption.WRITE), hashes.newHasher());
      try {
        Message last = await(connection().request(
            new BlobGet(digest.toString(), null, (long) chunkBytes), blobTimeout, receiver::accept),
            blobTimeout, what);
        receiver.accept(last);
      } finally {
        receiver.channel.close();
      }
      if (receiver.failure != null) {
        throw transfer(digest, what + " failed: " + receiver.failure.getMessage(),
            receiver.failure);
      }
      Digest actual = receiver.hasher.digest();
      if (!actual.equals(digest)) {
        throw transfer(digest, what + " failed: the " + receiver.size
            + " bytes received hash to " + actual, null);
      }
      Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
      done = true;
    } catch (IOException e) {
      throw transfer(digest, what + " failed: " + e, e);
    } finally {
      if (!done) {
        try {
          Files.deleteIfExists(tmp);
        } catch (IOException ignored) {
          // best effort: a stale .part file is harmless
        }
      }
    }
  }

  /** Writes BLOB_CHUNKs in order on the reader thread; remembers the first failure. */
  private static final class Receiver {
    final FileChannel channel;
    final Hasher hasher;
    long size;
    Exception failure;

    Receiver(FileChannel channel, Hasher hasher) {
      this.channel = channel;
      this.hasher = hasher;
    }

    synchronized void accept(Message m) {
      if (failure != null) {
        return;
      }
      if (!(m.payload() instanceof BlobChunk chunk)) {
        failure = new IllegalStateException("expected BLOB_CHUNK but got " + m.type());
        return;
      }
      if (chunk.offset() != size) {
        failure = new IllegalStateException("chunk at offset " + chunk.offset() + " after " + size
            + " bytes: out of order");
        return;
      }
      try {
        ByteBuffer buf = ByteBuffer.wrap(chunk.data());
        while (buf.hasRemaining()) {
          channel.write(buf);
        }
        hasher.update(chunk.data());
        size += chunk.data().length;
      } catch (IOException e) {
        failure = e;
      }
    }
  }

  private Session connection() {
    try {
      return connections.get();
    } catch (dev.buildnet.api.state.StateException e) {
      throw transfer(null, e.getMessage(), e);
    }
  }

  private static BlobException transfer(Digest digest, String message, Throwable cause) {
    return new BlobException(BlobException.Reason.TRANSFER, digest, message, cause);
  }

  private static Duration remaining(long deadlineNanos) {
    return Duration.ofNanos(Math.max(1, deadlineNanos - System.nanoTime()));
  }

  private <T> T await(CompletableFuture<T> future, Duration timeout, String what) {
    try {
      return future.get(timeout.toMillis() + 5_000, TimeUnit.MILLISECONDS);
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      if (cause instanceof RemoteErrorException remote) {
        String kind = remote.code().filter(ErrorCode.NOT_FOUND::equals).isPresent()
            ? "not found: " : "refused: ";
        throw transfer(null, "the master at " + where + " " + kind + what
            + ": " + remote.remoteMessage(), remote);
      }
      if (cause instanceof TimeoutException) {
        throw transfer(null, what + " did not finish within " + timeout, cause);
      }
      throw transfer(null, what + " failed: the connection to the master at "
          + where + " was lost (" + cause.getMessage() + ")", cause);
    } catch (TimeoutException e) {
      throw transfer(null, what + " did not finish within " + timeout, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw transfer(null, "interrupted during the " + what, e);
    }
  }
}
