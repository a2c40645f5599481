package demo.text;

import java.util.ArrayList;
import java.util.List;

/** Splits text into sentences at '.', '!' and '?'. */
public final class Sentences {
  private Sentences() {}

  public static List<String> split(String text) {
    List<String> out = new ArrayList<>();
    for (String s : text.split("(?<=[.!?])\\s+")) {
      if (!s.isBlank()) {
        out.add(s.strip());
      }
    }
    return out;
  }
}
