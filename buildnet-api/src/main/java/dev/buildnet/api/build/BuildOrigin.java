package dev.buildnet.api.build;

import java.util.Locale;
import java.util.Objects;

/**
 * Who or what submitted a build, as the history, the HTTP API and the dashboard show it. BuildNet
 * fills it in itself: a host never has to pass one (its builds are {@link #api()} unless it
 * chooses a default with {@code BuildNet.Builder.origin}).
 *
 * @param kind how the build arrived
 * @param name for {@link Kind#CLI} the user who ran the command line; for {@link Kind#CLIENT} the
 *     client id it sent in its handshake; for {@link Kind#HTTP} the name of the token it used
 *     (tokens have no names yet, so null); otherwise null
 * @param address for {@link Kind#CLIENT} and {@link Kind#HTTP} the remote address ({@code
 *     host:port}); otherwise null
 * @since 0.3
 */
public record BuildOrigin(Kind kind, String name, String address) {

  /** How a build arrived. */
  public enum Kind {
    /** Through the embedding API, in-process. */
    API,
    /** Through the {@code buildnet} command line on this machine. */
    CLI,
    /** From a remote client over the protocol (BUILD_REQUEST). */
    CLIENT,
    /** Through the HTTP API ({@code POST /api/builds}). */
    HTTP;

    /** {@code api}, {@code cli}, {@code client} or {@code http}: the spelling in JSON. */
    public String wireName() {
      return name().toLowerCase(Locale.ROOT);
    }

    /** The kind spelled {@code name}, or null for an unknown spelling. */
    public static Kind ofWireName(String name) {
      for (Kind k : values()) {
        if (k.wireName().equals(name)) {
          return k;
        }
      }
      return null;
    }
  }

  private static final BuildOrigin API = new BuildOrigin(Kind.API, null, null);

  public BuildOrigin {
    Objects.requireNonNull(kind, "kind");
  }

  /** Submitted in-process through the embedding API. */
  public static BuildOrigin api() {
    return API;
  }

  /** Submitted through the command line by {@code user} (null if not known). */
  public static BuildOrigin cli(String user) {
    return new BuildOrigin(Kind.CLI, user, null);
  }

  /** Submitted by the remote client {@code clientId} connected from {@code address}. */
  public static BuildOrigin client(String clientId, String address) {
    return new BuildOrigin(Kind.CLIENT, clientId, address);
  }

  /** Submitted through the HTTP API from {@code address}, with the token named {@code tokenName} (or null). */
  public static BuildOrigin http(String tokenName, String address) {
    return new BuildOrigin(Kind.HTTP, tokenName, address);
  }

  /**
   * For people, e.g. {@code api}, {@code cli alice}, {@code client ci-7 at 10.0.0.5:40412}, {@code
   * http 127.0.0.1:53210}.
   */
  @Override
  public String toString() {
    StringBuilder s = new StringBuilder(kind.wireName());
    if (name != null) {
      s.append(' ').append(name);
    }
    if (address != null) {
      s.append(kind == Kind.CLIENT && name != null ? " at " : " ").append(address);
    }
    return s.toString();
  }
}
