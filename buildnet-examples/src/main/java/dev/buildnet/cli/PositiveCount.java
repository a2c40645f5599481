package dev.buildnet.cli;

import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/**
 * A whole number above 0 ({@code --placement-timeout}, {@code --heartbeat-timeout}, {@code
 * --memory-mb}): 0 or less is a usage error (exit code 2) naming the option, rather than a message
 * about a field of the library's builder.
 */
final class PositiveCount implements ITypeConverter<Long> {
  @Override
  public Long convert(String value) {
    long n = SlotCount.wholeNumber(value, "");
    if (n <= 0) {
      throw new TypeConversionException("'" + value + "': it must be more than 0");
    }
    return n;
  }
}
