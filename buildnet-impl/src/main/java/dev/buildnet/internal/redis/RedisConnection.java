package dev.buildnet.internal.redis;

import dev.buildnet.api.state.StateException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.function.Function;
import java.util.function.LongSupplier;
import org.apache.commons.pool2.impl.GenericObjectPoolConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.JedisClientConfig;
import redis.clients.jedis.JedisPool;
import redis.clients.jedis.exceptions.JedisConnectionException;
import redis.clients.jedis.exceptions.JedisDataException;
import redis.clients.jedis.exceptions.JedisException;
import redis.clients.jedis.exceptions.JedisNoScriptException;

/**
 * A pool of connections to one Redis server, shared by the state backend and the blob store, that
 * turns every failure into a {@link StateException} naming the server and the operation.
 *
 * <p>While Redis is unreachable, calls fail at once for a short, growing back-off window (25 ms
 * doubling to 1 s) instead of each waiting for a connect timeout; the first call after the window
 * tries again, and a success closes it. Connections broken by a Redis restart are dropped from the
 * pool on the first failure, so the pool recovers without a restart of ours.
 *
 * <p>Thread-safe.
 */
public final class RedisConnection implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(RedisConnection.class);
  private static final long MIN_BACKOFF_MILLIS = 25;
  private static final long MAX_BACKOFF_MILLIS = 1000;

  final String name;
  final HostAndPort address;
  final JedisClientConfig config;
  private final JedisPool pool;
  private final LongSupplier nanoTime;
  private final Object gate = new Object();
  private int failures;
  private long retryAtNanos;
  private String lastError;

  public RedisConnection(String name, HostAndPort address, JedisClientConfig config, int maxConnections,
      Duration borrowTimeout) {
    this.name = name;
    this.address = address;
    this.config = config;
    this.nanoTime = System::nanoTime;
    GenericObjectPoolConfig<Jedis> poolConfig = new GenericObjectPoolConfig<>();
    poolConfig.setMaxTotal(maxConnections);
    poolConfig.setMaxIdle(maxConnections);
    poolConfig.setMinIdle(0);
    poolConfig.setBlockWhenExhausted(true);
    poolConfig.setMaxWait(borrowTimeout);
    poolConfig.setJmxEnabled(false);
    this.pool = new JedisPool(poolConfig, address, config);
  }

  public static JedisClientConfig clientConfig(Duration connectTimeout, Duration operationTimeout,
      String user, String password, int database, String clientName) {
    DefaultJedisClientConfig.Builder b = DefaultJedisClientConfig.builder()
        .connectionTimeoutMillis(Math.toIntExact(connectTimeout.toMillis()))
        .socketTimeoutMillis(Math.toIntExact(operationTimeout.toMillis()))
        .database(database)
        .clientName(clientName)
        .autoNegotiateProtocol(false);
    if (user != null) {
      b.user(user);
    }
    if (password != null) {
      b.password(password);
    }
    return b.build();
  }

  /**
   * Runs {@code call} on a pooled connection.
   *
   * @param what the operation and its key, for messages ("get of key 'k'")
   * @param idempotent whether a call that failed on a connection broken earlier (a Redis restart)
   *     may be retried once on a fresh one
   */
  public <T> T call(String what, boolean idempotent, Function<Jedis, T> call) {
    checkGate(what);
    try {
      return attempt(call);
    } catch (JedisConnectionException first) {
      pool.clear(); // idle connections are as broken as this one after a restart
      if (idempotent) {
        try {
          return attempt(call);
        } catch (JedisConnectionException second) {
          throw unreachable(what, second, idempotent);
        } catch (JedisException e) {
          throw failed(what, e);
        }
      }
      throw unreachable(what, first, idempotent);
    } catch (JedisException e) {
      throw failed(what, e);
    }
  }

  private <T> T attempt(Function<Jedis, T> call) {
    try (Jedis jedis = pool.getResource()) {
      T result = call.apply(jedis);
      succeeded();
      return result;
    }
  }

  /** Runs a Lua script by its SHA-1, loading it first if Redis does not have it (e.g. restarted). */
  public static Object eval(Jedis jedis, Script script, List<byte[]> keys, List<byte[]> args) {
    try {
      return jedis.evalsha(script.sha, keys, args);
    } catch (JedisNoScriptException e) {
      return jedis.eval(script.text, keys, args);
    }
  }

  private void checkGate(String what) {
    synchronized (gate) {
      long wait = retryAtNanos - nanoTime.getAsLong();
      if (failures > 0 && wait > 0) {
        throw new StateException(name + ": " + what + " failed: Redis at " + address
            + " is unreachable (" + failures + " failed attempts, last: " + lastError
            + "); the next attempt is allowed in " + Math.max(1, wait / 1_000_000) + " ms");
      }
    }
  }

  private void succeeded() {
    synchronized (gate) {
      if (failures > 0) {
        LOG.info("{}: Redis at {} is reachable again after {} failed attempts", name, address,
            failures);
      }
      failures = 0;
    }
  }

  private StateException unreachable(String what, JedisConnectionException e, boolean idempotent) {
    String reason = rootMessage(e);
    synchronized (gate) {
      failures++;
      lastError = reason;
      long backoff = Math.min(MAX_BACKOFF_MILLIS,
          MIN_BACKOFF_MILLIS << Math.min(failures - 1, 10));
      retryAtNanos = nanoTime.getAsLong() + backoff * 1_000_000;
      if (failures == 1) {
        LOG.warn("{}: Redis at {} is unreachable: {}", name, address, reason);
      }
    }
    return new StateException(name + ": " + what + " failed: Redis at " + address
        + " is unreachable: " + reason
        + (idempotent ? "" : " (the operation may or may not have been applied)"), e);
  }

  private StateException failed(String what, JedisException e) {
    if (e instanceof JedisDataException) {
      return new StateException(name + ": " + what + " was refused by Redis: " + e.getMessage(), e);
    }
    return new StateException(name + ": " + what + " failed: " + rootMessage(e), e);
  }

  private static String rootMessage(Throwable e) {
    Throwable t = e;
    while (t.getCause() != null && t.getCause() != t) {
      t = t.getCause();
    }
    return t == e ? String.valueOf(e.getMessage())
        : e.getMessage() + " (" + t.getClass().getSimpleName() + ": " + t.getMessage() + ")";
  }

  @Override
  public void close() {
    pool.close();
  }

  /** A Lua script with its SHA-1, so calls send 40 bytes instead of the script. */
  public static final class Script {
    final byte[] text;
    final byte[] sha;

    public Script(String text) {
      this.text = text.getBytes(StandardCharsets.UTF_8);
      this.sha = sha1Hex(this.text).getBytes(StandardCharsets.US_ASCII);
    }

    private static String sha1Hex(byte[] bytes) {
      try {
        byte[] d = java.security.MessageDigest.getInstance("SHA-1").digest(bytes);
        return java.util.HexFormat.of().formatHex(d);
      } catch (java.security.NoSuchAlgorithmException e) {
        throw new IllegalStateException("SHA-1 is required of every JVM", e);
      }
    }
  }
}
