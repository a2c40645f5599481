package dev.buildnet.internal.transport;

import java.net.InetAddress;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A listener's caps on the connections it takes (docs/PROTOCOL.md, "Caps on unauthenticated
 * connections"): at most {@code maxUnauthenticated} connections still in their handshake, the
 * oldest of them making room at the cap, so a peer that authenticates promptly always gets in;
 * at most {@code maxUnauthenticatedPerAddress} of them per remote address; at most {@code
 * maxConnectionsPerAddress} in all per remote address. Shared by the TCP transport and the
 * session layer over a host's transport, which each say BUSY to the refused and evicted. A
 * connection with no known address counts only against the first cap. Thread-safe.
 *
 * @param <C> the listener's connection type
 */
final class Admission<C> {
  /**
   * What {@link #admit} decided: {@code refusal} is why {@code c} was refused (null if admitted);
   * {@code evicted}, if not null, is the oldest unauthenticated connection, no longer counted as
   * such, which the caller closes with {@code evictionReason}.
   */
  record Decision<C>(String refusal, C evicted, String evictionReason) {}

  private final int maxUnauthenticated;
  private final int maxUnauthenticatedPerAddress;
  private final int maxConnectionsPerAddress;
  // Per address: {connections, unauthenticated ones}. The admitted connections with their
  // address, and the unauthenticated ones oldest first.
  private final Map<InetAddress, int[]> perAddress = new HashMap<>();
  private final Map<C, InetAddress> admitted = new HashMap<>();
  private final Map<C, InetAddress> unauthenticated = new LinkedHashMap<>();

  Admission(int maxUnauthenticated, int maxUnauthenticatedPerAddress,
      int maxConnectionsPerAddress) {
    this.maxUnauthenticated = maxUnauthenticated;
    this.maxUnauthenticatedPerAddress = maxUnauthenticatedPerAddress;
    this.maxConnectionsPerAddress = maxConnectionsPerAddress;
  }

  /** Counts {@code c} (from {@code address}, null if unknown) as unauthenticated, or refuses it. */
  synchronized Decision<C> admit(C c, InetAddress address) {
    int[] n = address == null ? new int[2] : perAddress.getOrDefault(address, new int[2]);
    if (n[0] >= maxConnectionsPerAddress) {
      return new Decision<>("too many connections from " + address.getHostAddress()
          + ": the limit is " + maxConnectionsPerAddress, null, null);
    }
    if (n[1] >= maxUnauthenticatedPerAddress) {
      return new Decision<>("too many unauthenticated connections from "
          + address.getHostAddress() + ": the limit is " + maxUnauthenticatedPerAddress
          + " per address", null, null);
    }
    C evicted = null;
    if (unauthenticated.size() >= maxUnauthenticated) {
      evicted = unauthenticated.keySet().iterator().next();
      authenticated(evicted);
    }
    admitted.put(c, address);
    unauthenticated.put(c, address);
    count(address, 1, 1);
    return new Decision<>(null, evicted, evicted == null ? null
        : "closing the oldest unauthenticated connection: " + maxUnauthenticated
            + " connections are waiting for their handshake, the limit");
  }

  /** {@code c} completed its handshake: it no longer counts as unauthenticated. Idempotent. */
  synchronized void authenticated(C c) {
    if (unauthenticated.containsKey(c)) {
      count(unauthenticated.remove(c), 0, -1);
    }
  }

  /** {@code c} closed: it no longer counts at all. Idempotent. */
  synchronized void released(C c) {
    authenticated(c);
    if (admitted.containsKey(c)) {
      count(admitted.remove(c), -1, 0);
    }
  }

  /** How many connections are waiting for their handshake. */
  synchronized int unauthenticatedCount() {
    return unauthenticated.size();
  }

  private void count(InetAddress a, int connections, int unauthenticatedOnes) {
    if (a == null) {
      return;
    }
    int[] n = perAddress.computeIfAbsent(a, k -> new int[2]);
    n[0] += connections;
    n[1] += unauthenticatedOnes;
    if (n[0] <= 0) {
      perAddress.remove(a);
    }
  }
}
