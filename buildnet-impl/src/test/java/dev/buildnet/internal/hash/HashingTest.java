package dev.buildnet.internal.hash;

import static java.nio.charset.StandardCharsets.US_ASCII;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildnet.api.hash.Digest;
import dev.buildnet.api.hash.HashProvider;
import dev.buildnet.api.hash.Hasher;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import net.jpountz.xxhash.XXHashFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class HashingTest {
  @TempDir Path dir;

  /** Expected values from the Python xxhash 4.0.1 and hashlib modules. */
  static Stream<Arguments> knownVectors() {
    byte[] counting = new byte[1031];
    for (int i = 0; i < counting.length; i++) {
      counting[i] = (byte) (i % 256);
    }
    byte[] million = new byte[1_000_000];
    Arrays.fill(million, (byte) 'a');
    return Stream.of(
        Arguments.of("xxh64", ascii(""), "ef46db3751d8e999"),
        Arguments.of("xxh64", ascii("a"), "d24ec4f1a98c6e5b"),
        Arguments.of("xxh64", ascii("abc"), "44bc2cf5ad770999"),
        Arguments.of("xxh64", ascii("message digest"), "066ed728fceeb3be"),
        Arguments.of(
            "xxh64", ascii("The quick brown fox jumps over the lazy dog"), "0b242d361fda71bc"),
        Arguments.of("xxh64", counting, "ebd35a5960a69ebc"),
        Arguments.of("xxh64", million, "dc483aaa9b4fdc40"),
        Arguments.of(
            "sha256",
            ascii(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        Arguments.of(
            "sha256",
            ascii("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        Arguments.of(
            "sha256",
            ascii("The quick brown fox jumps over the lazy dog"),
            "d7a8fbb307d7809469ca9abcb0082e4f8d5651e46d3cdb762d02d0bf37c9e592"),
        Arguments.of(
            "sha256",
            million,
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"));
  }

  private static byte[] ascii(String s) {
    return s.getBytes(US_ASCII);
  }

  private static HashProvider provider(String algorithm) {
    return algorithm.equals("xxh64") ? Hashing.xxh64() : Hashing.sha256();
  }

  @ParameterizedTest
  @MethodSource("knownVectors")
  void everyEntryPoint_givesTheKnownDigest(String algorithm, byte[] input, String hex)
      throws IOException {
    HashProvider provider = provider(algorithm);
    Digest expected = Digest.of(algorithm, hex);
    Path file = Files.write(dir.resolve("input"), input);

    assertEquals(expected, provider.hash(input), "one-shot");
    assertEquals(expected, provider.newHasher().update(input).digest(), "hasher");
    assertEquals(expected, provider.hash(new ByteArrayInputStream(input)), "stream");
    assertEquals(expected, provider.hash(file), "file");
  }

  static Stream<Arguments> xxh64Vectors() {
    return knownVectors().filter(a -> a.get()[0].equals("xxh64"));
  }

  @ParameterizedTest
  @MethodSource("xxh64Vectors")
  void everyLz4JavaImplementation_givesTheKnownXxh64(String algorithm, byte[] input, String hex) {
    for (XXHashFactory factory :
        new XXHashFactory[] {
          XXHashFactory.nativeInstance(),
          XXHashFactory.unsafeInstance(),
          XXHashFactory.safeInstance()
        }) {
      Xxh64Provider provider = new Xxh64Provider(factory);
      assertEquals(hex, provider.hash(input).hex(), factory.toString());
      assertEquals(hex, provider.newHasher().update(input).digest().hex(), factory.toString());
    }
  }

  @Test
  void algorithmNames_prefixDigests() {
    assertEquals("xxh64", Hashing.xxh64().algorithm());
    assertEquals("sha256", Hashing.sha256().algorithm());
    assertEquals(8, Hashing.xxh64().hash(new byte[0]).bytes().length);
    assertEquals(32, Hashing.sha256().hash(new byte[0]).bytes().length);
  }

  @Test
  void providers_areSingletons() {
    assertSame(Hashing.xxh64(), Hashing.xxh64());
    assertSame(Hashing.sha256(), Hashing.sha256());
  }

  @Test
  void xxh64_usesJniWhereTheNativeLibraryLoads() {
    // This machine is linux/amd64, for which lz4-java ships a native library, and the tests run in
    // the system class loader: the fast path must be the one chosen.
    assertEquals("xxh64 (lz4-java XXHashFactory:JNI)", Hashing.xxh64().toString());
  }

  @Test
  void xxh64_whenTheNativeLibraryFailsToLoad_fallsBackToTheNextImplementation() {
    Xxh64Provider provider =
        Xxh64Provider.firstWorking(
            List.of(
                () -> {
                  throw new UnsatisfiedLinkError("no liblz4-java in java.library.path");
                },
                XXHashFactory::safeInstance));

    assertEquals("xxh64 (lz4-java XXHashFactory:JavaSafe)", provider.toString());
    assertEquals("44bc2cf5ad770999", provider.hash(ascii("abc")).hex());
  }

  @Test
  void xxh64_whenNoImplementationWorks_saysWhatEachAttemptDid() {
    IllegalStateException e =
        assertThrows(
            IllegalStateException.class,
            () ->
                Xxh64Provider.firstWorking(
                    List.of(
                        () -> {
                          throw new UnsatisfiedLinkError("no native library");
                        },
                        () -> {
                          throw new AssertionError("no unsafe");
                        })));

    assertTrue(e.getMessage().contains("no native library"), e.getMessage());
    assertTrue(e.getMessage().contains("no unsafe"), e.getMessage());
  }

  @Test
  void hashPath_missingFile_throwsNoSuchFileNamingIt() {
    Path missing = dir.resolve("missing.txt");

    NoSuchFileException e =
        assertThrows(NoSuchFileException.class, () -> Hashing.xxh64().hash(missing));

    assertEquals(missing.toString(), e.getFile());
  }

  @Test
  void hashPath_directory_throwsIOExceptionSayingSo() {
    FileSystemException e =
        assertThrows(FileSystemException.class, () -> Hashing.sha256().hash(dir));

    assertEquals(dir.toString(), e.getFile());
    assertTrue(e.getMessage().contains("is a directory"), e.getMessage());
  }

  @Test
  void hashPath_emptyFile_isTheEmptyDigest() throws IOException {
    Path empty = Files.createFile(dir.resolve("empty"));

    assertEquals("xxh64:ef46db3751d8e999", Hashing.xxh64().hash(empty).toString());
  }

  @Test
  void digest_calledTwice_throwsIllegalState() {
    for (HashProvider provider : new HashProvider[] {Hashing.xxh64(), Hashing.sha256()}) {
      Hasher hasher = provider.newHasher();
      hasher.digest();

      IllegalStateException e = assertThrows(IllegalStateException.class, hasher::digest);
      assertTrue(e.getMessage().contains("already produced its digest"), e.getMessage());
      assertThrows(IllegalStateException.class, () -> hasher.update(new byte[1]));
      assertThrows(IllegalStateException.class, () -> hasher.update(ByteBuffer.allocate(1)));
    }
  }

  @Test
  void closedHasher_rejectsUse() {
    AbstractHasher hasher = (AbstractHasher) Hashing.xxh64().newHasher();
    hasher.update(new byte[100_000]); // enough to hold native state
    hasher.close();
    hasher.close();

    IllegalStateException e = assertThrows(IllegalStateException.class, hasher::digest);
    assertTrue(e.getMessage().contains("closed"), e.getMessage());
  }

  @Test
  void badRanges_areRejected() {
    HashProvider provider = Hashing.xxh64();
    byte[] bytes = new byte[10];

    assertThrows(IndexOutOfBoundsException.class, () -> provider.hash(bytes, 5, 6));
    assertThrows(IndexOutOfBoundsException.class, () -> provider.hash(bytes, -1, 2));
    assertThrows(
        IndexOutOfBoundsException.class, () -> provider.newHasher().update(bytes, 8, 3));
    assertThrows(NullPointerException.class, () -> provider.hash((byte[]) null));
  }

  @Test
  void hashRange_hashesOnlyTheRange() {
    byte[] padded = ascii("--abc--");

    assertEquals("44bc2cf5ad770999", Hashing.xxh64().hash(padded, 2, 3).hex());
  }

  @Test
  void hashStream_doesNotCloseIt() throws IOException {
    boolean[] closed = {false};
    ByteArrayInputStream in =
        new ByteArrayInputStream(ascii("abc")) {
          @Override
          public void close() {
            closed[0] = true;
          }
        };

    Hashing.sha256().hash(in);

    assertEquals(false, closed[0]);
  }
}
