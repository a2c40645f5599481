package dev.buildnet.internal.state;


import dev.buildnet.api.state.Subscription;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Pub/sub for {@link InMemoryStateBackend}: one lazily started daemon thread delivers every
 * message, so messages on a channel arrive in publish order (a single FIFO queue gives that for
 * free, and for all channels at once).
 */
public final class InMemoryPubSub {
  static final String THREAD_NAME = "buildnet-state-pubsub";
  private static final Logger LOG = LoggerFactory.getLogger(InMemoryPubSub.class);

  private final String backendName;
  private final Map<String, List<Listener>> channels = new ConcurrentHashMap<>();
  private final Object lifecycle = new Object();
  // Guarded by lifecycle. Made by the first subscription; its thread starts with the first message.
  private ExecutorService deliverer;
  private boolean closed; // guarded by lifecycle

  public InMemoryPubSub(String backendName) {
    this.backendName = backendName;
  }

  public Subscription subscribe(String channel, Consumer<byte[]> listener) {
    Listener registration = new Listener(channel, listener);
    synchronized (lifecycle) {
      if (closed) {
        throw new IllegalStateException(backendName + " is closed");
      }
      if (deliverer == null) {
        deliverer = newDeliverer();
      }
      channels.compute(channel, (c, listeners) -> {
        List<Listener> updated = listeners == null ? new CopyOnWriteArrayList<>() : listeners;
        updated.add(registration);
        return updated;
      });
    }
    return registration;
  }

  public void publish(String channel, byte[] message) {
    List<Listener> listeners = channels.get(channel);
    if (listeners == null || listeners.isEmpty()) {
      return;
    }
    // The receivers are the subscribers at publish time; a later subscriber must not see it.
    Object[] receivers = listeners.toArray();
    byte[] copy = message.clone();
    synchronized (lifecycle) {
      if (closed) {
        throw new IllegalStateException(backendName + " is closed");
      }
      deliverer.execute(() -> deliver(receivers, copy));
    }
  }

  public void close() {
    ExecutorService toStop;
    synchronized (lifecycle) {
      closed = true;
      toStop = deliverer;
      deliverer = null;
    }
    channels.clear();
    if (toStop != null) {
      toStop.shutdownNow();
      try {
        // Bounded: a listener stuck for longer only delays close, it does not hang it.
        toStop.awaitTermination(5, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  private void deliver(Object[] receivers, byte[] message) {
    for (Object receiver : receivers) {
      Listener listener = (Listener) receiver;
      if (listener.closed || Thread.currentThread().isInterrupted()) {
        continue;
      }
      try {
        // Each listener gets its own copy so one cannot change what the next one sees.
        listener.consumer.accept(message.clone());
      } catch (RuntimeException e) {
        LOG.warn("{}: a listener on channel '{}' threw; later messages are still delivered",
            backendName, listener.channel, e);
      }
    }
  }

  private static ExecutorService newDeliverer() {
    return new ThreadPoolExecutor(1, 1, 0, TimeUnit.MILLISECONDS, new LinkedBlockingQueue<>(),
        runnable -> {
          Thread thread = new Thread(runnable, THREAD_NAME);
          thread.setDaemon(true);
          return thread;
        });
  }

  private final class Listener implements Subscription {
    final String channel;
    final Consumer<byte[]> consumer;
    volatile boolean closed;

    Listener(String channel, Consumer<byte[]> consumer) {
      this.channel = channel;
      this.consumer = consumer;
    }

    @Override
    public String channel() {
      return channel;
    }

    @Override
    public void close() {
      closed = true;
      channels.computeIfPresent(channel, (c, listeners) -> {
        listeners.remove(this);
        return listeners.isEmpty() ? null : listeners;
      });
    }
  }
}
