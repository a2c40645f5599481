package dev.buildnet.internal.hash;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.Charset;
import java.nio.file.DirectoryStream;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link NativeStat} reports every field exactly as the JDK's {@code stat}/{@code lstat} does, the
 * JDK's exceptions for what it cannot stat, and leaves to the JDK what it cannot answer exactly;
 * {@code -Dbuildnet.jdkStat=true} turns it off.
 */
class NativeStatTest {
  private static final LinkOption[] FOLLOW = {};
  private static final LinkOption[] NOFOLLOW = {LinkOption.NOFOLLOW_LINKS};
  /** Has a fractional second, so the nanosecond part is compared too. */
  private static final FileTime SET_MTIME =
      FileTime.from(Instant.parse("2024-05-06T07:08:09.123456789Z"));

  @TempDir Path dir;

  @BeforeAll
  static void nativeStatIsOnHere() {
    // This machine is 64-bit Linux with glibc >= 2.28: if it were off, the comparisons below
    // would compare the JDK with itself.
    assertEquals("Linux", System.getProperty("os.name"));
    assertTrue(NativeStat.available(), "statx through JNA should be available on this machine");
  }

  /** The native stat, asserting it answered rather than deferring to the JDK. */
  private static FileStat nativeStat(Path p, LinkOption[] options) throws IOException {
    FileStat stat = NativeStat.read(p.toString(), options.length == 0);
    assertNotNull(stat, "the native stat deferred to the JDK for " + p);
    return stat;
  }

  /** Every field of the native stat against the JDK's own attributes of the same file. */
  private static void assertSameAsJdk(Path p, LinkOption... options) throws IOException {
    FileStat n = nativeStat(p, options);
    Map<String, Object> a = Files.readAttributes(p, "unix:*", options);
    assertEquals(a.get("size"), n.size(), "size");
    assertEquals(((FileTime) a.get("lastModifiedTime")).to(TimeUnit.NANOSECONDS), n.mtimeNanos(),
        "mtime");
    assertEquals(((FileTime) a.get("ctime")).to(TimeUnit.NANOSECONDS), n.ctimeNanos(), "ctime");
    assertEquals(a.get("dev"), n.dev(), "dev");
    assertEquals(a.get("ino"), n.ino(), "ino");
    assertTrue(n.hasUnixId());
    assertNull(n.fileKey());
    assertEquals(a.get("isRegularFile"), n.regularFile(), "regular file");
    assertEquals(a.get("isDirectory"), n.directory(), "directory");
    assertEquals(FileStat.readJdk(p, options), n, "the whole stat");
    assertEquals(n, FileStat.read(p, options), "FileStat.read takes the native stat");
  }

  @Test
  void aRegularFile() throws IOException {
    Path file = Files.writeString(dir.resolve("a.txt"), "hello", UTF_8);
    Files.setLastModifiedTime(file, SET_MTIME);
    assertSameAsJdk(file, FOLLOW);
    assertSameAsJdk(file, NOFOLLOW);
    assertEquals(SET_MTIME.to(TimeUnit.NANOSECONDS), nativeStat(file, FOLLOW).mtimeNanos());
    assertEquals(5, nativeStat(file, FOLLOW).size());
  }

  @Test
  void aDirectoryAndARelativePath() throws IOException {
    Path sub = Files.createDirectory(dir.resolve("sub"));
    assertSameAsJdk(sub, FOLLOW);
    assertSameAsJdk(sub, NOFOLLOW);
    assertTrue(nativeStat(sub, FOLLOW).directory());
    // The JDK stats the empty path as "." (the working directory), and so does this.
    assertEquals(FileStat.readJdk(Path.of("")), NativeStat.read("", true));
    assertSameAsJdk(Path.of("pom.xml"), FOLLOW);
  }

