package dev.buildnet.internal.hash;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.LinkOption;
import java.nio.file.Path;

/**
 * For {@link NativeStatTest}, in a JVM started with other flags or another locale: prints whether
 * the native stat is on, the file-name encoding, and for every entry of the directory in {@code
 * args[0]} whether {@link FileStat#read} (both ways round links) equals {@link FileStat#readJdk};
 * then whether {@code args[1]} can be a path here at all.
 */
public final class NativeStatMain {
  private NativeStatMain() {}

  public static void main(String[] args) throws IOException {
    System.out.println("available=" + NativeStat.available());
    System.out.println("encoding=" + NativeStat.fileNameEncoding().name());
    try (DirectoryStream<Path> entries = Files.newDirectoryStream(Path.of(args[0]))) {
      for (Path p : entries) {
        FileStat read = FileStat.read(p);
        FileStat nofollow = FileStat.read(p, LinkOption.NOFOLLOW_LINKS);
        boolean same = read.equals(FileStat.readJdk(p))
            && nofollow.equals(FileStat.readJdk(p, LinkOption.NOFOLLOW_LINKS));
        System.out.println("entry size=" + read.size() + " same=" + same);
      }
    }
    try {
      Path named = Path.of(args[0], args[1]);
      System.out.println("path=" + FileStat.read(named).size());
    } catch (InvalidPathException e) {
      System.out.println("path=invalid");
    }
    System.out.println("done");
  }
}
