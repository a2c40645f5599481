package dev.buildnet.examples.cli;

/** Whether to draw a live progress bar: only on an interactive terminal, never in CI logs. */
final class Terminal {
  private Terminal() {}

  static boolean isLive() {
    return System.console() != null && System.getenv("CI") == null
        && !"dumb".equals(System.getenv("TERM"));
  }
}