  @Test
  void aLinkIsFollowedOrNotAsAsked() throws IOException {
    Path target = Files.writeString(dir.resolve("target.txt"), "target", UTF_8);
    Path link = Files.createSymbolicLink(dir.resolve("link"), target);
    assertSameAsJdk(link, FOLLOW);
    assertSameAsJdk(link, NOFOLLOW);
    FileStat followed = nativeStat(link, FOLLOW);
    FileStat itself = nativeStat(link, NOFOLLOW);
    assertEquals(nativeStat(target, FOLLOW), followed);
    assertTrue(followed.regularFile());
    assertFalse(itself.regularFile() || itself.directory(), "lstat sees the link itself");
    assertNotEquals(followed.ino(), itself.ino());

    Path dirLink = Files.createSymbolicLink(dir.resolve("dirlink"), dir);
    assertTrue(nativeStat(dirLink, FOLLOW).directory());
    assertFalse(nativeStat(dirLink, NOFOLLOW).directory());
    assertSameAsJdk(dirLink, NOFOLLOW);
  }

  @Test
  void aMissingFileThrowsWhatTheJdkThrows() throws IOException {
    Path missing = dir.resolve("missing.txt");
    NoSuchFileException jdk =
        assertThrows(NoSuchFileException.class, () -> FileStat.readJdk(missing));
    NoSuchFileException ours =
        assertThrows(NoSuchFileException.class, () -> NativeStat.read(missing.toString(), true));
    assertEquals(jdk.getMessage(), ours.getMessage());
    assertEquals(jdk.getFile(), ours.getFile());
    assertNull(ours.getOtherFile());

    Path dangling = Files.createSymbolicLink(dir.resolve("dangling"), missing);
    assertThrows(NoSuchFileException.class, () -> FileStat.read(dangling));
    assertSameAsJdk(dangling, NOFOLLOW);
  }

  @Test
  void otherErrorsAreTheJdksOwn() throws IOException {
    Path file = Files.writeString(dir.resolve("file"), "x", UTF_8);
    Path below = file.resolve("child"); // ENOTDIR
    Path loop = Files.createSymbolicLink(dir.resolve("loop"), dir.resolve("loop")); // ELOOP
    for (Path p : List.of(below, loop)) {
      FileSystemException jdk = assertThrows(FileSystemException.class, () -> FileStat.readJdk(p));
      FileSystemException ours = assertThrows(FileSystemException.class, () -> FileStat.read(p));
      assertEquals(jdk.getClass(), ours.getClass());
      assertEquals(jdk.getMessage(), ours.getMessage());
    }
    assertSameAsJdk(loop, NOFOLLOW);
  }

  @Test
  void aNonAsciiNameFollowsTheFileNameEncoding() throws IOException {
    String name = "grüße-日本-\uD83D\uDE00.txt";
    Charset names = NativeStat.fileNameEncoding();
    assertEquals(System.getProperty("sun.jnu.encoding"), names.name());
    if (!names.newEncoder().canEncode(name)) {
      // This JVM's file names cannot hold it (a C/POSIX locale): the JDK refuses the path itself,
      // so nothing reaches the native stat. nonUtf8Locale covers that case in every run.
      assertThrows(InvalidPathException.class, () -> dir.resolve(name));
      return;
    }
    Path file = Files.writeString(dir.resolve(name), "non-ascii", UTF_8);
    assertSameAsJdk(file, FOLLOW);
    assertEquals(9, nativeStat(file, FOLLOW).size());
  }

