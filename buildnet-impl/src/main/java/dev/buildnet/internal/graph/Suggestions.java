package dev.buildnet.internal.graph;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;

/** "Did you mean ...?" for mistyped target names. */
public final class Suggestions {
  private static final int MAX = 3;

  private Suggestions() {}

  /** Up to three names close to {@code wanted}, closest first; empty if none is close. */
  static List<String> closeTo(String wanted, Collection<String> names) {
    int limit = Math.max(1, wanted.length() / 3);
    record Match(String name, int distance) {}
    List<Match> matches = new ArrayList<>();
    String lower = wanted.toLowerCase(java.util.Locale.ROOT);
    for (String name : names) {
      if (Math.abs(name.length() - wanted.length()) > limit
          && !name.toLowerCase(java.util.Locale.ROOT).contains(lower)) {
        continue;
      }
      int distance = distance(lower, name.toLowerCase(java.util.Locale.ROOT));
      if (distance <= limit || name.toLowerCase(java.util.Locale.ROOT).contains(lower)) {
        matches.add(new Match(name, distance));
      }
    }
    matches.sort(Comparator.comparingInt(Match::distance).thenComparing(Match::name));
    List<String> result = new ArrayList<>();
    for (int i = 0; i < Math.min(MAX, matches.size()); i++) {
      result.add(matches.get(i).name());
    }
    return result;
  }

  /** " (did you mean 'a' or 'b'?)", or "" when nothing is close. */
  public static String hint(String wanted, Collection<String> names) {
    List<String> close = closeTo(wanted, names);
    if (close.isEmpty()) {
      return "";
    }
    List<String> quoted = close.stream().map(n -> "'" + n + "'").toList();
    return " (did you mean " + String.join(" or ", quoted) + "?)";
  }

  private static int distance(String a, String b) {
    int[] previous = new int[b.length() + 1];
    int[] current = new int[b.length() + 1];
    for (int j = 0; j <= b.length(); j++) {
      previous[j] = j;
    }
    for (int i = 1; i <= a.length(); i++) {
      current[0] = i;
      for (int j = 1; j <= b.length(); j++) {
        int substitution = previous[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1);
        current[j] = Math.min(substitution, Math.min(previous[j], current[j - 1]) + 1);
      }
      int[] swap = previous;
      previous = current;
      current = swap;
    }
    return previous[b.length()];
  }
}
