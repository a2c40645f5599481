package dev.buildnet.api.exec;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * What to run: an argv list (never a shell string), its working directory, its exact environment,
 * and its limits.
 *
 * <p>The child sees <em>only</em> {@code environment}: nothing is inherited from the host, so a
 * command's behaviour, and so its cache key, depends only on what is listed. The one exception is
 * a provider's own bookkeeping: the default provider adds a random {@code BUILDNET_TARGET_TOKEN} on
 * Linux, by which it finds the command's detached processes. {@code argv[0]} is looked up on the
 * host's {@code PATH} if it has no slash.
 *
 * @param argv program and arguments, passed to the OS as they are (no splitting, no globbing)
 * @param workingDirectory an existing directory
 * @param environment the complete environment of the child
 * @param timeout how long it may run before its process tree is killed; null for no limit
 * @param gracePeriod after a timeout or cancel, how long it gets to exit after a polite signal
 *     before it and its descendants are killed by force
 * @param outputCapBytes how many bytes of stdout, and separately of stderr, are kept in the
 *     {@link CommandResult}: past the cap, its first and its last half, with a line {@code
 *     [buildnet: N bytes omitted]} between them; every line is still streamed to listeners
 * @since 0.1
 */
public record CommandSpec(
    List<String> argv,
    Path workingDirectory,
    Map<String, String> environment,
    Duration timeout,
    Duration gracePeriod,
    int outputCapBytes) {

  public static final int DEFAULT_OUTPUT_CAP_BYTES = 4 * 1024 * 1024;
  public static final Duration DEFAULT_GRACE_PERIOD = Duration.ofSeconds(5);

  public CommandSpec {
    Objects.requireNonNull(argv, "argv");
    Objects.requireNonNull(workingDirectory, "workingDirectory");
    Objects.requireNonNull(environment, "environment");
    Objects.requireNonNull(gracePeriod, "gracePeriod");
    argv = List.copyOf(argv);
    environment = Map.copyOf(environment);
    if (argv.isEmpty() || argv.get(0).isEmpty()) {
      throw new IllegalArgumentException("argv must name a program but was " + argv);
    }
    if (timeout != null && (timeout.isNegative() || timeout.isZero())) {
      throw new IllegalArgumentException("timeout must be positive but was " + timeout);
    }
    if (gracePeriod.isNegative()) {
      throw new IllegalArgumentException("gracePeriod must not be negative but was " + gracePeriod);
    }
    if (outputCapBytes < 0) {
      throw new IllegalArgumentException("outputCapBytes must not be negative: " + outputCapBytes);
    }
  }

  /** A spec with no timeout, the default grace period and output cap. */
  public static CommandSpec of(List<String> argv, Path workingDirectory, Map<String, String> env) {
    return new CommandSpec(
        argv, workingDirectory, env, null, DEFAULT_GRACE_PERIOD, DEFAULT_OUTPUT_CAP_BYTES);
  }

  public CommandSpec withTimeout(Duration newTimeout) {
    return new CommandSpec(
        argv, workingDirectory, environment, newTimeout, gracePeriod, outputCapBytes);
  }

  public CommandSpec withGracePeriod(Duration newGracePeriod) {
    return new CommandSpec(
        argv, workingDirectory, environment, timeout, newGracePeriod, outputCapBytes);
  }

  public CommandSpec withOutputCap(int newCapBytes) {
    return new CommandSpec(argv, workingDirectory, environment, timeout, gracePeriod, newCapBytes);
  }
}
