package demo.stats;

import demo.text.Sentences;
import demo.text.Words;

/** Average words per sentence: a crude readability score. */
public final class Readability {
  private Readability() {}

  public static double wordsPerSentence(String text) {
    int sentences = Math.max(1, Sentences.split(text).size());
    return (double) Words.split(text).size() / sentences;
  }
}
