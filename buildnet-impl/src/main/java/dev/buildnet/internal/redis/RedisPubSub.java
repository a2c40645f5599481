package dev.buildnet.internal.redis;

import static java.nio.charset.StandardCharsets.UTF_8;

import dev.buildnet.api.state.StateException;
import dev.buildnet.api.state.Subscription;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import redis.clients.jedis.BinaryJedisPubSub;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.exceptions.JedisException;

/**
 * Redis pub/sub for one backend: one dedicated connection read by one daemon thread, which
 * delivers messages to the listeners in arrival order (so in publish order per channel) and, when
 * the connection breaks, reconnects with back-off and subscribes every live channel again.
 *
 * <p>The connection always listens on a private control channel as well, so it stays subscribed
 * (and the reading thread alive) while no listener is registered.
 */
public final class RedisPubSub implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(RedisPubSub.class);
  private static final long MIN_BACKOFF_MILLIS = 50;
  private static final long MAX_BACKOFF_MILLIS = 1000;

  private final RedisConnection redis;
  private final String channelPrefix;
  private final Duration timeout;
  private final String control;
  /** Guards channels, reader and every write to the subscriber connection. */
  private final Object lock = new Object();
  private final Map<String, Channel> channels = new HashMap<>();
  private Reader reader;
  private Thread thread;
  private boolean closed;

  public RedisPubSub(RedisConnection redis, String channelPrefix, Duration timeout) {
    this.redis = redis;
    this.channelPrefix = channelPrefix;
    this.timeout = timeout;
    this.control = channelPrefix + "\0control:" + UUID.randomUUID();
  }

  /** A channel's listeners and whether Redis has confirmed our subscription to it. */
  private static final class Channel {
    final List<Sub> subs = new CopyOnWriteArrayList<>();
    CompletableFuture<Void> confirmed = new CompletableFuture<>();
  }

  public Subscription subscribe(String channel, Consumer<byte[]> listener) {
    Sub sub = new Sub(channel, listener);
    CompletableFuture<Void> confirmed;
    synchronized (lock) {
      if (closed) {
        throw new IllegalStateException(redis.name + " state backend is closed");
      }
      Channel c = channels.get(channel);
      if (c == null) {
        c = new Channel();
        channels.put(channel, c);
        if (reader != null && reader.isSubscribed()) {
          send(() -> reader.subscribe(raw(channel)));
        }
      }
      c.subs.add(sub);
      confirmed = c.confirmed;
      startThread();
    }
    try {
      confirmed.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
      return sub;
    } catch (TimeoutException | ExecutionException e) {
      sub.close();
      throw new StateException(redis.name + ": subscribing to channel '" + channel
          + "' was not confirmed by Redis at " + redis.address + " within " + timeout
          + " (is it reachable?)", e);
    } catch (InterruptedException e) {
      sub.close();
      Thread.currentThread().interrupt();
      throw new StateException(redis.name + ": interrupted while subscribing to '" + channel + "'",
          e);
    }
  }

  private void startThread() {
    if (thread == null) {
      thread = new Thread(this::run, "buildnet-redis-pubsub");
      thread.setDaemon(true);
      thread.start();
    }
  }

  private void unsubscribe(Sub sub) {
    synchronized (lock) {
      Channel c = channels.get(sub.channel);
      if (c == null || !c.subs.remove(sub) || !c.subs.isEmpty()) {
        return;
      }
      channels.remove(sub.channel);
      if (!closed && reader != null && reader.isSubscribed()) {
        send(() -> reader.unsubscribe(raw(sub.channel)));
      }
    }
  }

  /** Writes to the subscriber connection; a broken one is the reading thread's to repair. */
  private void send(Runnable write) {
    try {
      write.run();
    } catch (JedisException e) {
      LOG.debug("{}: pub/sub write failed; the reader reconnects: {}", redis.name, e.toString());
    }
  }

  private void run() {
    long backoff = MIN_BACKOFF_MILLIS;
    while (true) {
      Reader r;
      List<byte[]> initial = new ArrayList<>();
      synchronized (lock) {
        if (closed) {
          return;
        }
        r = new Reader();
        reader = r;
        initial.add(control.getBytes(UTF_8));
        for (String c : channels.keySet()) {
          initial.add(raw(c));
        }
      }
      try (Jedis jedis = new Jedis(redis.address, redis.config)) {
        r.jedis = jedis;
        jedis.subscribe(r, initial.toArray(new byte[0][]));
        if (r.connectedOnce) {
          backoff = MIN_BACKOFF_MILLIS;
        }
      } catch (JedisException | IllegalStateException e) {
        if (r.connectedOnce) {
          backoff = MIN_BACKOFF_MILLIS;
        }
        synchronized (lock) {
          if (closed) {
            return;
          }
        }
        LOG.warn("{}: pub/sub connection to {} lost ({}); reconnecting in {} ms", redis.name,
            redis.address, e.getMessage(), backoff);
      }
      synchronized (lock) {
        reader = null;
        if (closed) {
          return;
        }
        // Confirmations from the dead connection no longer count.
        for (Channel c : channels.values()) {
          if (c.confirmed.isDone()) {
            c.confirmed = new CompletableFuture<>();
          }
        }
        try {
          lock.wait(backoff);
        } catch (InterruptedException e) {
          return;
        }
      }
      backoff = Math.min(MAX_BACKOFF_MILLIS, backoff * 2);
    }
  }

  private byte[] raw(String channel) {
    return (channelPrefix + channel).getBytes(UTF_8);
  }

  @Override
  public void close() {
    Thread t;
    synchronized (lock) {
      if (closed) {
        return;
      }
      closed = true;
      if (reader != null && reader.isSubscribed()) {
        send(reader::unsubscribe);
      }
      if (reader != null && reader.jedis != null) {
        try {
          reader.jedis.close(); // unblocks the reading thread if unsubscribe did not
        } catch (RuntimeException ignored) {
          // already broken
        }
      }
      lock.notifyAll();
      t = thread;
    }
    if (t != null && t != Thread.currentThread()) {
      try {
        t.join(timeout.toMillis());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /** One connection's subscriber: confirms subscriptions and dispatches messages. */
  private final class Reader extends BinaryJedisPubSub {
    volatile Jedis jedis;
    volatile boolean connectedOnce;

    @Override
    public void onSubscribe(byte[] channel, int subscribedChannels) {
      String name = new String(channel, UTF_8);
      synchronized (lock) {
        if (name.equals(control)) {
          connectedOnce = true;
          // Channels added while this connection was being set up were not in its first SUBSCRIBE.
          List<byte[]> missing = new ArrayList<>();
          for (String c : channels.keySet()) {
            if (!channels.get(c).confirmed.isDone()) {
              missing.add(raw(c));
            }
          }
          if (!missing.isEmpty()) {
            send(() -> subscribe(missing.toArray(new byte[0][])));
          }
          return;
        }
        Channel c = channels.get(name.substring(channelPrefix.length()));
        if (c != null) {
          c.confirmed.complete(null);
        }
      }
    }

    @Override
    public void onMessage(byte[] channel, byte[] message) {
      String name = new String(channel, UTF_8);
      if (!name.startsWith(channelPrefix)) {
        return;
      }
      Channel c;
      synchronized (lock) {
        c = channels.get(name.substring(channelPrefix.length()));
      }
      if (c == null) {
        return;
      }
      for (Sub sub : c.subs) {
        sub.deliver(message);
      }
    }
  }

  /** One listener's registration. */
  private final class Sub implements Subscription {
    private final String channel;
    private final Consumer<byte[]> listener;
    private volatile boolean active = true;

    Sub(String channel, Consumer<byte[]> listener) {
      this.channel = channel;
      this.listener = listener;
    }

    void deliver(byte[] message) {
      if (!active) {
        return;
      }
      try {
        listener.accept(message.clone());
      } catch (RuntimeException e) {
        LOG.warn("{}: listener on channel '{}' threw; delivery goes on", redis.name, channel, e);
      }
    }

    @Override
    public String channel() {
      return channel;
    }

    @Override
    public void close() {
      if (active) {
        active = false;
        unsubscribe(this);
      }
    }
  }
}
