package dev.buildnet.internal.master;

/**
 * Hears about workers joining and leaving a {@link MasterServer}. Called on the master's event
 * thread (or its configured event executor), one event at a time in the order they happened;
 * must not block for long. An exception is logged and does not stop later events.
 *
 * @since 0.1
 */
@FunctionalInterface
public interface WorkerListener {
  void onWorkerEvent(WorkerEvent event);
}
