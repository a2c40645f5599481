package dev.buildnet.http;

import java.util.function.BooleanSupplier;

/** Waits for a condition, with a generous deadline that only bounds a failure. */
final class Poll {
  private Poll() {}

  static void until(BooleanSupplier condition, String what) throws InterruptedException {
    long deadline = System.nanoTime() + 60_000_000_000L;
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("gave up waiting (60 s) until " + what);
      }
      Thread.sleep(20);
    }
  }
}
