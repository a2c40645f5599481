package dev.buildnet.cli;

import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/**
 * A count of CPU slots ({@code -j}, {@code --local-slots}): 0 or more. A negative count is a usage
 * error (exit code 2) rather than quietly meaning "the default".
 */
final class SlotCount implements ITypeConverter<Integer> {
  @Override
  public Integer convert(String value) {
    long n = wholeNumber(value, " of slots");
    if (n > Integer.MAX_VALUE) {
      throw new TypeConversionException("'" + value + "' is not a whole number of slots");
    }
    if (n < 0) {
      throw new TypeConversionException("'" + value + "': a number of slots cannot be negative");
    }
    return (int) n;
  }

  /** {@code value} as a whole number, or a usage error: "'VALUE' is not a whole number" + noun. */
  static long wholeNumber(String value, String noun) {
    try {
      return Long.parseLong(value.strip());
    } catch (NumberFormatException e) {
      throw new TypeConversionException("'" + value + "' is not a whole number" + noun);
    }
  }
}
