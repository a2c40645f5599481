package dev.buildnet.redis;

import dev.buildnet.internal.redis.Args;
import dev.buildnet.internal.redis.RedisConnection;
import dev.buildnet.internal.redis.RedisPubSub;

import dev.buildnet.internal.StateChecks;

import static java.nio.charset.StandardCharsets.UTF_8;

import dev.buildnet.api.state.Lock;
import dev.buildnet.api.state.StateBackend;
import dev.buildnet.api.state.StateCapabilities;
import dev.buildnet.api.state.StateException;
import dev.buildnet.api.state.Subscription;
import dev.buildnet.internal.redis.RedisConnection.Script;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeSet;
import java.util.function.Consumer;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.JedisClientConfig;
import redis.clients.jedis.params.ScanParams;
import redis.clients.jedis.params.SetParams;
import redis.clients.jedis.resps.ScanResult;

/**
 * A {@link StateBackend} on a Redis server (6.2 or later), shared by every process that opens it
 * with the same address and key prefix: several BuildNet masters can share one action cache, one
 * set of locks and one event stream through it.
 *
 * <p>Needs the Jedis client ({@code redis.clients:jedis}) on the class path, which BuildNet does
 * not bring along: add it to use this class.
 *
 * <h2>Layout and semantics</h2>
 * Every key lives under the configured prefix (default {@code buildnet:}): values under
 * {@code <prefix>k:<key>}, leases under {@code <prefix>lock:<resource>}, fencing counters under
 * {@code <prefix>fence:<resource>}, channels as {@code <prefix>ch:<channel>}. TTLs are Redis TTLs,
 * measured on the Redis server's clock (not an injectable one). {@code setIfAbsent},
 * {@code compareAndSet}, {@code increment} and every lock operation are single Redis commands or
 * Lua scripts, so atomic. A lease's fencing token comes from a per-resource counter that is never
 * reset; it survives a Redis restart only as far as Redis's own persistence (RDB/AOF) does. See
 * {@code docs/REDIS.md} for what Redis does not guarantee and what BuildNet does about it.
 *
 * <h2>Failures</h2>
 * When Redis is unreachable every call throws a {@link StateException} naming the server within the
 * connect or operation timeout (default 2 s and 5 s), and during a short back-off after a failure
 * at once; nothing hangs. Connections, and pub/sub subscriptions, are re-established when Redis
 * returns; messages published while a subscriber was disconnected are lost (Redis pub/sub is
 * at-most-once). A write that failed with a timeout may or may not have been applied; the message
 * says so.
 *
 * <h2>Threads</h2>
 * Thread-safe. Calls block for one network round trip; the pool holds up to
 * {@link Builder#maxConnections} connections. Pub/sub uses one more connection and one daemon
 * thread ({@code buildnet-redis-pubsub}), started by the first {@link #subscribe}. {@link #close()}
 * releases both and is idempotent.
 *
 * @since 0.1
 */
public final class RedisStateBackend implements StateBackend {
  private static final Script CAS = new Script("""
      local cur = redis.call('GET', KEYS[1])
      if ARGV[1] == 'absent' then
        if cur then return 0 end
      elseif cur ~= ARGV[2] then
        return 0
      end
      redis.call('SET', KEYS[1], ARGV[3])
      return 1
      """);
  private static final Script ACQUIRE = new Script("""
      local t = redis.call('TIME')
      local cur = redis.call('GET', KEYS[1])
      if cur then return {0, cur, redis.call('PTTL', KEYS[1]), t[1], t[2]} end
      local token = redis.call('INCR', KEYS[2])
      redis.call('SET', KEYS[1], token .. ' ' .. ARGV[2], 'PX', ARGV[1])
      return {token, '', 0, t[1], t[2]}
      """);
  /** Renews (ARGV[2] = ttl) or, with ARGV[2] = 'release', deletes the lease if it is ARGV[1]. */
  private static final Script RENEW_OR_RELEASE = new Script("""
      local t = redis.call('TIME')
      local cur = redis.call('GET', KEYS[1])
      if cur == ARGV[1] then
        if ARGV[2] == 'release' then redis.call('DEL', KEYS[1])
        else redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
        return {1, '', 0, t[1], t[2]}
      end
      if cur then return {0, cur, redis.call('PTTL', KEYS[1]), t[1], t[2]} end
      return {0, '', 0, t[1], t[2]}
      """);
  private static final int SCAN_COUNT = 1000;

