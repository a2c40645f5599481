package demo.text;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** Splits text into lowercase words. */
public final class Words {
  private Words() {}

  public static List<String> split(String text) {
    List<String> words = new ArrayList<>();
    for (String w : text.toLowerCase(Locale.ROOT).split("[^\\p{L}\\p{N}']+")) {
      if (!w.isEmpty()) {
        words.add(w);
      }
    }
    return words;
  }
}
