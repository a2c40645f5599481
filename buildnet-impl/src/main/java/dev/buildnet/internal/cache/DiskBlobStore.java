package dev.buildnet.internal.cache;

import dev.buildnet.api.blob.BlobException;
import dev.buildnet.api.blob.BlobStore;
import dev.buildnet.api.hash.Digest;
import dev.buildnet.api.hash.HashProvider;
import dev.buildnet.api.hash.Hasher;
import dev.buildnet.internal.DiskSpace;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

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
 * <p>Anything else found where a blob should be (a directory, a symbolic link, a file of the wrong
 * size or content) is junk: it is moved aside to {@code <root>/quarantine/} (deleted if it cannot
 * be moved) and the blob counts as absent, so the target that needs it runs and stores it afresh
 * instead of failing on the junk for good. {@link #evictTo} deletes what was quarantined more than
 * an hour before.
 *
 * <p>A write that fails because the disk is full says so ({@code "the disk holding DIR is full: N
 * bytes free"}), and {@link #writeFailure} reports it until a write succeeds again; the store needs
 * no reopening once there is room.
 *
 * <p>Presence is answered from an index where that is safe ({@link #knownToContain}): the blobs
 * this instance has seen in the store (by a look at the file, a write, a verified read or a walk
 * of the store), with their sizes, so that a null build's check of every output blob costs no
 * {@code lstat} after the first. The index is only ever a hint towards "present": a blob this
 * instance deletes or quarantines, or finds missing, leaves it at once; a blob deleted behind its
 * back (another process's {@code gc}, a manual {@code rm}) is caught when its bytes are needed,
 * since every read looks at the file and verifies it ({@link #copyVerified} and {@link
 * #readVerified} then report it absent, and a restore that finds a blob absent is a miss), and at
 * the latest by the sweep: the index is dropped every {@value #INDEX_SWEEP_SECONDS} seconds and
 * rebuilt from every walk of the store ({@link #entries}, which {@code gc} takes).
 *
 * <p>Thread-safe: concurrent writers of the same digest race harmlessly (same bytes, atomic rename).
 * Every method blocks on file I/O. Owns no open resources: {@link #close} does nothing.
 *
 * <p>Besides the {@link BlobStore} SPI it offers what only a local store can: copying blobs to and
 * from files, piecewise uploads ({@link #openUpload}), listing and eviction ({@link #entries},
 * {@link #evictTo}) and write-failure reporting ({@link #writeFailure}).
 */
public final class DiskBlobStore implements BlobStore {
  private static final Logger LOG = LoggerFactory.getLogger(DiskBlobStore.class);
  private static final int CHUNK = 64 * 1024;
  private static final String QUARANTINE = "quarantine";
  private static final long STALE_MILLIS = 3_600_000L;
  /** How long the presence index is trusted before it is dropped and every blob looked at again. */
  static final long INDEX_SWEEP_SECONDS = 300;
  /** Beyond this many blobs the index starts afresh, which bounds its memory. */
  private static final int INDEX_MAX = 1_000_000;

  private final Path root;
  private final HashProvider hashes;
  private final Clock clock;
  /** Why the last write failed for a reason of the disk; null once one succeeds. */
  private volatile String writeFailure;
  /** Blobs seen in the store, with their sizes (see the class comment). */
  private final Map<Digest, Long> index = new ConcurrentHashMap<>();
  /**
   * Bumped after every change that may take a blob out of the index or give it another size
   * (never when it learns a new blob): see {@link #indexEpoch}.
   */
  private final java.util.concurrent.atomic.AtomicLong indexLosses =
      new java.util.concurrent.atomic.AtomicLong();
  private final long indexSweepNanos;
  private volatile long indexSince = System.nanoTime();
  /** Looks at blob files ({@code lstat}s) made to learn whether a blob is present; for tests. */
  private final LongAdder fileChecks = new LongAdder();

  public DiskBlobStore(Path root, HashProvider hashes, Clock clock) {
    this(root, hashes, clock, Duration.ofSeconds(INDEX_SWEEP_SECONDS));
  }

  /** With another sweep interval for the presence index, for tests. */
  DiskBlobStore(Path root, HashProvider hashes, Clock clock, Duration indexSweep) {
    this.root = Objects.requireNonNull(root, "root").toAbsolutePath().normalize();
    this.hashes = Objects.requireNonNull(hashes, "hashes");
    this.clock = Objects.requireNonNull(clock, "clock");
    this.indexSweepNanos = indexSweep.toNanos();
  }

  public Path root() {
    return root;
  }

  @Override
  public HashProvider hashes() {
    return hashes;
  }

  @Override
  public String name() {
    return "disk store " + root;
  }

  // ---- the BlobStore SPI ---------------------------------------------------------------------

  /** {@link #contains(Digest)}. */
  @Override
  public boolean has(Digest digest) {
    return contains(digest);
  }

  @Override
  public OptionalLong size(Digest digest) {
    Optional<Long> size = sizeOf(digest);
    return size.isPresent() ? OptionalLong.of(size.get()) : OptionalLong.empty();
  }

  /** Verified as read; a blob found corrupt is moved to the quarantine and the stream throws. */
  @Override
  public Optional<InputStream> open(Digest digest) throws IOException {
    checkAlgorithm(digest);
    Optional<InputStream> raw = openUnverified(digest);
    if (raw.isEmpty()) {
      return raw;
    }
    return Optional.of(BlobStore.verifying(raw.get(), digest, hashes, () -> {
      Path blob = pathOf(digest);
      if (Files.exists(blob, LinkOption.NOFOLLOW_LINKS)) {
        quarantine(blob, "its content does not match its digest");
      }
    }));
  }

  /** {@link #putVerified}; always true (a local store takes any size). */
  @Override
  public boolean put(Digest expected, InputStream in) throws IOException {
    putVerified(in, expected);
    return true;
  }

  /** Nothing to release. */
  @Override
  public void close() {
    // The store holds no open files between calls.
  }

  // ---- local operations ----------------------------------------------------------------------

  /**
   * Whether the blob is present (not verified; see {@link #verify}). Junk in its place is moved
   * aside, and the blob is then absent.
   */
  public boolean contains(Digest digest) {
    BasicFileAttributes attrs = blobAttributes(pathOf(digest));
    learn(digest, attrs);
    return attrs != null;
  }

  /**
   * Whether the blob is present with {@code size} bytes (not verified). A file of another size is
   * corrupt: it is moved aside, and the blob is then absent.
   */
  public boolean contains(Digest digest, long size) {
    Path blob = pathOf(digest);
    BasicFileAttributes attrs = blobAttributes(blob);
    learn(digest, attrs);
    if (attrs == null) {
      return false;
    }
    long actual = attrs.size();
    if (actual != size) {
      quarantine(blob, "it holds " + actual + " bytes, not " + size);
      return false;
    }
    return true;
  }

  /**
   * Whether the blob is present (with {@code size} bytes, unless {@code size} is negative), from
   * the presence index if it holds the blob, else as {@link #contains(Digest, long)} does, with a
   * look at the file. For lookups whose blob is read, and so looked at and verified, before its
   * bytes are used: a blob deleted behind this store's back since it was indexed still counts as
   * present here (see the class comment).
   */
  public boolean knownToContain(Digest digest, long size) {
    sweepIndexIfDue();
    Long known = index.get(digest);
    if (known != null && (size < 0 || known == size)) {
      return true;
    }
    return size < 0 ? contains(digest) : contains(digest, size);
  }

  /** How many times this store looked at a blob file to learn whether it is present; for tests. */
  long fileChecks() {
    return fileChecks.sum();
  }

  /**
   * A number that stays the same for as long as nothing leaves the presence index or changes size
   * in it (sweeping it if a sweep is due). A caller that read {@code n} here before it found blobs
   * {@link #knownToContain} may take them as still known without asking again while this still
   * reads {@code n}: what the index held then it still holds. For a null build's hits, whose blob
   * lookups were a tenth of its Java time, each a hash-map miss at 10,000 targets.
   */
  public long indexEpoch() {
    sweepIndexIfDue();
    return indexLosses.get();
  }

  private void sweepIndexIfDue() {
    long since = indexSince;
    if (System.nanoTime() - since > indexSweepNanos || index.size() > INDEX_MAX) {
      indexSince = System.nanoTime();
      index.clear();
      indexLosses.incrementAndGet(); // after the change, so no reader stamps a stale answer anew
    }
  }

  /** Records what a look at the blob's file found: its size, or (null) that it is absent. */
  private void learn(Digest digest, BasicFileAttributes attrs) {
    if (attrs == null) {
      forget(digest);
    } else {
      learn(digest, attrs.size());
    }
  }

  private void learn(Digest digest, long size) {
    Long was = index.put(digest, size);
    if (was != null && was != size) {
      indexLosses.incrementAndGet();
    }
  }

  private void forget(Digest digest) {
    index.remove(digest);
    indexLosses.incrementAndGet();
  }

  /** The blob's size, or empty if absent (junk in its place is moved aside). */
  public Optional<Long> sizeOf(Digest digest) {
    BasicFileAttributes attrs = blobAttributes(pathOf(digest));
    learn(digest, attrs);
    return attrs == null ? Optional.empty() : Optional.of(attrs.size());
  }

  /**
   * Why writes to the store fail now, e.g. {@code "cannot write to the blob store /w/.buildnet/cas:
   * the disk holding /w/.buildnet/cas is full: 4096 bytes free"}; empty while they succeed. Set by a
   * write that fails because the disk is full (ENOSPC, or EDQUOT for a quota), cleared by the next
   * one that succeeds (or by {@link #probeWrite}). Never blocks.
   */
  public Optional<String> writeFailure() {
    return Optional.ofNullable(writeFailure);
  }

  /**
   * Writes and deletes a small temp file to learn whether the store can be written again, updating
   * {@link #writeFailure}. Returns whether the write succeeded.
   */
  public boolean probeWrite() {
    try {
      Path tmp = newTempFile();
      try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
        ByteBuffer buf = ByteBuffer.allocate(4096);
        while (buf.hasRemaining()) {
          ch.write(buf);
        }
      } finally {
        Files.deleteIfExists(tmp);
      }
      wrote();
      return true;
    } catch (IOException e) {
      IOException failure = writeFailed(e);
      if (writeFailure == null) {
        writeFailure = "cannot write to the blob store " + root + ": " + failure.getMessage();
      }
      return false;
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
    try {
      if (present(target)) {
        touch(target);
        learn(digest, bytes.length);
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
      learn(digest, bytes.length);
    } catch (IOException e) {
      throw writeFailed(e);
    }
    wrote();
    return digest;
  }

  /** Streams {@code in} into the store (hashing as it copies) and returns the digest. */
  @Override
  public Digest put(InputStream in) throws IOException {
    Digest digest;
    long size = 0;
    try {
      Path tmp = newTempFile();
      try {
        Hasher hasher = hashes.newHasher();
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
          byte[] chunk = new byte[CHUNK];
          int n;
          while ((n = in.read(chunk)) != -1) {
            size += n;
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
      if (present(target)) {
        Files.deleteIfExists(tmp);
        touch(target);
      } else {
        publish(tmp, target);
      }
      learn(digest, size);
    } catch (IOException e) {
      throw writeFailed(e);
    }
    wrote();
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
    if (!present(blob)) {
      forget(digest); // gone behind our back, say: what the index said no longer holds
      return false;
    }
    long size = 0;
    Hasher hasher = hashes.newHasher();
    try (FileChannel src =
            FileChannel.open(blob, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS);
        FileChannel dst =
            FileChannel.open(
                destination,
                StandardOpenOption.WRITE,
                StandardOpenOption.CREATE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
      ByteBuffer buf = ByteBuffer.allocate(CHUNK);
      while (src.read(buf) != -1) {
        buf.flip();
        size += buf.remaining();
        hasher.update(buf.duplicate());
        while (buf.hasRemaining()) {
          dst.write(buf);
        }
        buf.clear();
      }
    } catch (NoSuchFileException e) {
      if (blob.toString().equals(e.getFile())) {
        forget(digest);
      }
      return false;
    } catch (IOException e) {
      if (DiskSpace.isFull(e)) {
        Path where = destination.toAbsolutePath().getParent();
        throw new IOException("cannot restore " + destination + ": " + DiskSpace.full(where), e);
      }
      throw e;
    }
    if (!hasher.digest().equals(digest)) {
      quarantine(blob, "its content does not match its digest");
      return false;
    }
    touch(blob);
    learn(digest, size);
    return true;
  }

  /** Reads a whole (small) blob, verified; empty if absent or corrupt (corrupt ones are deleted). */
  public Optional<byte[]> readVerified(Digest digest) throws IOException {
    Path blob = pathOf(digest);
    if (!present(blob)) {
      forget(digest);
      return Optional.empty();
    }
    byte[] bytes;
    try (InputStream in = Files.newInputStream(blob, LinkOption.NOFOLLOW_LINKS)) {
      bytes = in.readAllBytes();
    } catch (NoSuchFileException e) {
      forget(digest);
      return Optional.empty();
    }
    if (!hashes.hash(bytes).equals(digest)) {
      quarantine(blob, "its content does not match its digest");
      return Optional.empty();
    }
    touch(blob);
    learn(digest, bytes.length);
    return Optional.of(bytes);
  }

  /**
   * Streams {@code in} into the store, but publishes it only if it hashes to {@code expected}.
   *
   * @return true if stored now, false if the store already had it
   * @throws BlobException ({@code DIGEST_MISMATCH}) if the bytes hash to something else (nothing
   *     is stored)
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
    try {
      return new Upload(newTempFile());
    } catch (IOException e) {
      throw writeFailed(e);
    }
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
      try {
        while (buf.hasRemaining()) {
          channel.write(buf);
        }
      } catch (IOException e) {
        throw writeFailed(e);
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
     * @throws BlobException ({@code DIGEST_MISMATCH}) if the bytes hash to something else (nothing
   *     is stored)
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
          throw BlobException.digestMismatch(expected, actual, size);
        }
        Path target = pathOf(expected);
        if (present(target)) {
          touch(target);
          learn(expected, size);
          return false;
        }
        try {
          DiskBlobStore.this.publish(tmp, target);
        } catch (IOException e) {
          throw writeFailed(e);
        }
        learn(expected, size);
        wrote();
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
    if (!present(blob)) {
      forget(digest);
      return Optional.empty();
    }
    try {
      InputStream in = Files.newInputStream(blob, LinkOption.NOFOLLOW_LINKS);
      touch(blob);
      return Optional.of(in);
    } catch (NoSuchFileException e) {
      forget(digest);
      return Optional.empty();
    }
  }

  /**
   * Moves the blob aside (e.g. found corrupt while streaming it) to the quarantine; true if it was
   * there.
   */
  public boolean discard(Digest digest) throws IOException {
    Path blob = pathOf(digest);
    forget(digest);
    if (!Files.exists(blob, LinkOption.NOFOLLOW_LINKS)) {
      return false;
    }
    quarantine(blob, "a reader found it corrupt");
    return true;
  }

  /** Re-hashes the blob; moves it aside and returns false if it does not match its name. */
  public boolean verify(Digest digest) throws IOException {
    Path blob = pathOf(digest);
    if (!present(blob)) {
      forget(digest);
      return false;
    }
    Digest actual;
    try (InputStream in = Files.newInputStream(blob, LinkOption.NOFOLLOW_LINKS)) {
      Hasher hasher = hashes.newHasher();
      byte[] chunk = new byte[CHUNK];
      int n;
      while ((n = in.read(chunk)) != -1) {
        hasher.update(chunk, 0, n);
      }
      actual = hasher.digest();
    } catch (NoSuchFileException e) {
      return false;
    }
    if (!actual.equals(digest)) {
      quarantine(blob, "its content does not match its digest");
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
   * deleted. Stale temp files from crashed writers, and junk quarantined more than an hour ago, are
   * removed too.
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
      forget(e.digest());
      if (Files.deleteIfExists(pathOf(e.digest()))) {
        evicted.add(e.digest());
        total -= e.size();
      }
    }
    cleanTemp();
    cleanQuarantine();
    return evicted;
  }

  /** A stored blob, for eviction and statistics. */
  public record Entry(Digest digest, long size, FileTime lastUsed) {}

  /**
   * Every blob currently stored. The walk is also the presence index's sweep: the index becomes
   * what it found (a blob published meanwhile may drop out of it, which costs one look later).
   */
  public List<Entry> entries() throws IOException {
    Path dir = root.resolve(hashes.algorithm());
    List<Entry> out = new ArrayList<>();
    long sweepStart = System.nanoTime();
    if (!Files.isDirectory(dir)) {
      index.clear();
      indexLosses.incrementAndGet();
      indexSince = sweepStart;
      return out;
    }
    try (Stream<Path> files = Files.walk(dir, 2)) {
      for (Path p : (Iterable<Path>) files::iterator) {
        BasicFileAttributes attrs;
        try {
          attrs = Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
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
    Map<Digest, Long> found = new HashMap<>();
    for (Entry e : out) {
      found.put(e.digest(), e.size());
    }
    index.keySet().retainAll(found.keySet());
    index.putAll(found);
    indexLosses.incrementAndGet();
    indexSince = sweepStart;
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
    Path tmp = directory(root.resolve("tmp"));
    Path file = tmp.resolve(UUID.randomUUID() + ".part");
    Files.createFile(file);
    return file;
  }

  /**
   * Whether a blob file is at {@code blob}. Junk there (a directory, a symbolic link, a device) is
   * moved aside first, so that the blob counts as absent and can be stored again.
   */
  private boolean present(Path blob) {
    return blobAttributes(blob) != null;
  }

  /** {@link #present}, with the blob's attributes; null if absent. One {@code lstat}. */
  private BasicFileAttributes blobAttributes(Path blob) {
    fileChecks.increment();
    BasicFileAttributes attrs;
    try {
      attrs = Files.readAttributes(blob, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
    } catch (IOException e) {
      return null; // absent, or unreadable: either way not a blob to serve
    }
    if (attrs.isRegularFile()) {
      return attrs;
    }
    quarantine(blob, attrs.isDirectory() ? "it is a directory"
        : attrs.isSymbolicLink() ? "it is a symbolic link" : "it is not a regular file");
    return null;
  }

  /**
   * {@code dir}, created if absent, with any non-directory in its way (or in the way of its
   * ancestors inside the store) moved aside.
   */
  private Path directory(Path dir) throws IOException {
    if (Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
      return dir;
    }
    Path at = root;
    for (Path name : root.relativize(dir)) {
      at = at.resolve(name);
      if (Files.exists(at, LinkOption.NOFOLLOW_LINKS)
          && !Files.isDirectory(at, LinkOption.NOFOLLOW_LINKS)) {
        quarantine(at, "a directory of the store belongs there");
      }
    }
    Files.createDirectories(dir);
    return dir;
  }

  /**
   * Moves {@code junk} to {@code <root>/quarantine/<millis>-<name>-<random>} (the time lets
   * {@link #evictTo} delete it later), or deletes it if it cannot be moved. Logs one line. Never
   * throws: junk that can be neither moved nor deleted makes the next write there fail, and that
   * failure says why.
   */
  private void quarantine(Path junk, String why) {
    try {
      forget(Digest.of(hashes.algorithm(), junk.getFileName().toString()));
    } catch (IllegalArgumentException notABlobName) {
      // a directory of the store, say: never in the index
    }
    Path dir = root.resolve(QUARANTINE);
    Path aside = dir.resolve(clock.millis() + "-" + junk.getFileName() + "-"
        + UUID.randomUUID().toString().substring(0, 8));
    try {
      if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
        if (Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
          deleteTree(dir); // junk where the quarantine goes: nothing in it is worth keeping
        }
        Files.createDirectories(dir);
      }
      Files.move(junk, aside, StandardCopyOption.ATOMIC_MOVE);
      LOG.warn("blob store {}: moved {} aside to {}: {}", root, root.relativize(junk),
          root.relativize(aside), why);
    } catch (NoSuchFileException gone) {
      // Another thread moved or deleted it first; either way it is out of the way.
    } catch (IOException e) {
      try {
        deleteTree(junk);
        LOG.warn("blob store {}: deleted {}: {} (could not move it aside: {})", root,
            root.relativize(junk), why, e.getMessage());
      } catch (IOException again) {
        LOG.warn("blob store {}: cannot move {} aside ({}) nor delete it ({}): {}", root,
            root.relativize(junk), e.getMessage(), again.getMessage(), why);
      }
    }
  }

  /** Deletes {@code path} and, if it is a directory, everything in it; links are not followed. */
  private static void deleteTree(Path path) throws IOException {
    if (Files.isDirectory(path, LinkOption.NOFOLLOW_LINKS)) {
      try (Stream<Path> children = Files.list(path)) {
        for (Path child : (Iterable<Path>) children::iterator) {
          deleteTree(child);
        }
      } catch (NoSuchFileException gone) {
        return;
      }
    }
    Files.deleteIfExists(path);
  }

  /** Records a successful write: the disk takes writes again. */
  private void wrote() {
    if (writeFailure != null) {
      writeFailure = null;
    }
  }

  /**
   * The exception to throw for a failed write: for a full disk one that says so (which directory,
   * how many bytes free), recorded for {@link #writeFailure}; any other {@code e} unchanged.
   */
  private IOException writeFailed(IOException e) {
    if (!DiskSpace.isFull(e)) {
      return e;
    }
    String why = DiskSpace.full(root);
    writeFailure = "cannot write to the blob store " + root + ": " + why;
    return new IOException("cannot store a blob in " + root + ": " + why, e);
  }

  private void publish(Path tmp, Path target) throws IOException {
    directory(target.getParent());
    present(target); // moves junk in the way aside; a blob there is replaced by the same bytes
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
    if (!Files.isDirectory(tmp, LinkOption.NOFOLLOW_LINKS)) {
      return;
    }
    long cutoff = clock.millis() - STALE_MILLIS;
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

  /** Deletes what was quarantined more than an hour ago (the time leads each name). */
  private void cleanQuarantine() throws IOException {
    Path dir = root.resolve(QUARANTINE);
    if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
      return;
    }
    long cutoff = clock.millis() - STALE_MILLIS;
    try (Stream<Path> entries = Files.list(dir)) {
      for (Path p : (Iterable<Path>) entries::iterator) {
        String name = p.getFileName().toString();
        int dash = name.indexOf('-');
        long at;
        try {
          at = Long.parseLong(dash < 0 ? name : name.substring(0, dash));
        } catch (NumberFormatException e) {
          at = Long.MIN_VALUE; // not named by us: nothing to keep it for
        }
        if (at < cutoff) {
          deleteTree(p);
        }
      }
    }
  }
}