  private final RedisConnection redis;
  private final String name;
  private final String prefix;
  private final RedisPubSub pubSub;
  private volatile boolean closed;

  private RedisStateBackend(Builder b) {
    this.prefix = b.prefix;
    this.name = "redis://" + b.host + ":" + b.port + "/" + b.database + "#" + b.prefix;
    JedisClientConfig config = RedisConnection.clientConfig(b.connectTimeout, b.operationTimeout,
        b.user, b.password, b.database, "buildnet");
    this.redis = new RedisConnection(name, new HostAndPort(b.host, b.port), config,
        b.maxConnections, b.connectTimeout.plus(b.operationTimeout));
    this.pubSub = new RedisPubSub(redis, prefix + "ch:", b.operationTimeout);
  }

  /** Configures a backend on the Redis server at {@code host:port}. */
  public static Builder builder(String host, int port) {
    return new Builder(host, port);
  }

  /** The key prefix every key of this backend lives under. */
  public String prefix() {
    return prefix;
  }

  /** The connection pool, shared with a {@link RedisBlobStore} made from this backend. */
  RedisConnection connection() {
    ensureOpen();
    return redis;
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public StateCapabilities capabilities() {
    return new StateCapabilities(true, true, true, true);
  }

  @Override
  public Optional<byte[]> get(String key) {
    byte[] k = key(key);
    return Optional.ofNullable(redis.call("get of key '" + key + "'", true, j -> j.get(k)));
  }

  @Override
  public void set(String key, byte[] value) {
    byte[] k = key(key);
    byte[] v = StateChecks.requireValue(value, "value").clone();
    redis.call("set of key '" + key + "'", true, j -> j.set(k, v));
  }

  @Override
  public void set(String key, byte[] value, Duration ttl) {
    byte[] k = key(key);
    byte[] v = StateChecks.requireValue(value, "value").clone();
    long px = Args.ttlMillis(StateChecks.requireTtl(ttl, "ttl"));
    redis.call("set of key '" + key + "'", true, j -> j.set(k, v, SetParams.setParams().px(px)));
  }

  @Override
  public boolean delete(String key) {
    byte[] k = key(key);
    return redis.call("delete of key '" + key + "'", false, j -> j.del(k)) > 0;
  }

  @Override
  public boolean setIfAbsent(String key, byte[] value, Duration ttl) {
    byte[] k = key(key);
    byte[] v = StateChecks.requireValue(value, "value").clone();
    SetParams params = SetParams.setParams().nx();
    if (ttl != null) {
      params.px(Args.ttlMillis(StateChecks.requireTtl(ttl, "ttl")));
    }
    return "OK".equals(redis.call("setIfAbsent of key '" + key + "'", false,
        j -> j.set(k, v, params)));
  }

  @Override
  public boolean compareAndSet(String key, byte[] expected, byte[] update) {
    byte[] k = key(key);
    byte[] u = StateChecks.requireValue(update, "update").clone();
    List<byte[]> args = expected == null
        ? List.of(bytes("absent"), new byte[0], u)
        : List.of(bytes("equals"), expected.clone(), u);
    Object r = redis.call("compareAndSet of key '" + key + "'", false,
        j -> RedisConnection.eval(j, CAS, List.of(k), args));
    return Long.valueOf(1).equals(r);
  }

  @Override
  public List<String> keys(String keyPrefix) {
    StateChecks.requirePrefix(keyPrefix);
    ensureOpen();
    byte[] pattern = bytes(globEscape(prefix + "k:" + keyPrefix) + "*");
    int strip = bytes(prefix + "k:").length;
    return redis.call("keys with prefix '" + keyPrefix + "'", true, j -> {
      TreeSet<String> found = new TreeSet<>(); // SCAN may repeat a key
      ScanParams params = new ScanParams().match(pattern).count(SCAN_COUNT);
      byte[] cursor = ScanParams.SCAN_POINTER_START_BINARY;
      do {
        ScanResult<byte[]> page = j.scan(cursor, params);
        for (byte[] raw : page.getResult()) {
          found.add(new String(raw, strip, raw.length - strip, UTF_8));
        }
        cursor = page.getCursorAsBytes();
      } while (!Arrays.equals(cursor, ScanParams.SCAN_POINTER_START_BINARY));
      return new ArrayList<>(found);
    });
  }

  @Override
  public long increment(String key, long delta) {
    byte[] k = key(key);
    try {
      return redis.call("increment of key '" + key + "'", false, j -> j.incrBy(k, delta));
    } catch (StateException e) {
      if (e.getMessage().contains("refused by Redis")) {
        throw new StateException(name + ": cannot increment key '" + key + "' by " + delta + ": "
            + e.getCause().getMessage(), e.getCause());
      }
      throw e;
    }
  }

  @Override
  public Optional<Lock> acquireLock(String resource, Duration ttl, String owner) {
    StateChecks.requireName(resource, "resource");
    StateChecks.requireTtl(ttl, "ttl");
    StateChecks.requireName(owner, "owner");
    ensureOpen();
    long px = Args.ttlMillis(ttl);
    List<?> r = (List<?>) redis.call("acquireLock of '" + resource + "'", false,
        j -> RedisConnection.eval(j, ACQUIRE, List.of(lockKey(resource), fenceKey(resource)),
            List.of(bytes(Long.toString(px)), bytes(owner))));
    long token = (Long) r.get(0);
    if (token == 0) {
      return Optional.empty();
    }
    return Optional.of(new Lock(resource, owner, token, serverTime(r).plusMillis(px)));
  }

  @Override
  public Lock renew(Lock lock, Duration ttl) {
    StateChecks.requireLock(lock);
    StateChecks.requireTtl(ttl, "ttl");
    ensureOpen();
    long px = Args.ttlMillis(ttl);
    Instant now = renewOrRelease(lock, "renew", Long.toString(px));
    return new Lock(lock.resource(), lock.owner(), lock.fencingToken(), now.plusMillis(px));
  }

  @Override
  public void release(Lock lock) {
    StateChecks.requireLock(lock);
    ensureOpen();
    renewOrRelease(lock, "release", "release");
  }

  private Instant renewOrRelease(Lock lock, String what, String arg) {
    byte[] expected = bytes(lock.fencingToken() + " " + lock.owner());
    List<?> r = (List<?>) redis.call(what + " of lock '" + lock.resource() + "'", false,
        j -> RedisConnection.eval(j, RENEW_OR_RELEASE, List.of(lockKey(lock.resource())),
            List.of(expected, bytes(arg))));
    Instant now = serverTime(r);
    if ((Long) r.get(0) == 1) {
      return now;
    }
    throw StateException.lockNotHeld(lock, notHeld(lock, current(lock.resource(), r, now)));
  }

  /** The lease another holder has, from a script's {@code {0, value, pttl, ...}} reply. */
  private static Lock current(String resource, List<?> reply, Instant now) {
    String value = new String((byte[]) reply.get(1), UTF_8);
    int space = value.indexOf(' ');
    if (space < 1) {
      return null;
    }
    long pttl = (Long) reply.get(2);
    Instant expires = pttl < 0 ? Instant.MAX : now.plusMillis(pttl);
    return new Lock(resource, value.substring(space + 1),
        Long.parseLong(value.substring(0, space)), expires);
  }

  private String notHeld(Lock presented, Lock current) {
    StringBuilder m = new StringBuilder(160).append(name)
        .append(": lock on '").append(presented.resource())
        .append("' held by '").append(presented.owner())
        .append("' with fencing token ").append(presented.fencingToken())
        .append(" is no longer held: ");
    if (current == null) {
      m.append("it was released, or it expired (Redis removes an expired lease)");
    } else {
      m.append("it is now held by '").append(current.owner())
          .append("' with fencing token ").append(current.fencingToken())
          .append(" until ").append(current.expiresAt());
    }
    return m.toString();
  }

  private static Instant serverTime(List<?> reply) {
    long seconds = Long.parseLong(new String((byte[]) reply.get(3), UTF_8));
    long micros = Long.parseLong(new String((byte[]) reply.get(4), UTF_8));
    return Instant.ofEpochSecond(seconds, micros * 1000);
  }

  @Override
  public Subscription subscribe(String channel, Consumer<byte[]> listener) {
    StateChecks.requireName(channel, "channel");
    Objects.requireNonNull(listener, "listener");
    ensureOpen();
    return pubSub.subscribe(channel, listener);
  }

  @Override
  public void publish(String channel, byte[] message) {
    StateChecks.requireName(channel, "channel");
    byte[] m = StateChecks.requireValue(message, "message").clone();
    ensureOpen();
    byte[] c = bytes(prefix + "ch:" + channel);
    redis.call("publish on channel '" + channel + "'", false, j -> j.publish(c, m));
  }

  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    pubSub.close();
    redis.close();
  }

