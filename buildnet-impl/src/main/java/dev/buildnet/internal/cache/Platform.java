package dev.buildnet.internal.cache;

import java.util.Locale;
import java.util.Objects;

/**
 * The operating system and CPU architecture a build runs on, normalized so the same machine type
 * gets the same name whatever the JVM calls it ({@code "Mac OS X"} and {@code "Darwin"} are both
 * {@code macos}; {@code amd64} and {@code x86_64} are both {@code x86_64}). Part of every cache
 * key, since most tools produce platform-specific output.
 *
 * @param os e.g. {@code linux}, {@code macos}, {@code windows}
 * @param arch e.g. {@code x86_64}, {@code aarch64}
 * @since 0.1
 */
public record Platform(String os, String arch) {
  public Platform {
    if (os == null || os.isBlank()) {
      throw new IllegalArgumentException("platform os must not be empty");
    }
    if (arch == null || arch.isBlank()) {
      throw new IllegalArgumentException("platform arch must not be empty");
    }
  }

  /** This JVM's platform, from {@code os.name} and {@code os.arch}. */
  public static Platform current() {
    return normalized(System.getProperty("os.name", "unknown"),
        System.getProperty("os.arch", "unknown"));
  }

  /** The normalized platform for JVM-style {@code os.name} and {@code os.arch} values. */
  public static Platform normalized(String osName, String osArch) {
    Objects.requireNonNull(osName, "osName");
    Objects.requireNonNull(osArch, "osArch");
    String os = osName.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9]", "");
    if (os.startsWith("windows")) {
      os = "windows";
    } else if (os.startsWith("mac") || os.startsWith("darwin") || os.startsWith("osx")) {
      os = "macos";
    } else if (os.startsWith("linux")) {
      os = "linux";
    }
    String arch = osArch.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9_]", "");
    arch = switch (arch) {
      case "amd64", "x8664", "x86_64", "x64" -> "x86_64";
      case "aarch64", "arm64" -> "aarch64";
      case "x86", "i386", "i486", "i586", "i686", "x8632" -> "x86";
      default -> arch;
    };
    return new Platform(os.isEmpty() ? "unknown" : os, arch.isEmpty() ? "unknown" : arch);
  }

  /** {@code os/arch}, e.g. {@code linux/x86_64}. */
  @Override
  public String toString() {
    return os + "/" + arch;
  }
}
