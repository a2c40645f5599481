package dev.buildnet.internal.events;

import dev.buildnet.api.build.BuildEvent;
import dev.buildnet.api.exec.OutputListener;

/** For tests that describe events as text: a field of any event, or null where its kind has none. */
public final class EventFields {
  private EventFields() {}

  public static String target(BuildEvent e) {
    if (e instanceof BuildEvent.TargetStarted s) {
      return s.target();
    } else if (e instanceof BuildEvent.TargetWaiting w) {
      return w.target();
    } else if (e instanceof BuildEvent.TargetLog l) {
      return l.target();
    } else if (e instanceof BuildEvent.TargetFinished f) {
      return f.target();
    }
    return null;
  }

  /** The status's wire name. */
  public static String status(BuildEvent e) {
    if (e instanceof BuildEvent.TargetFinished f) {
      return f.status().wireName();
    } else if (e instanceof BuildEvent.BuildFinished f) {
      return f.status().wireName();
    }
    return null;
  }

  public static String line(BuildEvent e) {
    return e instanceof BuildEvent.TargetLog l ? l.line() : null;
  }

  public static OutputListener.Stream stream(BuildEvent e) {
    return e instanceof BuildEvent.TargetLog l ? l.stream() : null;
  }

  public static String worker(BuildEvent e) {
    if (e instanceof BuildEvent.TargetStarted s) {
      return s.worker();
    } else if (e instanceof BuildEvent.WorkerJoined w) {
      return w.worker();
    } else if (e instanceof BuildEvent.WorkerLeft w) {
      return w.worker();
    }
    return null;
  }
}
