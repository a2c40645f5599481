package dev.buildnet.internal.peers;

import dev.buildnet.api.build.BuildEvent;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What other masters are building, as far as their {@link PeerEvents} tell: per peer, its recent
 * builds newest first, each with its status and its targets' statuses. Fed by
 * {@link #record(PeerEvents.Event)}, e.g. {@code PeerEvents.subscribe(redis, "me", peers::record)};
 * {@code BuildNet.Builder.peerEvents(name)} wires one up and exposes it as {@code BuildNet.peers()}.
 *
 * <p>Bounded: each peer keeps its newest {@code maxBuildsPerPeer} builds, and a peer that sent
 * nothing for {@code forgetAfter} (on this side's clock) is dropped, as are the least recently
 * heard from beyond {@value #MAX_PEERS} peers. Events are at-most-once, so a build whose end was
 * lost stays {@code running} until it falls out; one heard of mid-way shows the targets seen since.
 *
 * <p>Thread-safe. {@link #record} is quick and never blocks on I/O; it calls the
 * {@link #subscribe live listeners} on the caller's thread after updating the view.
 *
 * @since 0.1
 */
public final class PeerBuilds {
  /** At most this many peers are kept (the least recently heard from are dropped). */
  public static final int MAX_PEERS = 64;
  private static final Logger LOG = LoggerFactory.getLogger(PeerBuilds.class);

  private final Clock clock;
  private final int maxBuildsPerPeer;
  private final Duration forgetAfter;
  private final Object lock = new Object();
  private final Map<String, PeerState> peers = new HashMap<>();
  private final List<Consumer<PeerEvents.Event>> listeners = new CopyOnWriteArrayList<>();

  /**
   * @param clock when events are received (for {@link Peer#lastSeen()} and forgetting peers)
   * @param maxBuildsPerPeer builds kept per peer, at least 1
   * @param forgetAfter how long a silent peer is kept
   */
  public PeerBuilds(Clock clock, int maxBuildsPerPeer, Duration forgetAfter) {
    this.clock = Objects.requireNonNull(clock, "clock");
    if (maxBuildsPerPeer < 1) {
      throw new IllegalArgumentException(
          "maxBuildsPerPeer must be at least 1 but was " + maxBuildsPerPeer);
    }
    Objects.requireNonNull(forgetAfter, "forgetAfter");
    if (forgetAfter.isNegative() || forgetAfter.isZero()) {
      throw new IllegalArgumentException("forgetAfter must be positive but was " + forgetAfter);
    }
    this.maxBuildsPerPeer = maxBuildsPerPeer;
    this.forgetAfter = forgetAfter;
  }

  /**
   * One peer master.
   *
   * @param master its name
   * @param lastSeen when its latest event arrived here
   * @param builds its recent builds, newest first
   */
  public record Peer(String master, Instant lastSeen, List<Build> builds) {
    public Peer {
      builds = List.copyOf(builds);
    }
  }

  /**
   * A peer's build.
   *
   * @param id the build id on the peer
   * @param status {@code running}, {@code succeeded}, {@code failed} or {@code cancelled}
   * @param startedAt when it started, on the peer's clock
   * @param finishedAt when it ended, on the peer's clock; null while running
   * @param targets each target's status, in the order the peer named them: {@code pending},
   *     {@code running} or a final one ({@code built}, {@code cached}, {@code failed},
   *     {@code skipped}, {@code cancelled})
   */
  public record Build(String id, String status, Instant startedAt, Instant finishedAt,
      Map<String, String> targets) {
    public Build {
      targets = Collections.unmodifiableMap(new LinkedHashMap<>(targets));
    }

    /** Targets that reached a final status. */
    public int completed() {
      return (int) targets.values().stream()
          .filter(s -> !s.equals("pending") && !s.equals("running")).count();
    }
  }

  /** A live listener's registration; {@link #close()} is idempotent and never fails. */
  public interface Subscription extends AutoCloseable {
    @Override
    void close();
  }

  private static final class PeerState {
    Instant lastSeen;
    /** Newest first. */
    final Deque<BuildState> builds = new ArrayDeque<>();
  }

  private static final class BuildState {
    final String id;
    final Instant startedAt;
    final Map<String, String> targets = new LinkedHashMap<>();
    String status = "running";
    Instant finishedAt;

    BuildState(String id, Instant startedAt) {
      this.id = id;
      this.startedAt = startedAt;
    }

    Build snapshot() {
      return new Build(id, status, startedAt, finishedAt, targets);
    }
  }

  /** Takes in one peer event; calls the live listeners after. */
  public void record(PeerEvents.Event e) {
    Objects.requireNonNull(e, "event");
    if (e.event().buildId() == null) {
      return; // not about a build
    }
    Instant now = clock.instant();
    Instant at = e.event().at();
    synchronized (lock) {
      forgetStale(now);
      PeerState peer = peers.computeIfAbsent(e.master(), m -> new PeerState());
      peer.lastSeen = now;
      BuildState b = find(peer, e.event().buildId());
      if (b == null) {
        b = new BuildState(e.event().buildId(), at);
        peer.builds.addFirst(b);
        while (peer.builds.size() > maxBuildsPerPeer) {
          peer.builds.removeLast();
        }
      }
      apply(b, e, at);
      if (peers.size() > MAX_PEERS) {
        peers.entrySet().stream().min(Comparator.comparing(p -> p.getValue().lastSeen))
            .ifPresent(oldest -> peers.remove(oldest.getKey()));
      }
    }
    for (Consumer<PeerEvents.Event> l : listeners) {
      try {
        l.accept(e);
      } catch (RuntimeException ex) {
        LOG.warn("a peer event listener failed", ex);
      }
    }
  }

  private static BuildState find(PeerState peer, String buildId) {
    for (BuildState b : peer.builds) {
      if (b.id.equals(buildId)) {
        return b;
      }
    }
    return null;
  }

  private static void apply(BuildState b, PeerEvents.Event pe, Instant at) {
    BuildEvent e = pe.event();
    if (e instanceof BuildEvent.BuildStarted s) {
      s.targets().forEach(t -> b.targets.putIfAbsent(t, "pending"));
    } else if (e instanceof BuildEvent.TargetStarted s) {
      b.targets.put(s.target(), "running");
    } else if (e instanceof BuildEvent.TargetFinished f) {
      b.targets.put(f.target(), f.status().wireName());
    } else if (e instanceof BuildEvent.BuildFinished f) {
      b.finishedAt = at;
      b.status = f.status().wireName();
    }
  }

  private void forgetStale(Instant now) {
    Instant cutoff = now.minus(forgetAfter);
    peers.values().removeIf(p -> p.lastSeen.isBefore(cutoff));
  }

  /** Every peer heard from recently, by name. */
  public List<Peer> peers() {
    synchronized (lock) {
      forgetStale(clock.instant());
      List<Peer> out = new ArrayList<>(peers.size());
      peers.forEach((name, p) -> out.add(snapshot(name, p)));
      out.sort(Comparator.comparing(Peer::master));
      return out;
    }
  }

  /** One peer, if heard from recently. */
  public Optional<Peer> peer(String master) {
    synchronized (lock) {
      forgetStale(clock.instant());
      PeerState p = peers.get(master);
      return p == null ? Optional.empty() : Optional.of(snapshot(master, p));
    }
  }

  private static Peer snapshot(String name, PeerState p) {
    List<Build> builds = new ArrayList<>(p.builds.size());
    p.builds.forEach(b -> builds.add(b.snapshot()));
    return new Peer(name, p.lastSeen, builds);
  }

  /**
   * Calls {@code listener} with every later event, after the view took it in, on the thread that
   * delivered it (keep it quick). Closing the returned handle stops it.
   */
  public Subscription subscribe(Consumer<PeerEvents.Event> listener) {
    Objects.requireNonNull(listener, "listener");
    listeners.add(listener);
    return () -> listeners.remove(listener);
  }
}
