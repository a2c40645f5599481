package dev.buildnet.internal.state;

import dev.buildnet.state.SqliteStateBackend;

import java.sql.SQLException;
import java.time.Duration;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The background work of a {@link SqliteStateBackend}, on one daemon thread: sweeping expired rows
 * now and then, and checkpointing the WAL into the database file after every few hundred writes.
 *
 * <p>Checkpoints run here, on a connection of their own, because a checkpoint flushes the disk
 * (even with synchronous=NORMAL) and SQLite would otherwise run it inside whichever write happened
 * to fill the log: on a slow disk that write takes milliseconds, and all writes together about 50%
 * longer. The writer connection keeps an automatic checkpoint at a much larger log size as a
 * backstop, should this thread fall behind.
 *
 * <p>A checkpoint takes two passes. The first copies the log while writes go on. SQLite starts
 * the log over (and so keeps it short) only after a checkpoint that copied all of it, and under
 * steady writes the first pass never does: frames arrive while it flushes, so the log grew to the
 * backstop's 10,000 pages and every write and read paid for searching its longer index (the same
 * lock acquire-and-release on bun:sqlite costs 7-12% more CPU with its checkpoint at 10,000 pages
 * than at 1,000). Unless nothing reached the log since the last checkpoint, a second pass
 * therefore holds this backend's writes off and copies the few frames they added meanwhile, which
 * costs the writers one short wait per checkpoint (two flushes if anything was added) instead of
 * the whole checkpoint inline.
 */
public final class SqliteMaintenance {
  static final String THREAD_NAME = "buildnet-state-sweeper";
  /**
   * Pages written between background checkpoints: SQLite's own default (1,000), so a write costs
   * the same share of a checkpoint as with SQLite's automatic one. The count is an upper bound
   * (a write of unchanged bytes adds no page to the log), and each checkpoint is a hand-off to this
   * thread plus two flushes: at 500, checkpoints took 3-6% of the CPU of a lock or a setAll.
   */
  static final int CHECKPOINT_AFTER_PAGES = 1_000;
  /** The writer's own automatic checkpoint, reached only if this thread falls behind. */
  static final int BACKSTOP_CHECKPOINT_PAGES = 10_000;

  private static final Logger LOG = LoggerFactory.getLogger(SqliteMaintenance.class);

  private final String name;
  private final SqliteConnection checkpointer;
  private final SqliteConnection writer;
  private final IntSupplier sweep;
  private final ScheduledThreadPoolExecutor executor;
  private final AtomicInteger pagesSinceCheckpoint = new AtomicInteger();
  private final AtomicBoolean checkpointQueued = new AtomicBoolean();
  /**
   * Frames in the log at the last checkpoint's first pass. Volatile because tests checkpoint from
   * their own thread; a stale value only costs or saves one second pass.
   */
  private volatile long logAtLastCheckpoint = -2;
  private volatile Thread thread;

  public SqliteMaintenance(String name, SqliteConnection checkpointer, SqliteConnection writer,
      IntSupplier sweep, Duration sweepInterval) {
    this.name = name;
    this.checkpointer = checkpointer;
    this.writer = writer;
    this.sweep = sweep;
    this.executor = new ScheduledThreadPoolExecutor(1, runnable -> {
      Thread created = new Thread(runnable, THREAD_NAME);
      created.setDaemon(true);
      thread = created;
      return created;
    });
    long interval = sweepInterval.toMillis();
    executor.scheduleWithFixedDelay(this::sweep, interval, interval, TimeUnit.MILLISECONDS);
  }

  /** Records that a commit wrote about {@code pages} pages; queues a checkpoint when due. */
  public void wrote(int pages) {
    if (pagesSinceCheckpoint.addAndGet(pages) >= CHECKPOINT_AFTER_PAGES
        && checkpointQueued.compareAndSet(false, true)) {
      try {
        executor.execute(() -> {
          checkpointQueued.set(false);
          checkpoint();
        });
      } catch (RejectedExecutionException closing) {
        // close() is under way and closing the last connection checkpoints anyway.
      }
    }
  }

  /**
   * Copies what it can of the WAL into the database file (SQLite's PASSIVE mode: it waits for no
   * reader), in the two passes the class comment describes. Returns false if the backend is closed
   * or SQLite failed.
   */
  public boolean checkpoint() {
    return checkpoint(() -> {});
  }

  /**
   * {@link #checkpoint()}, running {@code betweenPasses} after the first pass: for tests, which
   * stand for what happens while the first pass runs (writes, readers finishing).
   */
  public boolean checkpoint(Runnable betweenPasses) {
    pagesSinceCheckpoint.set(0);
    long[] pass = checkpointPass();
    if (pass == null) {
      return false;
    }
    betweenPasses.run();
    long log = pass[0];
    boolean idle = log == pass[1] && log == logAtLastCheckpoint;
    logAtLastCheckpoint = log;
    if (idle) {
      // Nothing reached the log since the last checkpoint (writes of unchanged bytes add no
      // frames): holding writes off would cost them a hand-off for nothing.
      return true;
    }
    // Lock order: writer, then checkpointer; nothing takes them the other way round.
    writer.lock();
    try {
      return checkpointPass() != null;
    } finally {
      writer.unlock();
    }
  }

  /**
   * One PASSIVE checkpoint: the frames in the log as it saw it and how many of them are in the
   * database file now; null if the backend is closed or SQLite failed.
   */
  private long[] checkpointPass() {
    checkpointer.lock();
    try {
      if (checkpointer.isClosed()) {
        return null;
      }
      // Its row: busy, frames in the log, frames copied (both -1 if it could not run).
      return checkpointer.statement("PRAGMA wal_checkpoint(PASSIVE)")
          .queryRow(row -> new long[] {row.longValue(1), row.longValue(2)});
    } catch (SQLException e) {
      checkpointer.discardStatements(); // the driver finalized the failed one
      // One line, no stack trace: a full disk repeats this on every try until it has room.
      LOG.warn("{}: background WAL checkpoint failed; the next one retries: {}", name,
          e.getMessage());
      return null;
    } finally {
      checkpointer.unlock();
    }
  }

  /** The background thread, for tests that check it stops. */
  public Thread thread() {
    return thread;
  }

  /** Stops the thread and closes the checkpoint connection; waits for a running task. */
  public void close() throws SQLException {
    executor.shutdownNow();
    checkpointer.lock();
    try {
      checkpointer.close();
    } finally {
      checkpointer.unlock();
    }
  }

  /** Waits, bounded, for the thread to end after {@link #close()}. */
  public void awaitTermination() {
    try {
      executor.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private void sweep() {
    try {
      int deleted = sweep.getAsInt();
      LOG.debug("{}: swept {} expired rows", name, deleted);
    } catch (RuntimeException e) {
      // Likely another process holding the write lock for longer than the busy timeout.
      LOG.warn("{}: sweeping expired keys failed; the next sweep retries: {}", name,
          e.getMessage());
    }
  }
}
