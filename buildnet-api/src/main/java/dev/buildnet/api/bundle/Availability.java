package dev.buildnet.api.bundle;

import java.util.Objects;

/**
 * Whether a {@link BundlerAdapter} can run on this machine, and if not, why not (e.g. "esbuild not
 * found in node_modules/.bin or on PATH (/usr/bin:/bin)").
 *
 * @since 0.1
 */
public record Availability(boolean available, String reason) {
  public Availability {
    Objects.requireNonNull(reason, "reason");
  }

  public static Availability available(String detail) {
    return new Availability(true, detail);
  }

  public static Availability unavailable(String reason) {
    return new Availability(false, reason);
  }
}