  @Test
  void aNameThatIsNotValidInTheEncodingIsLeftToTheJdk() throws Exception {
    // Bytes 0xFF 0xFE are no UTF-8: the JDK decodes them to U+FFFD and keeps the bytes, which
    // encoding the string back would not give.
    Process p = new ProcessBuilder("sh", "-c", "printf 'bytes' > \"$(printf 'bad-\\377\\376')\"")
        .directory(dir.toFile()).inheritIO().start();
    assertEquals(0, p.waitFor());
    List<Path> found = new ArrayList<>();
    try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
      entries.forEach(found::add);
    }
    assertEquals(1, found.size());
    Path bad = found.get(0);
    if (NativeStat.fileNameEncoding().name().equals("UTF-8")) {
      assertTrue(bad.toString().contains("\uFFFD"), bad.toString());
      assertNull(NativeStat.read(bad.toString(), true), "left to the JDK");
    }
    assertEquals(FileStat.readJdk(bad), FileStat.read(bad));
    assertEquals(5, FileStat.read(bad).size());
  }

  @Test
  void aPathEncodedOnce_isStatedAsItsText_followingLinksOrNot() throws IOException {
    Path file = Files.writeString(dir.resolve("file.txt"), "file", UTF_8);
    Path link = Files.createSymbolicLink(dir.resolve("link"), file);
    Path dirLink = Files.createSymbolicLink(dir.resolve("dirlink"), dir);
    Path missing = dir.resolve("missing.txt");
    for (Path p : List.of(file, link, dirLink, dir)) {
      byte[] encoded = NativeStat.encode(p.toString());
      assertNotNull(encoded, p.toString());
      assertEquals(0, encoded[encoded.length - 1], "NUL-terminated");
      for (boolean follow : new boolean[] {true, false}) {
        assertEquals(NativeStat.read(p.toString(), follow),
            NativeStat.read(encoded, p.toString(), follow), p + " follow=" + follow);
      }
    }
    NoSuchFileException gone = assertThrows(NoSuchFileException.class,
        () -> NativeStat.read(NativeStat.encode(missing.toString()), missing.toString(), true));
    assertEquals(missing.toString(), gone.getFile());
  }

  @Test
  void isRegularFileAt_isSameExactlyForThatRegularFileAtThoseFields() throws IOException {
    Path file = Files.writeString(dir.resolve("file.txt"), "file", UTF_8);
    Path link = Files.createSymbolicLink(dir.resolve("link"), file);
    FileStat s = nativeStat(file, FOLLOW);
    byte[] f = NativeStat.encode(file.toString());
    byte[] l = NativeStat.encode(link.toString());
    byte[] d = NativeStat.encode(dir.toString());
    assertEquals(NativeStat.SAME, NativeStat.isRegularFileAt(f, file.toString(), true, s.size(),
        s.mtimeNanos(), s.ctimeNanos(), s.dev(), s.ino()));
    assertEquals(NativeStat.SAME, NativeStat.isRegularFileAt(f, file.toString(), false, s.size(),
        s.mtimeNanos(), s.ctimeNanos(), s.dev(), s.ino()));
    assertEquals(NativeStat.SAME, NativeStat.isRegularFileAt(l, link.toString(), true, s.size(),
        s.mtimeNanos(), s.ctimeNanos(), s.dev(), s.ino()), "stat follows the link");
    assertEquals(NativeStat.CHANGED, NativeStat.isRegularFileAt(l, link.toString(), false,
        s.size(), s.mtimeNanos(), s.ctimeNanos(), s.dev(), s.ino()), "lstat sees the link");
    long[][] others = {
        {s.size() + 1, s.mtimeNanos(), s.ctimeNanos(), s.dev(), s.ino()},
        {s.size(), s.mtimeNanos() + 1, s.ctimeNanos(), s.dev(), s.ino()},
        {s.size(), s.mtimeNanos(), s.ctimeNanos() + 1, s.dev(), s.ino()},
        {s.size(), s.mtimeNanos(), s.ctimeNanos(), s.dev() + 1, s.ino()},
        {s.size(), s.mtimeNanos(), s.ctimeNanos(), s.dev(), s.ino() + 1}};
    for (long[] o : others) {
      assertEquals(NativeStat.CHANGED,
          NativeStat.isRegularFileAt(f, file.toString(), true, o[0], o[1], o[2], o[3], o[4]),
          java.util.Arrays.toString(o));
    }
    FileStat ds = nativeStat(dir, FOLLOW);
    assertEquals(NativeStat.CHANGED, NativeStat.isRegularFileAt(d, dir.toString(), true,
        ds.size(), ds.mtimeNanos(), ds.ctimeNanos(), ds.dev(), ds.ino()), "a directory");
    Files.delete(file);
    assertThrows(NoSuchFileException.class, () -> NativeStat.isRegularFileAt(f, file.toString(),
        true, s.size(), s.mtimeNanos(), s.ctimeNanos(), s.dev(), s.ino()));
  }

  @Test
  void aPathEncodedOnce_coversNonAsciiNames_andRefusesWhatTheJdkMustAnswer() throws IOException {
    String name = "grüße.txt";
    if (NativeStat.fileNameEncoding().newEncoder().canEncode(name)) {
      Path file = Files.writeString(dir.resolve(name), "non-ascii", UTF_8);
      assertEquals(nativeStat(file, FOLLOW),
          NativeStat.read(NativeStat.encode(file.toString()), file.toString(), true));
    }
    assertNull(NativeStat.encode(dir + "/bad-\uFFFD"), "a name decoded from invalid bytes");
    assertNull(NativeStat.encode(dir + "/nul\0name"));
    assertNull(NativeStat.encode("/" + "a".repeat(4096)), "longer than PATH_MAX");
  }

  /** glibc's own makedev, exported as a function. */
  interface GlibcDev extends com.sun.jna.Library {
    long gnu_dev_makedev(int major, int minor);
  }

  @Test
  void makedevEncodesAsGlibcDoes() {
    GlibcDev glibc = com.sun.jna.Native.load("c", GlibcDev.class);
    long[][] cases = {{8, 1}, {0, 0}, {0x456, 0x123789ab}, {0xabcde123L, 0xfedcba98L},
        {0xffffffffL, 0xffffffffL}, {259, 65536}};
    for (long[] c : cases) {
      assertEquals(glibc.gnu_dev_makedev((int) c[0], (int) c[1]), NativeStat.makedev(c[0], c[1]),
          c[0] + ":" + c[1]);
    }
    assertEquals(0x123789456abL, NativeStat.makedev(0x456, 0x123789ab));
  }

  @Test
  void theSwitchTurnsItOff_andTheJdkAnswersTheSame() throws Exception {
    fill();
    List<String> out = child(List.of("-Dbuildnet.jdkStat=true"), Map.of());
    assertEquals("available=false", out.get(0));
    assertEntriesSame(out);
  }

  @Test
  void nonUtf8Locale_theJdkRefusesWhatItCannotName_andListedNamesStayExact() throws Exception {
    fill();
    List<String> out = child(List.of(), Map.of("LC_ALL", "C", "LANG", "C"));
    assertEquals("available=true", out.get(0));
    String encoding = out.get(1).substring("encoding=".length());
    assertFalse(encoding.equals("UTF-8"), "the C locale's file names are not UTF-8: " + encoding);
    assertEntriesSame(out);
    assertEquals("path=invalid", out.get(out.size() - 2), "the JDK refuses a non-ASCII name");
  }

  /** A file, a link, a directory and a non-ASCII name (written as UTF-8 bytes). */
  private void fill() throws IOException {
    Path file = Files.writeString(dir.resolve("plain.txt"), "plain", UTF_8);
    Files.createSymbolicLink(dir.resolve("link"), file);
    Files.createDirectory(dir.resolve("sub"));
    Files.writeString(dir.resolve("grüße.txt"), "non-ascii!", UTF_8);
  }

  private static void assertEntriesSame(List<String> out) {
    long entries = out.stream().filter(l -> l.startsWith("entry ")).count();
    assertEquals(4, entries, String.join("\n", out));
    assertTrue(out.stream().filter(l -> l.startsWith("entry ")).allMatch(l -> l.endsWith(" same=true")),
        String.join("\n", out));
    assertTrue(out.contains("entry size=10 same=true"), "the non-ASCII file was found by its bytes");
    assertEquals("done", out.get(out.size() - 1));
  }

  private List<String> child(List<String> jvmOptions, Map<String, String> env) throws Exception {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.add("-XX:TieredStopAtLevel=1");
    command.addAll(jvmOptions);
    command.add("-cp");
    command.add(System.getProperty("java.class.path"));
    command.add(NativeStatMain.class.getName());
    command.add(dir.toString());
    command.add("grüße.txt");
    Path stderr = Files.createTempFile("native-stat", ".stderr");
    try {
      ProcessBuilder pb = new ProcessBuilder(command)
          .redirectError(ProcessBuilder.Redirect.to(stderr.toFile()));
      pb.environment().putAll(env);
      Process p = pb.start();
      String stdout = new String(p.getInputStream().readAllBytes(), UTF_8);
      assertTrue(p.waitFor(120, TimeUnit.SECONDS));
      assertEquals(0, p.exitValue(), stdout + Files.readString(stderr));
      return List.of(stdout.split("\n"));
    } finally {
      Files.deleteIfExists(stderr);
    }
  }
}