  @Override
  public String toString() {
    return name;
  }

  private byte[] key(String key) {
    StateChecks.requireName(key, "key");
    ensureOpen();
    return bytes(prefix + "k:" + key);
  }

  private byte[] lockKey(String resource) {
    return bytes(prefix + "lock:" + resource);
  }

  private byte[] fenceKey(String resource) {
    return bytes(prefix + "fence:" + resource);
  }

  private void ensureOpen() {
    if (closed) {
      throw new IllegalStateException(name + " state backend is closed");
    }
  }

  static byte[] bytes(String s) {
    return s.getBytes(UTF_8);
  }

  /** Escapes Redis glob metacharacters so that a prefix matches only itself. */
  static String globEscape(String s) {
    StringBuilder out = new StringBuilder(s.length() + 8);
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\' || c == '^' || c == '-') {
        out.append('\\');
      }
      out.append(c);
    }
    return out.toString();
  }

  /**
   * Configures a {@link RedisStateBackend}. Each setting may be given once; bad values fail at
   * once.
   */
  public static final class Builder {
    private final String host;
    private final int port;
    private String prefix = "buildnet:";
    private boolean prefixSet;
    private String user;
    private String password;
    private int database;
    private boolean databaseSet;
    private Duration connectTimeout = Duration.ofSeconds(2);
    private boolean connectTimeoutSet;
    private Duration operationTimeout = Duration.ofSeconds(5);
    private boolean operationTimeoutSet;
    private int maxConnections = 16;
    private boolean maxConnectionsSet;

    private Builder(String host, int port) {
      this.host = StateChecks.requireName(host, "host");
      if (port < 1 || port > 65535) {
        throw new IllegalArgumentException("port must be in 1..65535 but was " + port);
      }
      this.port = port;
    }

    /**
     * The prefix of every key and channel, so several BuildNet installations (or tests) can share
     * one Redis; default {@code buildnet:}. Masters that share a cache must use the same prefix.
     */
    public Builder prefix(String prefix) {
      once(prefixSet, "prefix", this.prefix);
      this.prefix = StateChecks.requireName(prefix, "prefix");
      prefixSet = true;
      return this;
    }

    /** Authenticates with {@code AUTH user password} (ACL user) before any command. */
    public Builder credentials(String user, String password) {
      once(this.password != null, "credentials", "(hidden)");
      this.user = user;
      this.password = StateChecks.requireName(password, "password");
      return this;
    }

    /** The Redis logical database; default 0. */
    public Builder database(int database) {
      once(databaseSet, "database", this.database);
      if (database < 0) {
        throw new IllegalArgumentException("database must not be negative but was " + database);
      }
      this.database = database;
      databaseSet = true;
      return this;
    }

    /** How long to wait for a connection to Redis; default 2 s. */
    public Builder connectTimeout(Duration timeout) {
      once(connectTimeoutSet, "connectTimeout", connectTimeout);
      this.connectTimeout = positiveMillis(timeout, "connectTimeout");
      connectTimeoutSet = true;
      return this;
    }

    /** How long to wait for a reply before a call fails; default 5 s. */
    public Builder operationTimeout(Duration timeout) {
      once(operationTimeoutSet, "operationTimeout", operationTimeout);
      this.operationTimeout = positiveMillis(timeout, "operationTimeout");
      operationTimeoutSet = true;
      return this;
    }

    /** The most pooled connections (calls beyond that wait for one); default 16. */
    public Builder maxConnections(int connections) {
      once(maxConnectionsSet, "maxConnections", maxConnections);
      if (connections < 1) {
        throw new IllegalArgumentException(
            "maxConnections must be at least 1 but was " + connections);
      }
      this.maxConnections = connections;
      maxConnectionsSet = true;
      return this;
    }

    /**
     * Creates the backend. Does not connect: an unreachable Redis shows as a {@link StateException}
     * on the first call, so a master can start while Redis is still coming up.
     */
    public RedisStateBackend open() {
      return new RedisStateBackend(this);
    }

    private static Duration positiveMillis(Duration d, String what) {
      Objects.requireNonNull(d, what);
      if (d.toMillis() < 1 || d.toMillis() > Integer.MAX_VALUE) {
        throw new IllegalArgumentException(
            what + " must be between 1 ms and " + Integer.MAX_VALUE + " ms but was " + d);
      }
      return d;
    }

    private static void once(boolean set, String what, Object current) {
      if (set) {
        throw new IllegalStateException(what + " was already set to " + current);
      }
    }
  }
}
