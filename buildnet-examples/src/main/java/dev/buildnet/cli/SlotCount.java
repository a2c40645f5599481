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
    int n;
    try {
      n = Integer.parseInt(value.strip());
    } catch (NumberFormatException e) {
      throw new TypeConversionException("'" + value + "' is not a whole number of slots");
    }
    if (n < 0) {
      throw new TypeConversionException("'" + value + "': a number of slots cannot be negative");
    }
    return n;
  }
}
