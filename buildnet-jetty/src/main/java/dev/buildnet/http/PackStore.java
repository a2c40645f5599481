package dev.buildnet.http;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.zip.CRC32C;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Small cache entries (up to {@link #maxEntry} bytes) packed into append-only segment files, so
 * that a PUT costs one {@code pwrite} instead of creating, writing and renaming two files (a blob
 * and its key file): file creation was most of the server's kernel time on small PUTs.
 *
 * <p><b>Format.</b> {@code <dir>/<16 hex digits>.seg}, numbered in the order they were started.
 * A segment is a sequence of records, each {@code magic, kind, lengths, kill location, SHA-256 of
 * the data, namespace, key, content type, data, CRC-32C of everything before it}. Kind 1 is an
 * entry ({@code namespace/key} now holds {@code data}); kind 2 a tombstone (the entry at the kill
 * location, a segment number and offset, is gone: it was damaged, or a larger value replaced it in
 * the file store). The log order (segment, then offset) is the order of effect, and the index
 * ({@code namespace/key} to the record's location, a {@link PackIndex} off the heap) is only ever
 * changed under the append lock in that same order, so replaying the log at start rebuilds exactly
 * the index the process had.
 *
 * <p><b>Crash safety.</b> A record is written with one positional write and indexed after the
 * write returned, so a reader never sees part of one. At start every segment is read through and
 * every record checked against its CRC-32C: the first record that fails (a tail torn by a power
 * loss or kernel crash, or a damaged sector) is dropped, never indexed; the scan goes on past it
 * when its header is plausible, and otherwise ends the segment, which is truncated there (a torn
 * tail: zeros or a record cut short). Reads check the record's namespace and key against the lookup and its data against its SHA-256
 * as well, so a byte flipped on disk after the start is caught by the read: the caller then
 * {@link #drop}s the entry (a tombstone) and answers a miss.
 *
 * <p><b>Space.</b> Segments roll at {@link #segmentMax} bytes. Overwritten and dropped entries are
 * dead bytes; a sealed segment less than half live is compacted (its live records copied to the
 * end of the log, then the file deleted). Eviction removes whole segments, oldest first, copying
 * forward the entries read since the cut-off (see {@link #removeSegment}), and tombstones while an
 * older segment remains (so a removed tombstone cannot bring back what it killed).
 *
 * <p>Thread-safe: appends, compaction and eviction take one lock; reads take none (positional
 * reads of published, immutable records). A read racing with the removal of its segment fails
 * with an {@link IOException} (a closed channel), and the caller looks the key up again.
 */
final class PackStore implements Closeable {
  private static final Logger log = LoggerFactory.getLogger(PackStore.class);
  private static final int MAGIC = 0x424E5031; // "BNP1"
  static final byte ENTRY = 1;
  static final byte TOMBSTONE = 2;
  /** magic 4, kind 1, nsLen 1, keyLen 2, typeLen 2, dataLen 4, killSeg 8, killOff 8, sha256 32. */
  static final int HEADER = 62;
  private static final int TRAILER = 4;
  private static final int MAX_NS = 32;
  private static final int MAX_KEY = 1024;
  private static final int MAX_TYPE = 255;

  /** One segment file. {@code size} and {@code live} change only under the append lock. */
  static final class Segment {
    final long id;
    final Path path;
    final FileChannel ch;
    volatile long size;
    /** Bytes of records the index points to. */
    volatile long live;
    /** When a record was last appended (ms), for eviction's age order. */
    volatile long lastWrite;

    Segment(long id, Path path, FileChannel ch, long lastWrite) {
      this.id = id;
      this.path = path;
      this.ch = ch;
      this.lastWrite = lastWrite;
    }
  }

  /**
   * Where a live entry was when it was looked up: a value copied out of the {@link PackIndex}
   * for one caller (two lookups of one record are {@link #sameAs}, not the same object).
   */
  static final class Loc {
    final Segment seg;
    final long off;
    final int len;
    final int dataOff;
    final int dataLen;
    /** When the entry was last read (ms; 0: not since start), as of the lookup. */
    final long lastRead;
    final String namespace;
    final String key;
    final PackIndex.Hash hash;
    /** The content type, known once {@link #read} read the record. */
    String type;

    Loc(Segment seg, long off, int len, int dataLen, long lastRead, String namespace,
        String key, PackIndex.Hash hash) {
      this.seg = seg;
      this.off = off;
      this.len = len;
      this.dataOff = len - TRAILER - dataLen;
      this.dataLen = dataLen;
      this.lastRead = lastRead;
      this.namespace = namespace;
      this.key = key;
      this.hash = hash;
    }

    /** Whether {@code other} is the same record (null: no). */
    boolean sameAs(Loc other) {
      return other != null && other.seg == seg && other.off == off;
    }

    /** The memo's name for this record: records never move, and a location is never reused. */
    long where() {
      return (seg.id << 32) | off;
    }

    int size() {
      return dataLen;
    }

    String type() {
      return type;
    }
  }

  private final Path dir;
  final int maxEntry;
  final long segmentMax;
  private final Clock clock;
  private final PackIndex index = new PackIndex();
  /** The segments by id, for the index's entries (which name a segment by its id). */
  private final ConcurrentHashMap<Long, Segment> byId = new ConcurrentHashMap<>();
  private final PackMemo memo;
  /** Every segment, oldest first; the last is the one appended to (if {@link #active} is set). */
  private final CopyOnWriteArrayList<Segment> segments = new CopyOnWriteArrayList<>();
  private final Object lock = new Object();
  private Segment active;
  private long nextId;
  private boolean closed;
  /** Records the last {@link #scan} skipped for a CRC mismatch (start and removal only). */
  private int skipped;
  /** Segments started, so that the caller can look for sparse ones after each roll. */
  volatile long rolls;

  /** @param memo keeps verified data between reads (see {@link #read}) */
  PackStore(Path dir, int maxEntry, long segmentMax, Clock clock, PackMemo memo) throws IOException {
    this.dir = dir;
    this.memo = memo;
    this.maxEntry = maxEntry;
    if (segmentMax > Integer.MAX_VALUE) {
      throw new IllegalArgumentException("segments are at most 2 GiB: " + segmentMax);
    }
    this.segmentMax = segmentMax;
    this.clock = clock;
    Files.createDirectories(dir);
    List<Path> files = new ArrayList<>();
    try (var s = Files.list(dir)) {
      s.filter(p -> p.getFileName().toString().matches("[0-9a-f]{16}\\.seg")).forEach(files::add);
    }
    files.sort(null);
    for (Path p : files) {
      long id = Long.parseUnsignedLong(p.getFileName().toString().substring(0, 16), 16);
      FileChannel ch = FileChannel.open(p, StandardOpenOption.READ, StandardOpenOption.WRITE);
      Segment seg = new Segment(id, p, ch, Files.getLastModifiedTime(p).toMillis());
      segments.add(seg);
      byId.put(id, seg);
      replay(seg);
      nextId = id + 1;
    }
  }

  // ---- reads -------------------------------------------------------------------------------------

  /** The live entry {@code namespace/key}, located (not read), or null. */
  Loc find(String namespace, String key) {
    PackIndex.Hash h = index.hash(namespace, key);
    PackIndex.Entry e = index.get(h);
    if (e == null) {
      return null;
    }
    Segment seg = byId.get((long) e.seg());
    return seg == null ? null
        : new Loc(seg, e.off(), e.len(), e.dataLen(), e.lastRead(), namespace, key, h);
  }

  /**
   * The entry's data if it matches its SHA-256, else null (the caller {@link #drop}s it). One
   * positional read of the whole record, whose namespace and key must be the ones looked up (the
   * index keeps no key) and whose header gives the content type ({@link Loc#type}) and the
   * SHA-256 the data must match. Throws if the read fails, e.g. because the segment was just
   * removed.
   *
   * <p>Data verified by an earlier read and still kept by the {@link PackMemo} is compared with the
   * kept bytes instead of hashed (any difference is damage since then, and null); the kept array
   * is returned, which must not be written. Otherwise the data is hashed with a fresh digest
   * from {@code sha256} and, if it matches, kept.
   */
  byte[] read(Loc loc, java.util.function.Supplier<MessageDigest> sha256) throws IOException {
    ByteBuffer rec = scratch(loc.len);
    if (!readFully(loc.seg.ch, rec, loc.off)) {
      return null; // truncated under us: damaged
    }
    rec.flip();
    String type = checkHeader(rec, loc);
    if (type == BAD) {
      return null;
    }
    byte[] kept = memo.get(loc);
    byte[] out;
    if (kept != null) {
      rec.limit(loc.dataOff + loc.dataLen).position(loc.dataOff);
      if (rec.mismatch(ByteBuffer.wrap(kept)) >= 0) {
        memo.forget(loc);
        return null;
      }
      out = kept;
    } else {
      out = new byte[loc.dataLen];
      rec.get(loc.dataOff, out);
      byte[] sha = new byte[32];
      rec.get(30, sha);
      if (!MessageDigest.isEqual(sha256.get().digest(out), sha)) {
        return null;
      }
      memo.keep(loc, out);
    }
    loc.type = type;
    index.touch(loc.hash, (int) loc.seg.id, (int) loc.off, clock.millis());
    return out;
  }

  /** What {@link #checkHeader} answers for a record that is not the one looked up. */
  private static final String BAD = new String("bad");

  /**
   * The record's content type (null: none) if its header is an entry's for {@code loc}'s
   * namespace and key with {@code loc}'s lengths, else {@link #BAD}.
   */
  private static String checkHeader(ByteBuffer rec, Loc loc) {
    byte[] ns = loc.namespace.getBytes(StandardCharsets.UTF_8);
    byte[] key = loc.key.getBytes(StandardCharsets.UTF_8);
    int nsLen = rec.get(5) & 0xff;
    int keyLen = rec.getShort(6) & 0xffff;
    int typeLen = rec.getShort(8) & 0xffff;
    if (rec.getInt(0) != MAGIC || rec.get(4) != ENTRY || nsLen != ns.length
        || keyLen != key.length || rec.getInt(10) != loc.dataLen
        || HEADER + nsLen + keyLen + typeLen != loc.dataOff
        || rec.slice(HEADER, nsLen).mismatch(ByteBuffer.wrap(ns)) >= 0
        || rec.slice(HEADER + nsLen, keyLen).mismatch(ByteBuffer.wrap(key)) >= 0) {
      return BAD;
    }
    if (typeLen == 0) {
      return null;
    }
    byte[] t = new byte[typeLen];
    rec.get(HEADER + nsLen + keyLen, t);
    return canonical(new String(t, StandardCharsets.UTF_8));
  }

  /**
   * A direct buffer of this thread's for re-reading kept entries: a positional read lands in it
   * without the JDK's copy from a temporary direct buffer, and nothing is allocated per read.
   */
  private static final ThreadLocal<ByteBuffer> SCRATCH = new ThreadLocal<>();

  private static ByteBuffer scratch(int size) {
    ByteBuffer b = SCRATCH.get();
    if (b == null || b.capacity() < size) {
      b = ByteBuffer.allocateDirect(Math.max(size, 4096));
      SCRATCH.set(b);
    }
    b.clear().limit(size);
    return b;
  }

  int count() {
    return index.size();
  }

  /** Bytes the index's table takes (off the heap). */
  long indexBytes() {
    return index.tableBytes();
  }

  /** The bytes {@link PackMemo} keeps for this record, or null. */
  byte[] kept(Loc loc) {
    return memo.get(loc);
  }

  /** Bytes of every segment file. */
  long bytes() {
    long total = 0;
    for (Segment s : segments) {
      total += s.size;
    }
    return total;
  }

  List<Segment> segments() {
    return List.copyOf(segments);
  }

  // ---- writes ------------------------------------------------------------------------------------

  /**
   * Appends {@code namespace/key = data[0, length)} and indexes it. Returns the bytes the log
   * grew by (the record).
   */
  long put(String namespace, String key, byte[] data, int length, byte[] sha, String type)
      throws IOException {
    ByteBuffer rec = encode(ENTRY, namespace, key, type, data, length, sha, -1, -1);
    PackIndex.Hash h = index.hash(namespace, key);
    synchronized (lock) {
      Segment seg = append(rec);
      link(h, seg, seg.size - rec.limit(), rec.limit(), length, clock.millis());
    }
    return rec.limit();
  }

  /**
   * Drops {@code namespace/key} if it is still at {@code loc} (a read found it damaged), with a
   * tombstone so that a restart does not index it again. Returns the bytes the log grew by.
   */
  long drop(String namespace, String key, Loc loc) throws IOException {
    synchronized (lock) {
      if (!loc.sameAs(find(namespace, key))) {
        return 0;
      }
      ByteBuffer rec = encode(TOMBSTONE, namespace, key, null, new byte[0], 0, new byte[32],
          loc.seg.id, loc.off);
      append(rec);
      unlink(loc.hash, loc.seg, loc.off, loc.len);
      return rec.limit();
    }
  }

  /** Drops whatever entry {@code namespace/key} has here: a value was stored in the file store. */
  long supersede(String namespace, String key) throws IOException {
    Loc loc = find(namespace, key);
    return loc == null ? 0 : drop(namespace, key, loc);
  }

  /** Indexes a record (under the lock, or at start). */
  private void link(PackIndex.Hash h, Segment seg, long off, int len, int dataLen, long lastRead) {
    PackIndex.Entry old = index.put(h, (int) seg.id, (int) off, len, dataLen, lastRead);
    if (old != null) {
      Segment was = byId.get((long) old.seg());
      if (was != null) {
        was.live -= old.len();
      }
    }
    seg.live += len;
  }

  private void unlink(PackIndex.Hash h, Segment seg, long off, int len) {
    if (index.remove(h, (int) seg.id, (int) off)) {
      seg.live -= len;
    }
  }

  /** Writes a record at the end of the log, rolling to a new segment first if it would not fit. */
  private Segment append(ByteBuffer rec) throws IOException {
    if (closed) {
      throw new IOException("the HTTP cache is closed");
    }
    Segment seg = active;
    if (seg == null || (seg.size > 0 && seg.size + rec.limit() > segmentMax)) {
      seg = roll();
    }
    long pos = seg.size;
    rec.rewind();
    while (rec.hasRemaining()) {
      seg.ch.write(rec, pos + rec.position());
    }
    seg.size = pos + rec.limit();
    seg.lastWrite = clock.millis();
    return seg;
  }

  /** Starts a new segment (under the lock). The previous one is sealed: never appended to again. */
  private Segment roll() throws IOException {
    long id = nextId++;
    Path p = dir.resolve(String.format("%016x.seg", id));
    FileChannel ch = FileChannel.open(p, StandardOpenOption.CREATE_NEW, StandardOpenOption.READ,
        StandardOpenOption.WRITE);
    if (id > Integer.MAX_VALUE) {
      throw new IOException("the HTTP cache has used up its segment numbers in " + dir);
    }
    Segment seg = new Segment(id, p, ch, clock.millis());
    segments.add(seg);
    byId.put(id, seg);
    active = seg;
    rolls++;
    return seg;
  }

  /** Seals {@code seg} if it is the one appended to: the next put starts another. */
  private void seal(Segment seg) {
    synchronized (lock) {
      if (active == seg) {
        active = null;
      }
    }
  }

  boolean isActive(Segment s) {
    synchronized (lock) {
      return s == active;
    }
  }

  // ---- removal: compaction and eviction ----------------------------------------------------------

  /** Sealed segments less than half live, oldest first. */
  List<Segment> sparse() {
    List<Segment> out = new ArrayList<>();
    for (Segment s : segments) {
      if (!isActive(s) && s.live * 2 < s.size) {
        out.add(s);
      }
    }
    return out;
  }

  /**
   * Removes a segment (sealing it first if it is the one appended to): its live entries read
   * after {@code keepReadAfter} (ms; -1 keeps every live entry, which is compaction) and intact
   * are appended again at the end of the log, the others leave the index; tombstones are carried
   * forward while an older segment remains. Then the file is deleted. Returns {bytes freed, bytes
   * appended}.
   */
  long[] removeSegment(Segment seg, long keepReadAfter, MessageDigest sha256) throws IOException {
    seal(seg);
    if (!segments.contains(seg)) {
      return new long[] {0, 0}; // removed meanwhile
    }
    // Segments are removed by one caller at a time and added only at the end: this stays true.
    boolean olderExists = segments.get(0) != seg;
    long[] appended = {0};
    try {
      // One record at a time, each under the lock (not the whole segment): puts and the parsing
      // threads that append wait for one record's copy at most.
      scan(seg, r -> {
        try {
          appended[0] += carryForward(seg, r, olderExists, keepReadAfter, sha256);
        } catch (IOException e) {
          throw new java.io.UncheckedIOException(e);
        }
      });
    } catch (java.io.UncheckedIOException e) {
      throw e.getCause();
    }
    synchronized (lock) {
      if (seg.live > 0) {
        // Entries whose records the scan skipped or did not reach (damaged since the start).
        index.removeSegment((int) seg.id);
      }
      segments.remove(seg);
      byId.remove(seg.id);
    }
    long freed = seg.size;
    try {
      seg.ch.close();
    } finally {
      Files.deleteIfExists(seg.path);
    }
    return new long[] {freed, appended[0]};
  }

  /** One record of a segment being removed: copied to the log's end, or let go. */
  private long carryForward(Segment seg, Record r, boolean olderExists, long keepReadAfter,
      MessageDigest sha256) throws IOException {
    if (r.kind == TOMBSTONE) {
      if (!olderExists) {
        return 0;
      }
      synchronized (lock) {
        append(r.bytes);
      }
      return r.bytes.limit();
    }
    Loc loc = find(r.namespace, r.key);
    if (loc == null || loc.seg != seg || loc.off != r.off) {
      return 0; // dead: overwritten or dropped
    }
    // The record passed its CRC-32C in the scan; its data must still match its SHA-256.
    boolean keep = loc.lastRead > keepReadAfter
        && MessageDigest.isEqual(sha256.digest(r.data()), r.sha);
    synchronized (lock) {
      Loc now = find(r.namespace, r.key);
      if (!loc.sameAs(now)) {
        return 0; // replaced meanwhile
      }
      if (!keep) {
        unlink(loc.hash, loc.seg, loc.off, loc.len);
        return 0;
      }
      Segment to = append(r.bytes);
      // The last read as of now (a read since the lookup above counts).
      link(loc.hash, to, to.size - r.bytes.limit(), loc.len, loc.dataLen, now.lastRead);
      return r.bytes.limit();
    }
  }

  @Override
  public void close() throws IOException {
    synchronized (lock) {
      if (closed) {
        return;
      }
      closed = true;
      for (Segment s : segments) {
        s.ch.close();
      }
    }
  }

  // ---- encoding and replay -----------------------------------------------------------------------

  private static ByteBuffer encode(byte kind, String namespace, String key, String type,
      byte[] data, int length, byte[] sha, long killSeg, long killOff) {
    byte[] ns = namespace.getBytes(StandardCharsets.UTF_8);
    byte[] k = key.getBytes(StandardCharsets.UTF_8);
    byte[] t = type == null ? new byte[0] : type.getBytes(StandardCharsets.UTF_8);
    if (ns.length > MAX_NS || k.length > MAX_KEY || t.length > MAX_TYPE || sha.length != 32) {
      throw new IllegalArgumentException("namespace, key or type too long for the pack");
    }
    ByteBuffer b = ByteBuffer.allocate(HEADER + ns.length + k.length + t.length + length + TRAILER);
    b.putInt(MAGIC).put(kind).put((byte) ns.length).putShort((short) k.length)
        .putShort((short) t.length).putInt(length).putLong(killSeg).putLong(killOff).put(sha)
        .put(ns).put(k).put(t).put(data, 0, length);
    CRC32C crc = new CRC32C();
    crc.update(b.array(), 0, b.position());
    b.putInt((int) crc.getValue());
    b.flip();
    return b;
  }

  /** A record read back from a segment. */
  private record Record(long off, byte kind, String namespace, String key, String type,
      int dataOff, int dataLen, byte[] sha, long killSeg, long killOff, ByteBuffer bytes) {
    byte[] data() {
      return Arrays.copyOfRange(bytes.array(), dataOff, dataOff + dataLen);
    }
  }

  /**
   * Reads a segment's records in order, each checked against its CRC-32C: a record that fails it
   * is skipped (counted in {@link #skipped}); a header that makes no sense, or a record cut short
   * by the end of the file, ends the scan. Returns where it ended.
   */
  private long scan(Segment seg, java.util.function.Consumer<Record> each) throws IOException {
    skipped = 0;
    long fileSize = seg.ch.size();
    long pos = 0;
    ByteBuffer header = ByteBuffer.allocate(HEADER);
    while (pos + HEADER + TRAILER <= fileSize) {
      header.clear();
      if (!readFully(seg.ch, header, pos)) {
        break;
      }
      header.flip();
      int magic = header.getInt();
      byte kind = header.get();
      int nsLen = header.get() & 0xff;
      int keyLen = header.getShort() & 0xffff;
      int typeLen = header.getShort() & 0xffff;
      int dataLen = header.getInt();
      long killSeg = header.getLong();
      long killOff = header.getLong();
      if (magic != MAGIC || (kind != ENTRY && kind != TOMBSTONE) || nsLen == 0 || nsLen > MAX_NS
          || keyLen == 0 || keyLen > MAX_KEY || typeLen > MAX_TYPE || dataLen < 0
          || dataLen > maxEntry) {
        break;
      }
      int len = HEADER + nsLen + keyLen + typeLen + dataLen + TRAILER;
      if (pos + len > fileSize) {
        break;
      }
      ByteBuffer rec = ByteBuffer.allocate(len);
      if (!readFully(seg.ch, rec, pos)) {
        break;
      }
      byte[] a = rec.array();
      CRC32C crc = new CRC32C();
      crc.update(a, 0, len - TRAILER);
      if ((int) crc.getValue() != ByteBuffer.wrap(a, len - TRAILER, TRAILER).getInt()) {
        // Damaged data under a plausible header (a flipped byte, a torn write): this record is
        // skipped, and the scan goes on at the next one, which must pass its own checks.
        skipped++;
        pos += len;
        continue;
      }
      byte[] sha = Arrays.copyOfRange(a, 30, HEADER);
      int o = HEADER;
      String ns = new String(a, o, nsLen, StandardCharsets.UTF_8);
      o += nsLen;
      String key = new String(a, o, keyLen, StandardCharsets.UTF_8);
      o += keyLen;
      String type =
          typeLen == 0 ? null : canonical(new String(a, o, typeLen, StandardCharsets.UTF_8));
      o += typeLen;
      rec.rewind();
      each.accept(new Record(pos, kind, ns, key, type, o, dataLen, sha, killSeg, killOff, rec));
      pos += len;
    }
    return pos;
  }

  /**
   * One instance per content type, shared by every entry the index holds (a few types in
   * practice). Not {@link String#intern}: the JVM's string table costs a lookup under its own lock
   * on every PUT. Bounded, since clients choose the types: past {@link #MAX_TYPES} a type is kept
   * as it came.
   */
  private static String canonical(String type) {
    if (type == null) {
      return null;
    }
    String had = TYPES.get(type);
    if (had != null) {
      return had;
    }
    if (TYPES.size() >= MAX_TYPES) {
      return type;
    }
    had = TYPES.putIfAbsent(type, type);
    return had != null ? had : type;
  }

  private static final int MAX_TYPES = 64;
  private static final ConcurrentHashMap<String, String> TYPES = new ConcurrentHashMap<>();

  private static boolean readFully(FileChannel ch, ByteBuffer b, long pos) throws IOException {
    long start = pos;
    while (b.hasRemaining()) {
      int n = ch.read(b, start + b.position());
      if (n < 0) {
        return false;
      }
    }
    return true;
  }

  /** Rebuilds the index from one segment at start, truncating it at its first bad record. */
  private void replay(Segment seg) throws IOException {
    long end = scan(seg, r -> {
      if (r.kind == ENTRY) {
        link(index.hash(r.namespace, r.key), seg, r.off, r.bytes.limit(), r.dataLen, 0);
      } else {
        Loc loc = find(r.namespace, r.key);
        if (loc != null && loc.seg.id == r.killSeg && loc.off == r.killOff) {
          unlink(loc.hash, loc.seg, loc.off, loc.len);
        }
      }
    });
    long fileSize = seg.ch.size();
    if (skipped > 0) {
      log.warn("HTTP cache: segment {} has {} damaged record(s); they are dropped",
          seg.path.getFileName(), skipped);
    }
    if (end < fileSize) {
      // A tail torn by a crash (or a damaged record): never served, and cut so that the scan of
      // the next start does not meet it again.
      log.warn("HTTP cache: segment {} has a damaged or torn record at byte {} of {}; the {} bytes"
          + " from there are dropped", seg.path.getFileName(), end, fileSize, fileSize - end);
      seg.ch.truncate(end);
    }
    seg.size = end;
  }
}
