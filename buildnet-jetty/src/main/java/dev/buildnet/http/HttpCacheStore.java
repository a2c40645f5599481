package dev.buildnet.http;

import dev.buildnet.api.hash.Digest;
import dev.buildnet.api.hash.HashProvider;
import dev.buildnet.internal.cache.DiskBlobStore;
import dev.buildnet.api.blob.BlobException;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The store behind the Gradle and Bazel cache endpoints: a SHA-256 {@link DiskBlobStore} (Bazel's CAS
 * is keyed by SHA-256, BuildNet's own store by xxh64) plus small files mapping opaque keys (Gradle
 * keys, Bazel action-cache hashes) to blob digests and the content type they were stored with.
 *
 * <p>Thread-safe: blobs and key files are published by atomic rename, so a reader sees a whole
 * value or none; the last writer of a key wins. Every read is verified against the blob's SHA-256
 * before a byte is sent: a blob that fails is deleted and answered as a miss. (A packed entry read
 * before is compared with the bytes that passed then, which {@link PackMemo} keeps, instead of
 * being hashed again: the disk is read either way.)
 *
 * <p>Entries up to {@link #packedMax} bytes (64 KiB by default) are not files of their own: they
 * are records appended to a {@link PackStore} (one {@code pwrite}, no file created), which holds
 * the key, the content type and the bytes together. A lookup tries the pack first, then the files
 * (bigger entries, and stores written before the pack existed); a big value stored under a key
 * drops the key's packed value (a tombstone), so the newest value wins across both.
 *
 * <p>Durability: nothing is fsynced. An acknowledged PUT survives the server process dying (the
 * bytes are in the kernel's page cache, under their final name or in a record whose write
 * returned); after a power failure or kernel crash it may be lost or torn, and a torn blob fails
 * verification (a torn packed record its CRC-32C at the next start) and becomes a miss, never
 * wrong bytes. Every method blocks on file I/O, except {@link #getPackedNow}.
 */
final class HttpCacheStore implements Closeable {
  private static final Logger log = LoggerFactory.getLogger(HttpCacheStore.class);

  /** Bodies up to this size are held in memory until they end; bigger ones go to a temp file. */
  static final int IN_MEMORY_PUT = 64 * 1024;
  /** Blobs up to this size are read, verified and sent from one array; bigger ones are streamed. */
  static final int IN_MEMORY_GET = 256 * 1024;

  /**
   * A verified entry: its bytes (small) or a stream over the blob already verified (large), and
   * the content type it was stored with, if known.
   */
  record Entry(byte[] bytes, InputStream stream, long size, String type) {}

  private final DiskBlobStore blobs;
  /** Small entries; see the class comment. */
  private final PackStore pack;
  private final int packedMax;
  /** Where {@link #blobs} keeps SHA-256 blobs: {@code <this>/<2 hex>/<64 hex>}. */
  private final Path blobRoot;
  private final Clock clock;
  private final boolean systemClock;
  private final Path keys;
  private final long maxEntryBytes;
  private final long maxTotalBytes;
  /** Namespaces whose key directory exists, so a PUT does not ask the file system again. */
  private final java.util.Set<String> keyDirs = ConcurrentHashMap.newKeySet();
  /** Blob directories ({@code 00}..{@code ff}) known to exist. */
  private final java.util.Set<String> blobDirs = ConcurrentHashMap.newKeySet();
  /**
   * What key files say, so a hit does not read its key file: filled by reads and writes, and
   * emptied when it grows past {@link #KEY_INDEX_MAX} entries. Only this store writes key files,
   * so it never disagrees with them.
   */
  private final ConcurrentHashMap<String, KeyValue> keyIndex = new ConcurrentHashMap<>();
  private static final int KEY_INDEX_MAX = 200_000;

  private record KeyValue(Digest digest, String type) {}
  /** Bytes stored, approximately: counted up on each put, re-read from disk by each eviction. */
  private final AtomicLong storedBytes = new AtomicLong();
  private final AtomicBoolean evicting = new AtomicBoolean();
  final AtomicLong hits = new AtomicLong();
  final AtomicLong misses = new AtomicLong();
  final AtomicLong puts = new AtomicLong();
  final AtomicLong bytesIn = new AtomicLong();
  final AtomicLong bytesOut = new AtomicLong();
  final AtomicLong rejected = new AtomicLong();
  /** Hits answered on the thread that parsed the request (no pool hand-off), for tests. */
  final java.util.concurrent.atomic.LongAdder answeredNow = new java.util.concurrent.atomic.LongAdder();

  HttpCacheStore(Path dir, long maxEntryBytes, long maxTotalBytes, Clock clock) {
    this(dir, maxEntryBytes, maxTotalBytes, clock, IN_MEMORY_PUT);
  }

  /**
   * @param packedMax entries up to this size go to the pack; 0 stores every entry as files (for
   *     tests of the file format)
   */
  HttpCacheStore(Path dir, long maxEntryBytes, long maxTotalBytes, Clock clock, int packedMax) {
    this.blobs = new DiskBlobStore(dir.resolve("cas"), HashProvider.sha256(), clock);
    this.blobRoot = blobs.root().resolve("sha256");
    this.clock = clock;
    this.systemClock = clock.getClass() == Clock.systemUTC().getClass();
    this.keys = dir.resolve("keys");
    this.maxEntryBytes = maxEntryBytes;
    this.maxTotalBytes = maxTotalBytes;
    try {
      Files.createDirectories(dir.resolve("cas"));
      Files.createDirectories(keys);
      removeStaleTempFiles();
      this.packedMax = Math.min(packedMax, IN_MEMORY_PUT);
      // Segments small enough that evicting one frees a small share of the cap, but not so small
      // that a busy store creates files at a high rate.
      long segmentMax = Math.max(4096, Math.min(64L << 20, maxTotalBytes / 16));
      this.pack = new PackStore(dir.resolve("pack"), IN_MEMORY_PUT, segmentMax, clock,
          new PackMemo(PackMemo.defaultBound()));
      storedBytes.set(blobs.totalBytes() + pack.bytes());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create the HTTP cache in " + dir, e);
    }
  }

  long maxEntryBytes() {
    return maxEntryBytes;
  }

  static Digest sha256(String hex) {
    return Digest.of("sha256", hex);
  }

  // ---- reads -------------------------------------------------------------------------------------

  /** The blob with this SHA-256, verified, if present and intact. */
  Optional<Entry> getBlob(Digest digest) throws IOException {
    Optional<Entry> e = readPacked(CAS, digest.hex());
    if (e == null) {
      e = read(digest, null);
    }
    count(e.isPresent());
    return e;
  }

  /** Whether the packed entry's verified bytes are held in memory now, for tests. */
  boolean keptInMemory(String namespace, String key) {
    PackStore.Loc loc = pack.find(namespace, key);
    return loc != null && pack.kept(loc) != null;
  }

  /** The blob's size, unverified (for HEAD: the GET that follows verifies). */
  Optional<Long> sizeOfBlob(Digest digest) {
    PackStore.Loc loc = pack.find(CAS, digest.hex());
    Optional<Long> size = loc != null ? Optional.of((long) loc.size()) : blobs.sizeOf(digest);
    count(size.isPresent());
    return size;
  }

  /** The pack's namespace for CAS blobs (keyed by their hex SHA-256). */
  private static final String CAS = "cas";

  /**
   * The packed entry, read and verified now, on the calling thread (one positional read of at
   * most 64 KiB, normally from the page cache), or null when this cannot answer: no packed entry
   * (a miss, or one in the files), or it failed verification or could not be read. The caller
   * then takes the blocking path ({@link #get}, {@link #getBlob}), which looks again and drops a
   * damaged entry. Counts a hit only.
   */
  Entry getPackedNow(String namespace, String key) {
    PackStore.Loc loc = pack.find(namespace, key);
    if (loc == null) {
      return null;
    }
    try {
      byte[] bytes = pack.read(loc, HttpCacheStore::newSha256);
      if (bytes == null) {
        return null;
      }
      hits.incrementAndGet();
      return new Entry(bytes, null, bytes.length, loc.type());
    } catch (IOException e) {
      return null;
    }
  }

  /**
   * The packed entry, verified; empty if it was packed but damaged (dropped now); null if the
   * pack has no such entry.
   */
  private Optional<Entry> readPacked(String namespace, String key) throws IOException {
    for (int attempt = 0; attempt < 3; attempt++) {
      PackStore.Loc loc = pack.find(namespace, key);
      if (loc == null) {
        return null;
      }
      byte[] bytes;
      try {
        bytes = pack.read(loc, HttpCacheStore::newSha256);
      } catch (IOException e) {
        if (!loc.sameAs(pack.find(namespace, key))) {
          continue; // its segment was compacted or evicted meanwhile: look again
        }
        throw e;
      }
      if (bytes == null) {
        stored(pack.drop(namespace, key, loc));
        log.warn("HTTP cache: packed entry {}/{} failed verification; removed, answered as a miss",
            namespace, key);
        return Optional.empty();
      }
      return Optional.of(new Entry(bytes, null, bytes.length, loc.type()));
    }
    return null;
  }

  /** The value stored under {@code key} in {@code namespace}, verified, if any. */
  Optional<Entry> get(String namespace, String key) throws IOException {
    Optional<Entry> packed = readPacked(namespace, key);
    if (packed != null) {
      count(packed.isPresent());
      return packed;
    }
    Optional<Entry> found = Optional.empty();
    String indexKey = namespace + '/' + key;
    try {
      KeyValue v = keyIndex.get(indexKey);
      if (v == null) {
        String text;
        try {
          text = Files.readString(keyFile(namespace, key), StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
          // Written before keys were spread over subdirectories.
          text = Files.readString(keys.resolve(namespace).resolve(key), StandardCharsets.UTF_8);
        }
        int nl = text.indexOf('\n');
        Digest d = Digest.parse(nl < 0 ? text.strip() : text.substring(0, nl));
        String type = nl < 0 ? "" : text.substring(nl + 1).strip();
        v = new KeyValue(d, type.isEmpty() ? null : type);
        index(indexKey, v);
      }
      found = read(v.digest(), v.type());
    } catch (NoSuchFileException e) {
      // a miss
    } catch (IllegalArgumentException e) {
      log.warn("HTTP cache: key file {}/{} is damaged ({}); answering a miss", namespace, key,
          e.getMessage());
    }
    count(found.isPresent());
    return found;
  }

  private void index(String indexKey, KeyValue v) {
    if (keyIndex.size() >= KEY_INDEX_MAX) {
      keyIndex.clear(); // crude, but a miss in the index only costs reading the key file
    }
    keyIndex.put(indexKey, v);
  }

  /**
   * {@code keys/<namespace>/<2 hex>/<key>}: spread over 256 directories, because creating and
   * renaming files in one directory serializes on that directory's lock.
   */
  private Path keyFile(String namespace, String key) {
    int h = key.hashCode();
    h ^= h >>> 16;
    return keys.resolve(namespace).resolve(HEX[(h >>> 4) & 0xf] + HEX[h & 0xf]).resolve(key);
  }

  private static final String[] HEX = "0123456789abcdef".split("");

  private Path blobPath(Digest d) {
    String hex = d.hex();
    return blobRoot.resolve(hex.substring(0, 2)).resolve(hex);
  }

  private Optional<Entry> read(Digest d, String type) throws IOException {
    Path file = blobPath(d);
    byte[] bytes;
    long size;
    java.nio.file.attribute.BasicFileAttributes attrs;
    try {
      attrs = Files.readAttributes(file, java.nio.file.attribute.BasicFileAttributes.class);
    } catch (NoSuchFileException e) {
      return Optional.empty();
    }
    try (java.nio.channels.SeekableByteChannel ch = Files.newByteChannel(file)) {
      size = attrs.size(); // blobs are never rewritten in place, only replaced by rename
      if (size <= IN_MEMORY_GET) {
        ByteBuffer buf = ByteBuffer.allocate((int) size);
        while (buf.hasRemaining() && ch.read(buf) >= 0) {
          // fill
        }
        bytes = buf.array();
      } else {
        bytes = null;
      }
    } catch (NoSuchFileException e) {
      return Optional.empty();
    }
    if (bytes != null) {
      if (!Digest.of("sha256", newSha256().digest(bytes)).equals(d)) {
        Files.deleteIfExists(file);
        corrupt(d);
        return Optional.empty();
      }
      touchIfStale(file, attrs);
      return Optional.of(new Entry(bytes, null, size, type));
    }
    if (!blobs.verify(d)) {
      corrupt(d);
      return Optional.empty();
    }
    // Verified in a first pass, then streamed: blobs are immutable once published, so the second
    // pass reads the same bytes unless the disk fails in between.
    return blobs.openUnverified(d).map(in -> new Entry(null, in, size, type));
  }

  /**
   * Touches a blob read now unless it was written or touched within the last minute: LRU order
   * to the minute is plenty for eviction, and a hot blob is not rewritten on every read.
   */
  private void touchIfStale(Path file, java.nio.file.attribute.BasicFileAttributes attrs) {
    if (attrs.lastModifiedTime().toMillis() < clock.millis() - 60_000) {
      touch(file);
    }
  }

  /** Sets the LRU time that eviction sorts by; advisory, so a failure is ignored. */
  private void touch(Path file) {
    try {
      Files.setLastModifiedTime(file, java.nio.file.attribute.FileTime.from(clock.instant()));
    } catch (IOException e) {
      // merely evicted earlier
    }
  }

  private static void corrupt(Digest d) {
    // Damaged on disk (a bad sector, a torn write before a power loss, a hand edit); verify()
    // or read() has deleted it.
    log.warn("HTTP cache: blob {} failed verification; removed, answered as a miss", d);
  }

  // ---- writes ------------------------------------------------------------------------------------

  /** Starts receiving a body; close it (idempotent) once stored or abandoned. */
  Incoming incoming() {
    return new Incoming();
  }

  /**
   * Stores the body if it hashes to {@code expected}.
   *
   * @throws BlobException ({@code DIGEST_MISMATCH}) if it does not (nothing is stored)
   */
  void putBlob(Digest expected, Incoming body) throws IOException {
    Digest actual = body.digest();
    if (!actual.equals(expected)) {
      throw BlobException.digestMismatch(expected, actual, body.size());
    }
    if (packs(body)) {
      PackStore.Loc had = pack.find(CAS, actual.hex());
      if (had == null) {
        stored(pack.put(CAS, actual.hex(), body.memory, (int) body.size, actual.bytes(), null),
            body.deferMaintenance);
      }
      // else: the same bytes are there already (a damaged copy is caught and dropped by reads)
    } else {
      store(body);
    }
    puts.incrementAndGet();
  }

  private boolean packs(Incoming body) {
    return body.upload == null && body.size <= packedMax && packedMax > 0;
  }

  /** The largest entry packed (0: none). */
  int packedMax() {
    return packedMax;
  }

  /** Stores the body as the value of {@code key} in {@code namespace}, with its content type. */
  void put(String namespace, String key, Incoming body, String type) throws IOException {
    if (packs(body)) {
      Digest d = body.digest();
      stored(pack.put(namespace, key, body.memory, (int) body.size, d.bytes(), type),
          body.deferMaintenance);
      puts.incrementAndGet();
      return;
    }
    Digest d = store(body);
    Path file = keyFile(namespace, key);
    Path dir = file.getParent();
    String dirKey = namespace + '/' + dir.getFileName();
    if (!keyDirs.contains(dirKey)) {
      Files.createDirectories(dir);
      keyDirs.add(dirKey);
    }
    String text = type == null ? d + "\n" : d + "\n" + type + "\n";
    Path tmp = dir.resolve(tempName());
    try {
      try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW,
          StandardOpenOption.WRITE)) {
        ByteBuffer b = ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8));
        while (b.hasRemaining()) {
          ch.write(b);
        }
      }
      try {
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      } catch (AtomicMoveNotSupportedException e) {
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
      }
    } catch (IOException | RuntimeException e) {
      Files.deleteIfExists(tmp);
      throw e;
    }
    index(namespace + '/' + key, new KeyValue(d, type));
    // The key's value is now in the files: a packed one, older, must not shadow it.
    stored(pack.supersede(namespace, key));
    puts.incrementAndGet();
  }

  /** Publishes the body's blob (a no-op but for its LRU time if present) and returns its digest. */
  private Digest store(Incoming body) throws IOException {
    Digest d = body.digest();
    Path target = blobPath(d);
    boolean isNew = !Files.exists(target);
    if (!isNew) {
      touch(target);
    } else if (body.upload == null) {
      writeSmall(target, body.memory, (int) body.size);
    } else {
      body.upload.publish(d);
    }
    if (isNew) {
      stored(body.size);
    }
    return d;
  }

  /**
   * Publishes a small blob as {@link DiskBlobStore} would, but through a temp file in the blob's own
   * directory: a rename within one directory, and no directory shared by every upload, so that
   * concurrent uploads do not queue on one directory's lock (the store's own temp directory) or on
   * the file system's lock for renames across directories.
   */
  private void writeSmall(Path target, byte[] bytes, int length) throws IOException {
    Path dir = target.getParent();
    String name = dir.getFileName().toString();
    if (!blobDirs.contains(name)) {
      Files.createDirectories(dir);
      blobDirs.add(name);
    }
    Path tmp = dir.resolve(tempName());
    try {
      try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW,
          StandardOpenOption.WRITE)) {
        ByteBuffer b = ByteBuffer.wrap(bytes, 0, length);
        while (b.hasRemaining()) {
          ch.write(b);
        }
      }
      if (!systemClock) {
        touch(tmp); // a new file's time is already the system clock's now
      }
      Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException | RuntimeException e) {
      Files.deleteIfExists(tmp);
      throw e;
    }
  }

  /** A temp file name no digest or key can have (keys do not start with '.'). */
  private static String tempName() {
    return ".put-" + Long.toHexString(java.util.concurrent.ThreadLocalRandom.current().nextLong())
        + ".part";
  }

  /** Temp files of uploads a crash interrupted; at start, before any upload runs. */
  private void removeStaleTempFiles() throws IOException {
    for (Path dir : List.of(blobRoot, keys)) {
      if (!Files.isDirectory(dir)) {
        continue;
      }
      try (java.util.stream.Stream<Path> all = Files.walk(dir, 3)) {
        for (Path p : (Iterable<Path>) all::iterator) {
          String n = p.getFileName().toString();
          if (n.startsWith(".put-") && Files.isRegularFile(p)) {
            Files.deleteIfExists(p);
          }
        }
      }
    }
  }

  /**
   * Counts new bytes and, past the cap, evicts the least recently used down to 90% of it (on the
   * putting thread, one eviction at a time); after the pack started a segment, compacts the
   * sealed segments that are less than half live. Keys whose blob was evicted become misses.
   */
  private void stored(long bytes) throws IOException {
    stored(bytes, false);
  }

  /** With {@code defer}, only counts: the caller runs {@link #maintain} where it may block. */
  private void stored(long bytes, boolean defer) throws IOException {
    storedBytes.addAndGet(bytes);
    if (!defer) {
      maintain();
    }
  }

  /** Whether a {@link #maintain} would evict or compact now. */
  boolean maintenanceDue() {
    return storedBytes.get() > maxTotalBytes || pack.rolls != rollsSeen;
  }

  /** Evicts past the cap and compacts sparse segments, if due (one caller at a time). */
  void maintain() throws IOException {
    boolean over = storedBytes.get() > maxTotalBytes;
    boolean rolled = pack.rolls != rollsSeen;
    if ((!over && !rolled) || !evicting.compareAndSet(false, true)) {
      return;
    }
    try {
      if (rolled) {
        rollsSeen = pack.rolls;
        for (PackStore.Segment s : pack.sparse()) {
          long[] r = pack.removeSegment(s, -1, newSha256());
          storedBytes.addAndGet(r[1] - r[0]);
        }
      }
      if (storedBytes.get() > maxTotalBytes) {
        evict(maxTotalBytes - maxTotalBytes / 10);
      }
    } finally {
      evicting.set(false);
    }
  }

  private volatile long rollsSeen;

  /**
   * Evicts down to {@code target} bytes, least recently used first, over the blob files (by
   * their LRU time) and the pack's segments (by their last write) together. A segment goes whole,
   * but its entries read after the newest thing evicted are carried forward into the log's end,
   * so a hot small entry survives like a hot blob file.
   */
  private void evict(long target) throws IOException {
    List<DiskBlobStore.Entry> files = blobs.entries();
    List<PackStore.Segment> segs = pack.segments();
    record Item(long time, long size, DiskBlobStore.Entry file, PackStore.Segment seg) {}
    List<Item> items = new java.util.ArrayList<>();
    long fileBytes = 0;
    for (DiskBlobStore.Entry e : files) {
      items.add(new Item(e.lastUsed().toMillis(), e.size(), e, null));
      fileBytes += e.size();
    }
    for (PackStore.Segment s : segs) {
      items.add(new Item(s.lastWrite, s.size, null, s));
    }
    items.sort(java.util.Comparator.comparingLong(Item::time)); // stable: segments in log order
    long total = fileBytes + pack.bytes();
    long fileTarget = fileBytes;
    long cutoff = Long.MIN_VALUE;
    List<PackStore.Segment> segsOut = new java.util.ArrayList<>();
    for (Item i : items) {
      if (total <= target) {
        break;
      }
      total -= i.size();
      cutoff = i.time();
      if (i.file() != null) {
        fileTarget -= i.size();
      } else {
        segsOut.add(i.seg());
      }
    }
    if (fileTarget < fileBytes) {
      blobs.evictTo(files, fileTarget);
    }
    for (PackStore.Segment s : segsOut) {
      pack.removeSegment(s, cutoff, newSha256());
    }
    storedBytes.set(blobs.totalBytes() + pack.bytes());
  }

  /** Entry count and bytes (the blob files' and the pack's); walks the files. */
  long[] entriesAndBytes() throws IOException {
    var all = blobs.entries();
    return new long[] {all.size() + pack.count(),
        all.stream().mapToLong(DiskBlobStore.Entry::size).sum() + pack.bytes()};
  }

  @Override
  public void close() throws IOException {
    pack.close();
  }

  private void count(boolean hit) {
    (hit ? hits : misses).incrementAndGet();
  }

  /**
   * A body being received: hashed as it arrives, held in memory up to {@link #IN_MEMORY_PUT}
   * bytes (a slow upload costs what it has sent so far, not a file), then spilled to a temp file
   * in the store. One request, one thread at a time.
   */
  private static final byte[] NO_BYTES = new byte[0];

  final class Incoming implements Closeable {
    private final MessageDigest sha = newSha256();
    private byte[] memory = NO_BYTES;
    private long size;
    private DiskBlobStore.Upload upload;
    private Digest digest;
    /** Set by a caller on a thread that must not block: storing it then only counts the bytes. */
    boolean deferMaintenance;

    void write(ByteBuffer bytes) throws IOException {
      int n = bytes.remaining();
      bytesIn.addAndGet(n);
      if (upload == null && size + n <= IN_MEMORY_PUT) {
        if (memory.length < size + n) {
          memory = Arrays.copyOf(memory, (int) Math.min(IN_MEMORY_PUT,
              Math.max(size + n, Math.max(1024, memory.length * 2L))));
        }
        bytes.get(memory, (int) size, n);
        // Hashed from the array: Jetty's buffers are direct, and a digest fed a direct buffer
        // copies it through a temporary array of its own, allocated per digest (per request).
        sha.update(memory, (int) size, n);
      } else {
        sha.update(bytes.duplicate());
        if (upload == null) {
          upload = blobs.openUpload();
          upload.write(memory, 0, (int) size);
          memory = null;
        }
        if (bytes.hasArray()) {
          upload.write(bytes.array(), bytes.arrayOffset() + bytes.position(), n);
        } else {
          byte[] copy = new byte[n];
          bytes.get(copy);
          upload.write(copy, 0, n);
        }
      }
      size += n;
    }

    long size() {
      return size;
    }

    Digest digest() {
      if (digest == null) {
        digest = Digest.of("sha256", sha.digest());
      }
      return digest;
    }

    @Override
    public void close() throws IOException {
      memory = null;
      if (upload != null) {
        upload.close();
      }
    }
  }

  /**
   * Cloned for each body and each read: {@code MessageDigest.getInstance} looks the algorithm up
   * among the security providers every time, a cost paid per request otherwise.
   */
  private static final MessageDigest SHA256 = sha256Prototype();

  private static MessageDigest sha256Prototype() {
    try {
      MessageDigest md = MessageDigest.getInstance("SHA-256");
      md.clone(); // fails here, once, if this provider's digests cannot be cloned
      return md;
    } catch (NoSuchAlgorithmException | CloneNotSupportedException e) {
      throw new IllegalStateException("SHA-256 is missing or not cloneable in this JVM", e);
    }
  }

  /** A fresh SHA-256 digest, cloned from one prototype (also used by {@link Auth}). */
  static MessageDigest newSha256() {
    try {
      return (MessageDigest) SHA256.clone();
    } catch (CloneNotSupportedException e) {
      throw new IllegalStateException("checked when the prototype was made", e);
    }
  }
}
