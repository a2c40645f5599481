package dev.buildnet.internal.state;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;

/**
 * Which SQLite binding the process runs on. Surefire runs this class twice: in the default run,
 * and in the sqlite-jdbc run with {@code -Dbuildnet.sqlite.native=false}.
 */
class SqliteDriverTest {
  private static boolean linuxX8664() {
    String arch = System.getProperty("os.arch");
    return "Linux".equals(System.getProperty("os.name"))
        && ("amd64".equals(arch) || "x86_64".equals(arch));
  }

  @Test
  void onLinuxX8664_theNativeBindingBuiltWithTheJarIsInUse_unlessSwitchedOff() {
    // A native library that failed to build or load would fall back quietly; this catches it.
    boolean switchedOff = "false".equalsIgnoreCase(System.getProperty(SqliteDriver.SWITCH));
    SqliteDriver driver = SqliteDriver.current();
    assertEquals(linuxX8664() && !switchedOff, driver.isNative(), driver.name());
    assertSame(driver, SqliteDriver.current(), "chosen once per process");
  }

  @Test
  void switchedOff_choosesSqliteJdbcAndSaysSo() {
    SqliteDriver.Choice choice = SqliteDriver.choose("false", "Linux", "amd64",
        NativeLibrary.RESOURCE);
    assertSame(SqliteDriver.jdbc(), choice.driver());
    assertEquals("-Dbuildnet.sqlite.native=false", choice.whyNotNative());
  }

  @Test
  void anotherPlatform_choosesSqliteJdbcAndSaysWhich() {
    SqliteDriver.Choice choice = SqliteDriver.choose(null, "Mac OS X", "aarch64",
        NativeLibrary.RESOURCE);
    assertSame(SqliteDriver.jdbc(), choice.driver());
    assertTrue(choice.whyNotNative().contains("Mac OS X aarch64"), choice.whyNotNative());
  }

  @Test
  void aLibraryMissingFromTheJar_fallsBackToSqliteJdbcWithOneLine() {
    SqliteDriver.Choice choice = SqliteDriver.choose(null, "Linux", "amd64",
        "native/linux-x86_64/no-such-library.so");
    assertSame(SqliteDriver.jdbc(), choice.driver());
    assertOneLine(choice.whyNotNative(), "no-such-library.so");
  }

  @Test
  void aLibraryThatDoesNotLoad_fallsBackToSqliteJdbcWithOneLine() {
    // A class file where the shared library should be: System.load refuses it.
    SqliteDriver.Choice choice = SqliteDriver.choose(null, "Linux", "amd64",
        "SqliteDriverTest.class");
    assertSame(SqliteDriver.jdbc(), choice.driver());
    assertOneLine(choice.whyNotNative(), "cannot load SqliteDriverTest.class");
  }

  @Test
  void theExtractedLibrary_isANewFileOnlyItsOwnerCanReadOrWrite() throws Exception {
    byte[] library = {0x7f, 'E', 'L', 'F', 1, 2, 3};
    Path file = NativeLibrary.extract(new ByteArrayInputStream(library));
    try {
      assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
      assertArrayEquals(library, Files.readAllBytes(file));
      Path other = NativeLibrary.extract(new ByteArrayInputStream(library));
      assertFalse(other.equals(file), "a fresh file each time, never a shared path");
      Files.delete(other);
    } finally {
      Files.deleteIfExists(file);
    }
  }

  private static void assertOneLine(String why, String fragment) {
    assertTrue(why.contains(fragment), why);
    assertFalse(why.contains("\n"), "one line, no stack trace: " + why);
  }
}
