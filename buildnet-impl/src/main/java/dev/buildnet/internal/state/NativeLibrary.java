package dev.buildnet.internal.state;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * Loads BuildNet's own native libraries from the jar: the SQLite binding ({@link NativeSqlite})
 * and the file check ({@code dev.buildnet.internal.hash.StatBatch}). A library is copied
 * into a file this process creates itself, under a random name and readable only by its owner (so
 * no other user can swap it between the copy and the load, as a fixed shared path would allow),
 * loaded, and deleted at once: a loaded library needs no file, and none is left behind even when
 * the process is killed.
 */
public final class NativeLibrary {
  /** The library's resource, beside this class, for the one platform it is built for. */
  static final String RESOURCE = "native/linux-x86_64/libbuildnet-sqlite.so";

  private NativeLibrary() {}

  /** Loads the library from {@code resource}; null if it works, otherwise why not (one line). */
  static String load(String resource) {
    String whyNot = load(NativeLibrary.class, resource);
    if (whyNot != null) {
      return whyNot;
    }
    try {
      NativeSqlite.version(); // the library has this class's functions
      return null;
    } catch (UnsatisfiedLinkError e) {
      return resource + " does not match this BuildNet: " + e.getMessage();
    }
  }

  /**
   * Loads the library at {@code resource}, relative to {@code owner}'s package, for {@code
   * owner}'s native methods (the caller checks that they link); null if it loaded, otherwise why
   * not (one line).
   */
  public static String load(Class<?> owner, String resource) {
    Path file;
    try (InputStream in = owner.getResourceAsStream(resource)) {
      if (in == null) {
        return "the jar has no " + resource;
      }
      file = extract(in);
    } catch (IOException e) {
      return "cannot copy " + resource + " out of the jar: " + e.getMessage();
    }
    try {
      System.load(file.toString());
    } catch (UnsatisfiedLinkError e) {
      return "cannot load " + resource + ": " + e.getMessage();
    } finally {
      try {
        Files.deleteIfExists(file);
      } catch (IOException ignored) {
        // In the temporary directory, owner-only: the OS's cleaning removes it.
      }
    }
    return null;
  }

  /** Copies {@code library} into a new owner-only file in the temporary directory. */
  static Path extract(InputStream library) throws IOException {
    Path file = Files.createTempFile("buildnet-native-", ".so",
        PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
    // Into the file just created, never a new one: Files.copy with REPLACE_EXISTING would delete
    // it and create another with the default permissions.
    try (OutputStream out = Files.newOutputStream(file, StandardOpenOption.WRITE)) {
      library.transferTo(out);
    } catch (IOException | RuntimeException e) {
      Files.deleteIfExists(file);
      throw e;
    }
    return file;
  }
}
