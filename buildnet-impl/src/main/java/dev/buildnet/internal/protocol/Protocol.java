package dev.buildnet.internal.protocol;

/**
 * Protocol constants ({@code docs/PROTOCOL.md}, "Versioning").
 *
 * @since 0.1
 */
public final class Protocol {
  /** The major version this code speaks; carried in every envelope. Peers of another major are refused. */
  public static final int MAJOR = 1;

  /** The minor version this code speaks; exchanged in HELLO and HELLO_ACK. */
  public static final int MINOR = 3;

  /** This implementation's {@code runtime} envelope field. */
  public static final String RUNTIME = "jvm";

  private Protocol() {}
}
