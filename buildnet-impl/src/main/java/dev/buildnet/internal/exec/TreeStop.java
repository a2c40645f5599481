package dev.buildnet.internal.exec;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Stops a {@link ProcessTree}: the polite signal to every member, then, once the grace period is
 * over, SIGKILL to whatever remains, repeated with a fresh look for new members until none is
 * left. Runs on the provider's scheduler thread, a short step at a time.
 */
final class TreeStop {
  private static final Logger LOG = LoggerFactory.getLogger(TreeStop.class);
  private static final long POLITE_POLL_NANOS = TimeUnit.MILLISECONDS.toNanos(20);
  private static final long FORCE_POLL_NANOS = TimeUnit.MILLISECONDS.toNanos(10);
  // Only a process stuck in uninterruptible I/O survives SIGKILL this long; waiting longer
  // would hold the command's result hostage to it.
  private static final long GIVE_UP_NANOS = TimeUnit.SECONDS.toNanos(10);

  private final ProcessTree tree;
  private final ScheduledExecutorService scheduler;
  private final String description;
  private final boolean scanPipes;
  private final CompletableFuture<Void> done = new CompletableFuture<>();
  private boolean forcing;
  private long forceAt;
  private long giveUpAt;

  private TreeStop(
      ProcessTree tree, ScheduledExecutorService scheduler, String description, boolean scanPipes) {
    this.tree = tree;
    this.scheduler = scheduler;
    this.description = description;
    this.scanPipes = scanPipes;
  }

  /**
   * Starts stopping {@code tree}; the future completes when no member is alive. Call on the
   * scheduler thread.
   *
   * @param scanPipes also look for processes holding the command's pipes (a scan of every
   *     process), at the start and again before the forced kill
   */
  static CompletableFuture<Void> begin(
      ProcessTree tree,
      Duration grace,
      ScheduledExecutorService scheduler,
      String description,
      boolean scanPipes) {
    TreeStop stop = new TreeStop(tree, scheduler, description, scanPipes);
    stop.start(grace.toNanos());
    return stop.done;
  }

  private void start(long graceNanos) {
    tree.refresh(scanPipes);
    boolean lookAgain = tree.adoptsMore();
    if (tree.allGone() && !lookAgain) {
      tree.reapAdoptedZombies();
      done.complete(null);
      return;
    }
    long now = System.nanoTime();
    if (graceNanos > 0) {
      forceAt = now + graceNanos;
      tree.signalPolitely();
    } else {
      force(now);
    }
    scheduleNext(now);
  }

  private void step() {
    try {
      long now = System.nanoTime();
      tree.refresh(false);
      if (tree.allGone() && !tree.adoptsMore()) {
        tree.reapAdoptedZombies();
        done.complete(null);
        return;
      }
      if (!forcing && now - forceAt >= 0) {
        force(now);
      } else if (!forcing) {
        // Members born during the grace period (a trap handler's children, say) get theirs too.
        tree.signalPolitely();
      } else if (now - giveUpAt >= 0) {
        LOG.warn(
            "{}: processes {} survived SIGKILL for {} s; giving up on them",
            description,
            tree.knownPids(),
            TimeUnit.NANOSECONDS.toSeconds(GIVE_UP_NANOS));
        done.complete(null);
        return;
      } else {
        tree.signalForcibly();
      }
      scheduleNext(now);
    } catch (RuntimeException | Error e) {
      done.completeExceptionally(e);
    }
  }

  private void force(long now) {
    forcing = true;
    giveUpAt = now + GIVE_UP_NANOS;
    // A last full look: anything that escaped during the grace period is still holding our pipes.
    tree.refresh(scanPipes);
    tree.adoptsMore();
    tree.signalForcibly();
  }

  private void scheduleNext(long now) {
    long delay = forcing ? FORCE_POLL_NANOS : Math.min(POLITE_POLL_NANOS, forceAt - now);
    scheduler.schedule(this::step, Math.max(delay, 0), TimeUnit.NANOSECONDS);
  }
}
