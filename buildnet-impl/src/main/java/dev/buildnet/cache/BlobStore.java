package dev.buildnet.cache;

import dev.buildnet.api.hash.Digest;
import dev.buildnet.api.hash.HashProvider;
import dev.buildnet.api.hash.Hasher;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.UUID;
import java.util.stream.Stream;

/**
 * A content-addressed store of blobs on local disk: {@code <root>/<algorithm>/<2 hex>/<hex>}.
 *
 * <p>Writes are atomic (temp file in the store, then rename), so no reader ever sees a half-written
 * blob. Blobs are not fsynced: after a power failure a renamed blob may hold garbage, but every read
 * verifies the blob against its digest, and a blob that fails is deleted and reported as absent,
 * never served, so a crash costs a cache miss, never a wrong output. (An fsync per blob would cost
 * about a millisecond per output file.) Reads touch the blob's modification time so that
 * {@link #evictTo} removes the least recently used first.
 *
 * <p>Thread-safe: concurrent writers of the same digest race harmlessly (same bytes, atomic rename).
 * Every method blocks on file I/O.
 */
public final class BlobStore {
  private static final int CHUNK = 64 * 1024;

  private final Path root;
  private final HashProvider hashes;
  private final Clock clock;

  public BlobStore(Path root, HashProvider hashes, Clock clock) {
    this.root = Objects.requireNonNull(root, "root").toAbsolutePath().normalize();
    this.hashes = Objects.requireNonNull(hashes, "hashes");
    this.clock = Objects.requireNonNull(clock, "clock");
  }

  public Path root() {
    return root;
  }

  public HashProvider hashes() {
    return hashes;
  }

  /** Whether the blob is present (not verified; see {@link #verify}). */
  public boolean contains(Digest digest) {
    return Files.isRegularFile(pathOf(digest));
  }

  /** The blob's size, or empty if absent. */
  public Optional<Long> sizeOf(Digest digest) {
    try {
      return Optional.of(Files.size(pathOf(digest)));
    } catch (IOException e) {
      return Optional.empty();
    }
  }

  /** Copies {@code file} into the store and returns its digest. */
  public Digest putFile(Path file) throws IOException {
    try (InputStream in = Files.newInputStream(file)) {
      return put(in);
    }
  }

