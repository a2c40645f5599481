package dev.buildnet.internal.transport;

import java.util.ArrayDeque;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.LinkedTransferQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs tasks one at a time, in submission order, on a shared pool: one connection's messages stay
 * in order and a task that blocks holds up only its own queue, while idle connections hold no
 * thread.
 *
 * @since 0.1
 */
public final class SerialExecutor implements Executor {
  private static final Logger log = LoggerFactory.getLogger(SerialExecutor.class);

  private final Executor pool;
  private final ArrayDeque<Runnable> tasks = new ArrayDeque<>();
  private boolean running;

  public SerialExecutor(Executor pool) {
    this.pool = pool;
  }

  /**
   * A pool for serial executors: it hands a task to an idle thread if there is one, starts a
   * thread (named {@code name-N}, daemon) only when none is idle, up to {@code maxThreads}, and
   * queues beyond that; threads idle for 30 s end. (A plain fixed pool would start a thread per
   * task until it has them all, however few are busy.)
   */
  public static Pool pool(String name, int maxThreads) {
    AtomicInteger n = new AtomicInteger();
    Set<Thread> threads = ConcurrentHashMap.newKeySet();
    return new Pool(maxThreads, threads, r -> {
      threads.removeIf(t -> !t.isAlive()); // bounded: at most the live ones and the just-ended
      Thread t = new Thread(r, name + "-" + n.incrementAndGet());
      t.setDaemon(true);
      threads.add(t);
      return t;
    });
  }

  /**
   * The pool {@link #pool} makes. It remembers its threads so that a close can wait for them to
   * end: {@code awaitTermination} returns once the last task is done and the last worker has
   * deregistered, while that worker's thread may still be running its exit, and an owner whose
   * {@code close()} promises to leave no thread behind (a host unloading its class loader checks)
   * must wait for that too.
   */
  public static final class Pool extends ThreadPoolExecutor {
    private final Set<Thread> threads;

    private Pool(int maxThreads, Set<Thread> threads, ThreadFactory factory) {
      super(0, maxThreads, 30, TimeUnit.SECONDS, new HandOff(), factory,
          (task, executor) -> {
            if (executor.isShutdown()) {
              throw new RejectedExecutionException("the pool is shut down");
            }
            executor.getQueue().add(task); // all threads busy: it waits its turn
          });
      this.threads = threads;
    }

    /**
     * Shuts down, waits up to {@code timeoutMillis} in all for the queued tasks and then for
     * every thread to end; returns whether all ended in time.
     */
    public boolean shutdownAndJoin(long timeoutMillis) throws InterruptedException {
      long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
      shutdown();
      if (!awaitTermination(timeoutMillis, TimeUnit.MILLISECONDS)) {
        return false;
      }
      for (Thread t : List.copyOf(threads)) {
        long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
        if (t != Thread.currentThread()) {
          t.join(Math.max(1, left));
        }
        if (t.isAlive() && t != Thread.currentThread()) {
          return false;
        }
      }
      return true;
    }
  }

  /** Accepts an offer only when a thread is waiting for it, so the pool starts one otherwise. */
  private static final class HandOff extends LinkedTransferQueue<Runnable> {
    @Override
    public boolean offer(Runnable r) {
      return tryTransfer(r);
    }
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
