package dev.buildnet.internal.state;

import dev.buildnet.api.state.Lock;
import java.time.Instant;

/**
 * The text of a {@link dev.buildnet.api.state.StateException} with reason {@code LOCK_NOT_HELD},
 * the same for every backend.
 */
public final class LockMessages {
  private LockMessages() {}

  /**
   * Why {@code presented} is not the live lease, given the {@code current} lease row (null if
   * there is none) as the backend saw it at {@code nowMillis}.
   */
  public static String notHeld(String backend, Lock presented, Lock current, long nowMillis) {
    StringBuilder message = new StringBuilder(160)
        .append(backend)
        .append(": lock on '").append(presented.resource())
        .append("' held by '").append(presented.owner())
        .append("' with fencing token ").append(presented.fencingToken())
        .append(" is no longer held: ");
    if (current == null) {
      message.append("it was released, or expired and was cleaned up");
    } else if (current.fencingToken() == presented.fencingToken()
        && current.owner().equals(presented.owner())) {
      message.append("it expired at ").append(current.expiresAt())
          .append(" (now ").append(Instant.ofEpochMilli(nowMillis)).append(')');
    } else if (current.expiresAt().toEpochMilli() > nowMillis) {
      message.append("it is now held by '").append(current.owner())
          .append("' with fencing token ").append(current.fencingToken());
    } else {
      message.append("it was granted to '").append(current.owner())
          .append("' with fencing token ").append(current.fencingToken())
          .append(", whose lease has expired too");
    }
    return message.toString();
  }
}
