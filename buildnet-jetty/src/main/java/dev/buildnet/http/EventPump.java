package dev.buildnet.http;

import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * One client's outgoing event queue: bounded, never blocks the caller, one write in flight at a
 * time. When the client reads too slowly and the queue is full, new messages are dropped and
 * counted (per stream and in {@code /metrics}) instead of stalling builds.
 */
final class EventPump {
  /** Writes one message; calls exactly one of {@code done} or {@code failed}, on any thread. */
  interface Writer {
    void write(String message, Runnable done, java.util.function.Consumer<Throwable> failed);

    void close();
  }

  private final Writer writer;
  private final int capacity;
  private final AtomicLong droppedTotal;
  private final ConcurrentLinkedQueue<String> queue = new ConcurrentLinkedQueue<>();
  private final AtomicInteger size = new AtomicInteger();
  /** Drain loop ownership: a trampoline, so a write that completes inline does not recurse. */
  private final AtomicInteger wip = new AtomicInteger();
  private final AtomicBoolean closed = new AtomicBoolean();
  private final AtomicLong dropped = new AtomicLong();
  private volatile boolean writing;
  private final AtomicReference<Runnable> onClose = new AtomicReference<>();

  EventPump(Writer writer, int capacity, AtomicLong droppedTotal) {
    this.writer = writer;
    this.capacity = capacity;
    this.droppedTotal = droppedTotal;
  }

  /**
   * Runs {@code r} once when the pump closes, or at once if it already has: a replayed write can
   * fail, and close the pump, before the caller gets here.
   */
  void onClose(Runnable r) {
    onClose.set(r);
    if (closed.get()) {
      runOnClose();
    }
  }

  private void runOnClose() {
    Runnable r = onClose.getAndSet(null);
    if (r != null) {
      r.run();
    }
  }

  long dropped() {
    return dropped.get();
  }

  /** Queues {@code message}, or drops it if the queue is full; never blocks. */
  void offer(String message) {
    if (closed.get()) {
      return;
    }
    if (size.incrementAndGet() > capacity) {
      size.decrementAndGet();
      dropped.incrementAndGet();
      droppedTotal.incrementAndGet();
      return;
    }
    queue.add(message);
    drain();
  }

  private void drain() {
    if (wip.getAndIncrement() != 0) {
      return;
    }
    do {
      if (!writing && !closed.get()) {
        String next = queue.poll();
        if (next != null) {
          size.decrementAndGet();
          writing = true;
          writer.write(next, this::written, this::failed);
        }
      }
    } while (wip.decrementAndGet() != 0);
  }

  private void written() {
    writing = false;
    drain();
  }

  private void failed(Throwable t) {
    close();
  }

  /** Stops the stream: no more writes, the writer is closed; idempotent. */
  void close() {
    if (closed.getAndSet(true)) {
      return;
    }
    queue.clear();
    runOnClose();
    writer.close();
  }
}
