package dev.buildnet.internal.protocol;

import dev.buildnet.api.build.BuildEvent;
import dev.buildnet.api.build.BuildStatus;
import dev.buildnet.api.build.TargetOutcome;
import dev.buildnet.api.exec.OutputListener;
import dev.buildnet.internal.protocol.Payloads.Event;
import java.time.Instant;
import java.util.List;
import java.util.Locale;

/**
 * The one mapping between {@link BuildEvent} and the protocol's EVENT payload, both ways. EVENT
 * carries the build kinds only, and of them what docs/PROTOCOL.md lists: no attempt or worker, no
 * target list, no outcome or result.
 */
public final class WireEvents {
  private WireEvents() {}

  /** {@code e} as EVENT {@code seq} of subscription {@code subscriptionId}; null for a kind EVENT does not carry. */
  public static Event toWire(String subscriptionId, long seq, BuildEvent e) {
    long at = e.at().toEpochMilli();
    String kind = e.kind().wireName();
    if (e instanceof BuildEvent.BuildStarted s) {
      return new Event(subscriptionId, seq, kind, s.buildId(), at, null, null, null, null);
    } else if (e instanceof BuildEvent.TargetStarted s) {
      return new Event(subscriptionId, seq, kind, s.buildId(), at, s.target(), null, null, null);
    } else if (e instanceof BuildEvent.TargetLog l) {
      return new Event(subscriptionId, seq, kind, l.buildId(), at, l.target(), null,
          l.stream().name().toLowerCase(Locale.ROOT), l.line());
    } else if (e instanceof BuildEvent.TargetFinished f) {
      return new Event(subscriptionId, seq, kind, f.buildId(), at, f.target(),
          f.status().wireName(), null, null);
    } else if (e instanceof BuildEvent.BuildFinished f) {
      return new Event(subscriptionId, seq, kind, f.buildId(), at, null, f.status().wireName(),
          null, null);
    }
    return null; // waiting and worker events: not EVENT kinds
  }

  /** The event EVENT {@code e} carries; null for a kind or status this version does not know. */
  public static BuildEvent fromWire(Event e) {
    Instant at = Instant.ofEpochMilli(e.at());
    BuildEvent.Kind kind = BuildEvent.Kind.ofWireName(e.kind());
    if (kind == null) {
      return null;
    }
    switch (kind) {
      case BUILD_STARTED:
        return new BuildEvent.BuildStarted(e.buildId(), at, List.of());
      case TARGET_STARTED:
        return e.target() == null ? null
            : new BuildEvent.TargetStarted(e.buildId(), at, e.target(), 0, null);
      case LOG:
        return e.target() == null ? null
            : new BuildEvent.TargetLog(e.buildId(), at, e.target(),
                "stderr".equals(e.stream()) ? OutputListener.Stream.STDERR
                    : OutputListener.Stream.STDOUT,
                e.line(), false);
      case TARGET_FINISHED: {
        TargetOutcome.Status status = TargetOutcome.Status.ofWireName(e.status());
        return e.target() == null || status == null ? null
            : new BuildEvent.TargetFinished(e.buildId(), at, e.target(), status, null);
      }
      case BUILD_FINISHED: {
        BuildStatus status = BuildStatus.ofWireName(e.status());
        return status == null || status == BuildStatus.RUNNING ? null
            : new BuildEvent.BuildFinished(e.buildId(), at, status, null);
      }
      default:
        return null;
    }
  }
}
