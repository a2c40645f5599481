package dev.buildnet.cli;

import java.util.Locale;
import picocli.CommandLine.ITypeConverter;

/**
 * Sizes as people write them: {@code 10G}, {@code 500M}, {@code 64k}, {@code 1.5GiB}, {@code
 * 1048576}. Binary multiples (K = 1024), as du and Gradle's JVM flags use them.
 */
final class ByteSize implements ITypeConverter<Long> {
  @Override
  public Long convert(String value) {
    try {
      return parse(value);
    } catch (IllegalArgumentException e) {
      throw new picocli.CommandLine.TypeConversionException(e.getMessage());
    }
  }

  static long parse(String value) {
    String s = value.strip().toUpperCase(Locale.ROOT);
    if (s.endsWith("IB")) {
      s = s.substring(0, s.length() - 2);
    } else if (s.endsWith("B")) {
      s = s.substring(0, s.length() - 1);
    }
    int shift = 0;
    if (!s.isEmpty()) {
      switch (s.charAt(s.length() - 1)) {
        case 'K' -> shift = 10;
        case 'M' -> shift = 20;
        case 'G' -> shift = 30;
        case 'T' -> shift = 40;
        default -> shift = 0;
      }
    }
    if (shift > 0) {
      s = s.substring(0, s.length() - 1).strip();
    }
    double n;
    try {
      if (s.isEmpty() || !s.matches("-?[0-9]+(\\.[0-9]+)?")) {
        throw new NumberFormatException();
      }
      n = Double.parseDouble(s);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(
          "'" + value + "' is not a size: write bytes or a number with K, M, G or T, e.g. 10G");
    }
    if (n < 0) {
      throw new IllegalArgumentException("'" + value + "': a size cannot be negative");
    }
    double bytes = n * (1L << shift);
    if (bytes >= Long.MAX_VALUE) {
      throw new IllegalArgumentException("'" + value + "' is too large");
    }
    return (long) bytes;
  }

  /** 1536 -> "1.5 KiB". */
  static String format(long bytes) {
    if (bytes < 1024) {
      return bytes + " B";
    }
    String[] units = {"KiB", "MiB", "GiB", "TiB"};
    double v = bytes;
    int u = -1;
    while (v >= 1024 && u < units.length - 1) {
      v /= 1024;
      u++;
    }
    return String.format(Locale.ROOT, "%.1f %s", v, units[u]);
  }
}
