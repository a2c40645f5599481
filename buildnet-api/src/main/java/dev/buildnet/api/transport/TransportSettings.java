package dev.buildnet.api.transport;

import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import javax.net.ssl.SSLContext;

/**
 * How a BuildNet peer talks to the others: the shared secret, TLS, heartbeats, the handshake
 * timeout and the frame limit. Build it once and hand the same value to the master ({@code
 * BuildNet.builder().transport(settings)}), its workers ({@code BuildNet.worker().transport(...)})
 * and clients ({@code RemoteClient.builder().transport(...)}), as one OkHttp client serves many
 * calls; the builders of those have no setters of their own for any of it.
 *
 * <p>Immutable and safe to share. The secret is copied in and out and never printed by {@link
 * #toString}. Only the {@link #secret} is required; what is unset takes the default of the side
 * that uses it (the master's heartbeat interval is 5 s and its timeout three intervals; the
 * handshake timeout 10 s; frames up to 16 MiB).
 *
 * @since 0.1
 */
public final class TransportSettings {
  /** The fewest bytes a shared secret may have. */
  public static final int MIN_SECRET_BYTES = 16;

  /** {@link #handshakeTimeout()} unless set. */
  public static final Duration DEFAULT_HANDSHAKE_TIMEOUT = Duration.ofSeconds(10);

  /** {@link #maxFrameBytes()} unless set: 16 MiB. */
  public static final int DEFAULT_MAX_FRAME_BYTES = 16 << 20;

  private final byte[] secret;
  private final SSLContext tls;
  private final Duration heartbeatInterval;
  private final Duration heartbeatTimeout;
  private final Duration handshakeTimeout;
  private final int maxFrameBytes;

  private TransportSettings(Builder b) {
    this.secret = b.secret;
    this.tls = b.tls;
    this.heartbeatInterval = b.heartbeatInterval;
    this.heartbeatTimeout = b.heartbeatTimeout;
    this.handshakeTimeout =
        b.handshakeTimeout != null ? b.handshakeTimeout : DEFAULT_HANDSHAKE_TIMEOUT;
    this.maxFrameBytes = b.maxFrameBytes != 0 ? b.maxFrameBytes : DEFAULT_MAX_FRAME_BYTES;
  }

  /** A builder; {@link Builder#secret} is required. */
  public static Builder builder() {
    return new Builder();
  }

  /** Settings with this secret and every default: plain TCP. */
  public static TransportSettings ofSecret(byte[] secret) {
    return builder().secret(secret).build();
  }

  /** The shared secret, a copy. */
  public byte[] secret() {
    return secret.clone();
  }

  /** The TLS context, if the peers speak TLS. */
  public Optional<SSLContext> tls() {
    return Optional.ofNullable(tls);
  }

  /** How often peers heartbeat (the master tells them in HELLO_ACK), if set. */
  public Optional<Duration> heartbeatInterval() {
    return Optional.ofNullable(heartbeatInterval);
  }

  /** How long the master waits without hearing from a worker before declaring it dead, if set. */
  public Optional<Duration> heartbeatTimeout() {
    return Optional.ofNullable(heartbeatTimeout);
  }

  /** How long a listener gives a new connection for its TLS and BuildNet handshakes. */
  public Duration handshakeTimeout() {
    return handshakeTimeout;
  }

  /** The largest frame body accepted or sent after the handshake. */
  public int maxFrameBytes() {
    return maxFrameBytes;
  }

  @Override
  public String toString() {
    return "TransportSettings{secret=(" + secret.length + " bytes), tls=" + (tls != null)
        + ", heartbeatInterval=" + heartbeatInterval + ", heartbeatTimeout=" + heartbeatTimeout
        + ", handshakeTimeout=" + handshakeTimeout + ", maxFrameBytes=" + maxFrameBytes + "}";
  }

  /**
   * Configures {@link TransportSettings}. Each setter may be called once and checks its argument
   * at once; {@link #build} checks that they fit together.
   */
  public static final class Builder {
    private byte[] secret;
    private SSLContext tls;
    private Duration heartbeatInterval;
    private Duration heartbeatTimeout;
    private Duration handshakeTimeout;
    private int maxFrameBytes;

    private Builder() {}

    /** The shared secret (at least 16 bytes); copied. Never sent over the wire. */
    public Builder secret(byte[] secret) {
      if (this.secret != null) {
        throw new IllegalStateException("secret was already set");
      }
      if (secret == null || secret.length < MIN_SECRET_BYTES) {
        throw new IllegalArgumentException(
            "the shared secret must be at least " + MIN_SECRET_BYTES + " bytes but was "
                + (secret == null ? "missing" : secret.length + " bytes"));
      }
      this.secret = secret.clone();
      return this;
    }

    /**
     * Speak TLS with this context: a master serves with its key managers, workers and clients
     * check the master's certificate (and host name) with its trust managers.
     */
    public Builder tls(SSLContext context) {
      if (this.tls != null) {
        throw new IllegalStateException("tls was already set");
      }
      this.tls = Objects.requireNonNull(context, "context");
      return this;
    }

    /** How often peers should heartbeat (the master tells them); 5 s by default. */
    public Builder heartbeatInterval(Duration interval) {
      if (this.heartbeatInterval != null) {
        throw new IllegalStateException("heartbeatInterval was already set to " + heartbeatInterval);
      }
      this.heartbeatInterval = positive("heartbeatInterval", interval);
      return this;
    }

    /**
     * A worker silent this long is declared dead and its attempts re-queued; three heartbeat
     * intervals by default (and the interval a third of this when only this is set).
     */
    public Builder heartbeatTimeout(Duration timeout) {
      if (this.heartbeatTimeout != null) {
        throw new IllegalStateException("heartbeatTimeout was already set to " + heartbeatTimeout);
      }
      this.heartbeatTimeout = positive("heartbeatTimeout", timeout);
      return this;
    }

    /** A listener closes a connection not through its handshakes within this; 10 s by default. */
    public Builder handshakeTimeout(Duration timeout) {
      if (this.handshakeTimeout != null) {
        throw new IllegalStateException("handshakeTimeout was already set to " + handshakeTimeout);
      }
      this.handshakeTimeout = positive("handshakeTimeout", timeout);
      return this;
    }

    /** Largest frame body accepted or sent after the handshake; 16 MiB by default, at least 1 KiB. */
    public Builder maxFrameBytes(int max) {
      if (this.maxFrameBytes != 0) {
        throw new IllegalStateException("maxFrameBytes was already set to " + maxFrameBytes);
      }
      if (max < 1024) {
        throw new IllegalArgumentException("maxFrameBytes must be at least 1024 but was " + max);
      }
      this.maxFrameBytes = max;
      return this;
    }

    /**
     * The settings.
     *
     * @throws IllegalStateException if the secret is missing, or the heartbeat timeout is not
     *     longer than the interval
     */
    public TransportSettings build() {
      if (secret == null) {
        throw new IllegalStateException("secret is required: BuildNet never runs unauthenticated");
      }
      if (heartbeatInterval != null && heartbeatTimeout != null
          && heartbeatTimeout.compareTo(heartbeatInterval) <= 0) {
        throw new IllegalStateException("heartbeatTimeout (" + heartbeatTimeout
            + ") must be longer than heartbeatInterval (" + heartbeatInterval + ")");
      }
      return new TransportSettings(this);
    }

    private static Duration positive(String name, Duration d) {
      Objects.requireNonNull(d, name);
      if (d.isNegative() || d.isZero()) {
        throw new IllegalArgumentException(name + " must be positive but was " + d);
      }
      return d;
    }
  }
}
