package demo.stats;

import demo.text.Words;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** Counts word frequencies. */
public final class Frequencies {
  private Frequencies() {}

  public static List<Map.Entry<String, Integer>> top(String text, int n) {
    Map<String, Integer> counts = new HashMap<>();
    for (String w : Words.split(text)) {
      counts.merge(w, 1, Integer::sum);
    }
    List<Map.Entry<String, Integer>> entries = new ArrayList<>(counts.entrySet());
    entries.sort(Map.Entry.<String, Integer>comparingByValue(Comparator.reverseOrder())
        .thenComparing(Map.Entry.comparingByKey()));
    return entries.subList(0, Math.min(n, entries.size()));
  }
}
