package dev.buildnet.internal;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * One wording for a full disk, shared by the state backend and the blob store, so that whichever
 * hits it first tells the user the same thing: which directory, and how much room is left.
 * Internal: not an API.
 */
public final class DiskSpace {
  /** Below this many free bytes an I/O error is taken for a full disk. */
  private static final long NEARLY_FULL = 1 << 20;

  private DiskSpace() {}

  /** {@code "the disk holding DIR is full: N bytes free"}. */
  public static String full(Path directory) {
    return "the disk holding " + directory + " is full" + free(directory, ": ", "");
  }

  /**
   * For an I/O error (SQLITE_IOERR and the like): {@link #full} if under 1 MiB is left, since SQLite
   * reports a full disk as an I/O error when it cannot grow its shared-memory file; otherwise
   * {@code "a disk I/O error in DIR (N bytes free)"}.
   */
  public static String ioError(Path directory) {
    try {
      if (usableBytes(directory) < NEARLY_FULL) {
        return full(directory);
      }
    } catch (IOException | RuntimeException e) {
      // No figure: say what is known.
    }
    return "a disk I/O error in " + directory + free(directory, " (", ")");
  }

  /**
   * Whether {@code e}, or an exception it was caused by, is the operating system's "no space left
   * on device" (ENOSPC) or "disk quota exceeded" (EDQUOT). Java reports both only as the text of
   * an {@link IOException}, so the text is what is checked.
   */
  public static boolean isFull(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
      String message = t.getMessage();
      if (t instanceof IOException && message != null
          && (message.contains("No space left on device") || message.contains("Disk quota exceeded"))) {
        return true;
      }
    }
    return false;
  }

  /** The usable bytes of the file system holding {@code directory} (or its nearest ancestor). */
  static long usableBytes(Path directory) throws IOException {
    Path existing = directory.toAbsolutePath();
    while (existing != null && !Files.exists(existing)) {
      existing = existing.getParent();
    }
    if (existing == null) {
      throw new IOException("no part of " + directory + " exists");
    }
    return Files.getFileStore(existing).getUsableSpace();
  }

  private static String free(Path directory, String before, String after) {
    try {
      return before + usableBytes(directory) + " bytes free" + after;
    } catch (IOException | RuntimeException e) {
      return ""; // the figure is a courtesy; the message stands without it
    }
  }
}
