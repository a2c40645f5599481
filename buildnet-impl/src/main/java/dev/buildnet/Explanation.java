package dev.buildnet;

import java.util.List;
import java.util.Objects;

/**
 * Why the last build of a target was, or was not, served from the cache.
 *
 * @param target the target
 * @param key its cache key in the last build
 * @param previousKey its key in the build before that, or null if there was none
 * @param cached whether the last build was a cache hit
 * @param reasons for a miss: each component that changed since the previous key (input, env
 *     variable, dependency's outputs, command argument, ...), or why an unchanged key still
 *     missed; for a hit, the dependencies that re-ran in that build with unchanged outputs (early
 *     cutoff: "dependency X re-ran but its outputs are unchanged"), else nothing
 * @since 0.1
 */
public record Explanation(
    String target, String key, String previousKey, boolean cached, List<String> reasons) {
  public Explanation {
    Objects.requireNonNull(target, "target");
    Objects.requireNonNull(key, "key");
    reasons = List.copyOf(reasons);
  }

  @Override
  public String toString() {
    StringBuilder sb = new StringBuilder(target);
    sb.append(cached ? ": cache hit (key " : ": cache miss (key ").append(key).append(')');
    for (String r : reasons) {
      sb.append("\n  - ").append(r);
    }
    return sb.toString();
  }
}
