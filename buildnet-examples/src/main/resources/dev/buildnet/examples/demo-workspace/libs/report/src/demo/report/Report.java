package demo.report;

import demo.stats.Frequencies;
import demo.stats.Readability;
import java.util.Map;

/** Renders a short text report. */
public final class Report {
  private Report() {}

  public static String render(String title, String text) {
    StringBuilder sb = new StringBuilder();
    sb.append("# ").append(title).append('\n');
    sb.append(String.format("words per sentence: %.1f%n", Readability.wordsPerSentence(text)));
    for (Map.Entry<String, Integer> e : Frequencies.top(text, 5)) {
      sb.append(String.format("%-12s %d%n", e.getKey(), e.getValue()));
    }
    return sb.toString();
  }
}