  public Digest putBytes(byte[] bytes) throws IOException {
    Digest digest = hashes.hash(bytes);
    Path target = pathOf(digest);
    if (Files.isRegularFile(target)) {
      touch(target);
      return digest;
    }
    Path tmp = newTempFile();
    try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
      ByteBuffer buf = ByteBuffer.wrap(bytes);
      while (buf.hasRemaining()) {
        ch.write(buf);
      }
    } catch (IOException | RuntimeException e) {
      Files.deleteIfExists(tmp);
      throw e;
    }
    publish(tmp, target);
    return digest;
  }

  /** Streams {@code in} into the store (hashing as it copies) and returns the digest. */
  public Digest put(InputStream in) throws IOException {
    Path tmp = newTempFile();
    Digest digest;
    try {
      Hasher hasher = hashes.newHasher();
      try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
        byte[] chunk = new byte[CHUNK];
        int n;
        while ((n = in.read(chunk)) != -1) {
          hasher.update(chunk, 0, n);
          ByteBuffer buf = ByteBuffer.wrap(chunk, 0, n);
          while (buf.hasRemaining()) {
            ch.write(buf);
          }
        }
      }
      digest = hasher.digest();
    } catch (IOException | RuntimeException e) {
      Files.deleteIfExists(tmp);
      throw e;
    }
    Path target = pathOf(digest);
    if (Files.isRegularFile(target)) {
      Files.deleteIfExists(tmp);
      touch(target);
      return digest;
    }
    publish(tmp, target);
    return digest;
  }

  /**
   * Copies the blob to {@code destination} (replacing it), verifying its digest on the way.
   *
   * @return false if the blob is absent or corrupt (a corrupt blob is deleted); {@code destination}
   *     is then left untouched only if it was written to a temp path by the caller — this method
   *     itself writes {@code destination} directly, so callers restore into temp files and rename
   */
  public boolean copyVerified(Digest digest, Path destination) throws IOException {
    Path blob = pathOf(digest);
    Hasher hasher = hashes.newHasher();
    try (FileChannel src = FileChannel.open(blob, StandardOpenOption.READ);
        FileChannel dst =
            FileChannel.open(
                destination,
                StandardOpenOption.WRITE,
                StandardOpenOption.CREATE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
      ByteBuffer buf = ByteBuffer.allocate(CHUNK);
      while (src.read(buf) != -1) {
        buf.flip();
        hasher.update(buf.duplicate());
        while (buf.hasRemaining()) {
          dst.write(buf);
        }
        buf.clear();
      }
    } catch (NoSuchFileException e) {
      return false;
    }
    if (!hasher.digest().equals(digest)) {
      Files.deleteIfExists(blob);
      return false;
    }
    touch(blob);
    return true;
  }

  /** Reads a whole (small) blob, verified; empty if absent or corrupt (corrupt ones are deleted). */
  public Optional<byte[]> readVerified(Digest digest) throws IOException {
    Path blob = pathOf(digest);
    byte[] bytes;
    try {
      bytes = Files.readAllBytes(blob);
    } catch (NoSuchFileException e) {
      return Optional.empty();
    }
    if (!hashes.hash(bytes).equals(digest)) {
      Files.deleteIfExists(blob);
      return Optional.empty();
    }
    touch(blob);
    return Optional.of(bytes);
  }

  /**
   * Streams {@code in} into the store, but publishes it only if it hashes to {@code expected}.
   *
   * @return true if stored now, false if the store already had it
   * @throws DigestMismatchException if the bytes hash to something else (nothing is stored)
   * @throws IllegalArgumentException if {@code expected} is of another algorithm than the store's
   */
  public boolean putVerified(InputStream in, Digest expected) throws IOException {
    checkAlgorithm(expected);
    try (Upload upload = openUpload()) {
      byte[] chunk = new byte[CHUNK];
      int n;
      while ((n = in.read(chunk)) != -1) {
        upload.write(chunk, 0, n);
      }
      return upload.publish(expected);
    }
  }

  /**
   * Starts a blob written piecewise (e.g. as chunks arrive from the network) into a temp file in
   * the store; {@link Upload#publish} verifies and publishes it, {@link Upload#close} discards it
   * unless published. One upload, one thread.
   */
  public Upload openUpload() throws IOException {
    return new Upload(newTempFile());
  }

  /**
   * A blob being written: bytes go to a temp file in the store and through a hasher, so that the
   * blob is verified without reading it again. Not thread-safe.
   */
  public final class Upload implements java.io.Closeable {
    private final Path tmp;
    private final FileChannel channel;
    private final Hasher hasher = hashes.newHasher();
    private long size;
    private boolean done;

    private Upload(Path tmp) throws IOException {
      this.tmp = tmp;
      try {
        this.channel = FileChannel.open(tmp, StandardOpenOption.WRITE);
      } catch (IOException | RuntimeException e) {
        Files.deleteIfExists(tmp);
        throw e;
      }
    }

    /** Appends bytes. */
    public void write(byte[] bytes, int offset, int length) throws IOException {
      if (done) {
        throw new IllegalStateException("upload " + tmp.getFileName() + " is already finished");
      }
      hasher.update(bytes, offset, length);
      ByteBuffer buf = ByteBuffer.wrap(bytes, offset, length);
      while (buf.hasRemaining()) {
        channel.write(buf);
      }
      size += length;
    }

    /** Bytes written so far. */
    public long size() {
      return size;
    }

    /**
     * Verifies the bytes against {@code expected} and publishes them atomically; the upload is
     * finished either way.
     *
     * @return true if stored now, false if the store already had the blob
     * @throws DigestMismatchException if the bytes hash to something else (nothing is stored)
     */
    public boolean publish(Digest expected) throws IOException {
      checkAlgorithm(expected);
      if (done) {
        throw new IllegalStateException("upload " + tmp.getFileName() + " is already finished");
      }
      done = true;
      try {
        channel.close();
        Digest actual = hasher.digest();
        if (!actual.equals(expected)) {
          throw new DigestMismatchException(expected, actual, size);
        }
        Path target = pathOf(expected);
        if (Files.isRegularFile(target)) {
          touch(target);
          return false;
        }
        BlobStore.this.publish(tmp, target);
        return true;
      } finally {
        Files.deleteIfExists(tmp);
      }
    }

    /** Discards the bytes unless published; idempotent. */
    @Override
    public void close() throws IOException {
      done = true;
      try {
        channel.close();
      } finally {
        Files.deleteIfExists(tmp);
      }
    }
  }

  /**
   * Opens the blob for streaming, unverified: the reader must hash what it reads and call {@link
   * #discard} if it does not match. Empty if absent.
   */
  public Optional<InputStream> openUnverified(Digest digest) throws IOException {
    Path blob = pathOf(digest);
    try {
      InputStream in = Files.newInputStream(blob);
      touch(blob);
      return Optional.of(in);
    } catch (NoSuchFileException e) {
      return Optional.empty();
    }
  }

  /** Deletes the blob (e.g. found corrupt while streaming it); true if it was there. */
  public boolean discard(Digest digest) throws IOException {
    return Files.deleteIfExists(pathOf(digest));
  }

  /** Re-hashes the blob; deletes it and returns false if it does not match its name. */
  public boolean verify(Digest digest) throws IOException {
    Path blob = pathOf(digest);
    Digest actual;
    try {
      actual = hashes.hash(blob);
    } catch (NoSuchFileException e) {
      return false;
    }
    if (!actual.equals(digest)) {
      Files.deleteIfExists(blob);
      return false;
    }
    return true;
  }

  /** Total bytes held. Walks the store. */
  public long totalBytes() throws IOException {
    long total = 0;
    for (Entry e : entries()) {
      total += e.size();
    }
    return total;
  }

  /**
   * Deletes least-recently-used blobs until at most {@code maxBytes} remain; returns what was
   * deleted. Stale temp files from crashed writers are removed too.
   */
  public List<Digest> evictTo(long maxBytes) throws IOException {
    return evictTo(entries(), maxBytes);
  }

  /**
   * Like {@link #evictTo(long)}, over a listing the caller already took with {@link #entries()},
   * so that the store is walked once.
   */
  public List<Digest> evictTo(List<Entry> listing, long maxBytes) throws IOException {
    List<Entry> all = new ArrayList<>(listing);
    long total = all.stream().mapToLong(Entry::size).sum();
    all.sort((a, b) -> a.lastUsed().compareTo(b.lastUsed()));
    List<Digest> evicted = new ArrayList<>();
    for (Entry e : all) {
      if (total <= maxBytes) {
        break;
      }
      if (Files.deleteIfExists(pathOf(e.digest()))) {
        evicted.add(e.digest());
        total -= e.size();
      }
    }
    cleanTemp();
    return evicted;
  }

  /** A stored blob, for eviction and statistics. */
  public record Entry(Digest digest, long size, FileTime lastUsed) {}

  /** Every blob currently stored. */
  public List<Entry> entries() throws IOException {
    Path dir = root.resolve(hashes.algorithm());
    List<Entry> out = new ArrayList<>();
    if (!Files.isDirectory(dir)) {
      return out;
    }
    try (Stream<Path> files = Files.walk(dir, 2)) {
      for (Path p : (Iterable<Path>) files::iterator) {
        BasicFileAttributes attrs;
        try {
          attrs = Files.readAttributes(p, BasicFileAttributes.class);
        } catch (NoSuchFileException e) {
          continue; // evicted concurrently
        }
        if (!attrs.isRegularFile()) {
          continue;
        }
        Digest d;
        try {
          d = Digest.of(hashes.algorithm(), p.getFileName().toString());
        } catch (IllegalArgumentException e) {
          continue; // not ours
        }
        out.add(new Entry(d, attrs.size(), attrs.lastModifiedTime()));
      }
    }
    return out;
  }

  Path pathOf(Digest digest) {
    checkAlgorithm(digest);
    String hex = digest.hex();
    return root.resolve(digest.algorithm()).resolve(hex.substring(0, 2)).resolve(hex);
  }

  private void checkAlgorithm(Digest digest) {
    if (!digest.algorithm().equals(hashes.algorithm())) {
      throw new IllegalArgumentException(
          "this store holds " + hashes.algorithm() + " blobs, not " + digest);
    }
  }

  private Path newTempFile() throws IOException {
    Path tmp = root.resolve("tmp");
    Files.createDirectories(tmp);
    Path file = tmp.resolve(UUID.randomUUID() + ".part");
    Files.createFile(file);
    return file;
  }

  private void publish(Path tmp, Path target) throws IOException {
    Files.createDirectories(target.getParent());
    touch(tmp); // LRU times all come from the one clock, written or read
    try {
      Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
    } catch (FileAlreadyExistsException e) {
      Files.deleteIfExists(tmp); // another writer published the same bytes first
    } catch (AtomicMoveNotSupportedException e) {
      Files.deleteIfExists(tmp);
      throw new IOException("blob store " + root + " needs atomic renames within itself", e);
    }
  }

  private void touch(Path blob) {
    try {
      Files.setLastModifiedTime(blob, FileTime.from(clock.instant()));
    } catch (IOException e) {
      // LRU order is advisory; a blob we cannot touch is merely evicted earlier.
    }
  }

  private void cleanTemp() throws IOException {
    Path tmp = root.resolve("tmp");
    if (!Files.isDirectory(tmp)) {
      return;
    }
    long cutoff = clock.millis() - 3_600_000L;
    try (Stream<Path> files = Files.list(tmp)) {
      for (Path p : (Iterable<Path>) files::iterator) {
        try {
          if (Files.getLastModifiedTime(p).toMillis() < cutoff) {
            Files.deleteIfExists(p);
          }
        } catch (NoSuchFileException ignored) {
          // finished or removed by its writer
        }
      }
    }
  }
}
