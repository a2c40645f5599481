package dev.buildnet.transport;

import java.util.ArrayDeque;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs tasks one at a time, in submission order, on a shared pool: one connection's messages stay
 * in order and a task that blocks holds up only its own queue, while idle connections hold no
 * thread.
 *
 * @since 0.2
 */
public final class SerialExecutor implements Executor {
  private static final Logger log = LoggerFactory.getLogger(SerialExecutor.class);

  private final Executor pool;
  private final ArrayDeque<Runnable> tasks = new ArrayDeque<>();
  private boolean running;

  public SerialExecutor(Executor pool) {
    this.pool = pool;
  }

  @Override
  public void execute(Runnable task) {
    synchronized (tasks) {
      tasks.add(task);
      if (running) {
        return;
      }
      running = true;
    }
    try {
      pool.execute(this::drain);
    } catch (RejectedExecutionException e) {
      // The pool is shut down (closing): run here rather than lose the task.
      drain();
    }
  }

  /** Whether nothing is queued or running: a caller that is the only submitter may run inline. */
  public boolean idle() {
    synchronized (tasks) {
      return !running;
    }
  }

  private void drain() {
    while (true) {
      Runnable r;
      synchronized (tasks) {
        r = tasks.poll();
        if (r == null) {
          running = false;
          return;
        }
      }
      try {
        r.run();
      } catch (RuntimeException e) {
        log.warn("a queued task failed", e);
      }
    }
  }
}
