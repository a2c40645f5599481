package dev.buildnet;

import java.util.List;
import java.util.Objects;

/**
 * What a build of a target would do now, as {@link BuildNet#plan} predicts it without running
 * anything: a dry run's row.
 *
 * @param target the target
 * @param key the cache key it would have, or null if it cannot be computed (a declared input is
 *     missing, or a dependency's key cannot be computed)
 * @param wouldRun whether it would run (true) or be served from the cache (false)
 * @param reasons why it would run: each component that changed since its last recorded key, "no
 *     earlier build", "not cacheable", a missing input, ...; empty when it would be cached
 * @since 0.1
 */
public record PlannedTarget(String target, String key, boolean wouldRun, List<String> reasons) {
  public PlannedTarget {
    Objects.requireNonNull(target, "target");
    reasons = List.copyOf(reasons);
  }
}
