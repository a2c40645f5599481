package dev.buildnet.internal.protocol;

/**
 * The bound on the text of an ERROR's {@code message} (docs/PROTOCOL.md, "Bad frames"): error
 * texts quote what the peer sent (a target name, a digest, a key), and a request of several MiB
 * must not come back as an ERROR of twice its size, which could exceed the peer's frame limit,
 * so that the request went unanswered, and would fill the log line that records it.
 */
public final class ErrorText {
  /** The most characters an ERROR message has, its note of the cut included. */
  public static final int MAX_CHARS = 1024;

  private ErrorText() {}

  /**
   * {@code message} if it has at most {@link #MAX_CHARS} characters; otherwise its head, never
   * ending in half a surrogate pair (the encoder refuses those), and how long it was.
   */
  public static String bounded(String message) {
    if (message == null || message.length() <= MAX_CHARS) {
      return message;
    }
    String note = "…(cut: " + message.length() + " characters)";
    int end = MAX_CHARS - note.length();
    if (Character.isHighSurrogate(message.charAt(end - 1))) {
      end--;
    }
    return message.substring(0, end) + note;
  }
}
