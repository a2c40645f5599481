package dev.buildnet.api.build;

import java.util.Locale;

/**
 * Where a build is: running, or how it ended. {@link #wireName()} is the spelling in the
 * protocol's EVENT {@code status}, the HTTP API's JSON and the dashboard.
 *
 * @since 0.3
 */
public enum BuildStatus {
  RUNNING,
  SUCCEEDED,
  FAILED,
  /** It stopped because it was cancelled (some target ended {@code cancelled}). */
  CANCELLED;

  /** {@code running}, {@code succeeded}, {@code failed} or {@code cancelled}. */
  public String wireName() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** The status spelled {@code name}, or null for an unknown spelling. */
  public static BuildStatus ofWireName(String name) {
    for (BuildStatus s : values()) {
      if (s.wireName().equals(name)) {
        return s;
      }
    }
    return null;
  }

  /** How the build that ended with {@code result} ended. */
  public static BuildStatus of(BuildResult result) {
    if (result.success()) {
      return SUCCEEDED;
    }
    boolean cancelled =
        result.targets().stream().anyMatch(t -> t.status() == TargetOutcome.Status.CANCELLED);
    return cancelled ? CANCELLED : FAILED;
  }
}
