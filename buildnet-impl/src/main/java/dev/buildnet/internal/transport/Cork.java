package dev.buildnet.internal.transport;

import java.util.ArrayList;

/**
 * Per thread, holds back the writes of {@link Session#requestBatched batched} requests while the
 * thread has more of them to send, so that those it queues for one connection leave in one write
 * syscall when it {@link #end ends} the cork, instead of one syscall each. What it costs: a held
 * frame leaves when its thread ends (or {@link #flush flushes}) the cork, no sooner; no other
 * thread is woken for it, and nothing else is delayed (other sends, and batched requests of a
 * thread that is not corked, are written as before).
 *
 * <p>The master's engine corks while it settles the results its workers sent together (several
 * per read) and dispatches the attempts they make room for: their TARGET_RUNs then go out
 * together. A syscall on a paravirtualised machine costs several microseconds, about a third of
 * the engine's CPU per no-op target.
 *
 * <p>A corked thread must not wait for the reply to a request it holds: it flushes first (a
 * non-batched request flushes by itself, since its caller may wait for it). {@link #begin} and
 * {@link #end} nest; {@code end} belongs in a {@code finally}, so a held frame is never left
 * unsent.
 */
public final class Cork {
  private static final ThreadLocal<Cork> CURRENT = ThreadLocal.withInitial(Cork::new);

  private int depth;
  /** Connections this thread queued held frames for, each once; usually one or none. */
  private final ArrayList<PeerConnection> held = new ArrayList<>(4);

  private Cork() {}

  /** Holds this thread's batched requests until the matching {@link #end}. */
  public static void begin() {
    CURRENT.get().depth++;
  }

  /** Ends a {@link #begin}; the outermost one writes what the thread held. */
  public static void end() {
    Cork c = CURRENT.get();
    if (c.depth == 0) {
      throw new IllegalStateException("Cork.end() without Cork.begin() on "
          + Thread.currentThread().getName());
    }
    if (--c.depth == 0) {
      c.release();
    }
  }

  /**
   * Writes what this thread holds now, staying corked: before it waits for a reply, or before
   * work that may take long (a local run), so held frames never wait for it.
   */
  public static void flush() {
    Cork c = CURRENT.get();
    if (!c.held.isEmpty()) {
      c.release();
    }
  }

  /** Whether this thread is corked (for tests). */
  static boolean corked() {
    return CURRENT.get().depth > 0;
  }

  /**
   * If this thread is corked, notes that {@code connection} has a frame queued and not written,
   * and returns true: the caller leaves the write to the cork.
   */
  static boolean hold(PeerConnection connection) {
    Cork c = CURRENT.get();
    if (c.depth == 0) {
      return false;
    }
    if (!c.held.contains(connection)) {
      c.held.add(connection);
    }
    return true;
  }

  private void release() {
    // From the end: a completion a write runs may send on this thread again (held anew if still
    // corked), and the rest is still written if one connection's write fails.
    RuntimeException failure = null;
    for (PeerConnection p; !held.isEmpty(); ) {
      p = held.remove(held.size() - 1);
      try {
        p.writeHeld();
      } catch (RuntimeException e) {
        if (failure == null) {
          failure = e;
        } else {
          failure.addSuppressed(e);
        }
      }
    }
    if (failure != null) {
      throw failure;
    }
  }
}
