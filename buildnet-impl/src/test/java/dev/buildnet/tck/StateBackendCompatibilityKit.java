package dev.buildnet.tck;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildnet.api.state.Lock;
import dev.buildnet.api.state.StateBackend;
import dev.buildnet.api.state.StateException;
import dev.buildnet.api.state.Subscription;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/**
 * The behaviour every {@link StateBackend} must have, as the API's Javadoc specifies it. A backend's
 * test extends this class and implements {@link #createBackend}; JUnit runs every nested group
 * against it.
 *
 * <p>Time is controlled with a {@link MutableClock}: ttl() and lease tests advance it and never sleep.
 * A backend whose TTLs run on a server's clock (Redis) cannot be given the clock; it overrides the
 * time hooks ({@link #elapse}, {@link #now}, {@link #ttl}, {@link #longTtl}, {@link #margin},
 * {@link #realClock}) so that the same cases wait real, short, bounded time instead. The defaults
 * are exactly the injected-clock behaviour, so the kit is no weaker for the other backends.
 */
public abstract class StateBackendCompatibilityKit {
  private static final long WAIT_SECONDS = 30;

  /** The clock the backend under test was created with. */
  protected MutableClock clock;
  /** A fresh, empty backend for each test; closed after it. */
  protected StateBackend backend;

  /**
   * A new, empty backend that measures TTLs and leases on {@code clock}. Called once per test;
   * the kit closes the backend after the test.
   */
  protected abstract StateBackend createBackend(MutableClock clock);

  /** The ttl() and lease the expiry and lock cases use. */
  protected Duration ttl() {
    return Duration.ofSeconds(10);
  }

  /** A ttl() that outlives every case that uses {@link #ttl()} (must exceed it). */
  protected Duration longTtl() {
    return Duration.ofMinutes(10);
  }

  /** How close to an expiry the cases probe: "just before" is {@code ttl() - margin()}. */
  protected Duration margin() {
    return Duration.ofMillis(1);
  }

  /** Lets {@code amount} of the backend's time pass: advances the injected clock by default. */
  protected void elapse(Duration amount) {
    clock.advance(amount);
  }

  /** The backend's current time, as it stamps leases. */
  protected Instant now() {
    return clock.instant();
  }

  /**
   * Whether time passes on its own (a server's clock): then a result that depends on no time
   * having passed between two calls is checked only when the calls were fast enough to tell.
   */
  protected boolean realClock() {
    return false;
  }

  @BeforeEach
  void createBackendUnderTest() {
    clock = new MutableClock();
    backend = createBackend(clock);
  }

  @AfterEach
  void closeBackendUnderTest() {
    if (backend != null) {
      backend.close();
    }
  }

  /** Exactly {@code earliest} on the injected clock; within the call's span on a real one. */
  private static void assertExpiresBetween(Instant earliest, Instant latest, Instant actual) {
    assertFalse(actual.isBefore(earliest) || actual.isAfter(latest),
        "expiry " + actual + " should be in [" + earliest + ", " + latest + "]");
  }

  /**
   * The contract for fencing: a stale, released or forged lock fails with a {@link StateException}
   * whose reason is {@code LOCK_NOT_HELD} and that carries the lock presented.
   */
  protected static StateException assertLockNotHeld(Lock presented, Executable call) {
    StateException e = assertThrows(StateException.class, call);
    assertEquals(StateException.Reason.LOCK_NOT_HELD, e.reason(), e.getMessage());
    assertEquals(presented, e.lock());
    return e;
  }

  protected static byte[] bytes(String text) {
    return text.getBytes(UTF_8);
  }

  protected static String text(Optional<byte[]> value) {
    return value.map(b -> new String(b, UTF_8)).orElse(null);
  }

  protected static <T> T await(Future<T> future) throws Exception {
    return future.get(WAIT_SECONDS, TimeUnit.SECONDS);
  }

  @Nested
  public class KeyValue {
    @Test
    void get_absentKey_isEmpty() {
      assertTrue(backend.get("missing").isEmpty());
    }

    @Test
    void set_thenGet_returnsTheValue() {
      backend.set("k", bytes("v1"));
      assertEquals("v1", text(backend.get("k")));
    }

    @Test
    void set_existingKey_replacesTheValue() {
      backend.set("k", bytes("v1"));
      backend.set("k", bytes("v2"));
      assertEquals("v2", text(backend.get("k")));
    }

    @Test
    void stringConveniences_useUtf8() {
      backend.setString("k", "grüße 😀");
      assertArrayEquals("grüße 😀".getBytes(UTF_8), backend.get("k").orElseThrow());
      assertEquals(Optional.of("grüße 😀"), backend.getString("k"));
    }

    @Test
    void emptyValue_isStoredAndDistinctFromAbsent() {
      backend.set("empty", new byte[0]);
      assertArrayEquals(new byte[0], backend.get("empty").orElseThrow());
    }

    @Test
    void largeBinaryValue_roundTripsExactly() {
      byte[] value = new byte[256 * 1024];
      for (int i = 0; i < value.length; i++) {
        value[i] = (byte) (i * 31 + (i >>> 8));
      }
      backend.set("big", value);
      assertArrayEquals(value, backend.get("big").orElseThrow());
    }

    @Test
    void keysWithUnusualCharacters_areDistinct() {
      List<String> keys = List.of("a", "A", "a ", "ä", "😀", "a/b", "a'b", "a%b", "a_b", "-");
      for (String key : keys) {
        backend.setString(key, "value of " + key);
      }
      for (String key : keys) {
        assertEquals(Optional.of("value of " + key), backend.getString(key), key);
      }
    }

    @Test
    void values_areCopiedOnTheWayIn() {
      byte[] value = bytes("original");
      backend.set("k", value);
      value[0] = 'X';
      assertEquals("original", text(backend.get("k")));
    }

    @Test
    void values_areCopiedOnTheWayOut() {
      backend.set("k", bytes("original"));
      backend.get("k").orElseThrow()[0] = 'X';
      assertEquals("original", text(backend.get("k")));
    }

    @Test
    void delete_liveKey_removesItAndReturnsTrue() {
      backend.set("k", bytes("v"));
      assertTrue(backend.delete("k"));
      assertTrue(backend.get("k").isEmpty());
    }

    @Test
    void delete_absentKey_returnsFalse() {
      assertFalse(backend.delete("k"));
      backend.set("k", bytes("v"));
      backend.delete("k");
      assertFalse(backend.delete("k"));
    }

    @Test
    void setIfAbsent_absentKey_storesAndReturnsTrue() {
      assertTrue(backend.setIfAbsent("k", bytes("first"), null));
      assertEquals("first", text(backend.get("k")));
    }

    @Test
    void setIfAbsent_presentKey_keepsOldValueAndReturnsFalse() {
      backend.set("k", bytes("first"));
      assertFalse(backend.setIfAbsent("k", bytes("second"), null));
      assertEquals("first", text(backend.get("k")));
    }

    @Test
    void compareAndSet_matchingValue_swaps() {
      backend.set("k", bytes("old"));
      assertTrue(backend.compareAndSet("k", bytes("old"), bytes("new")));
      assertEquals("new", text(backend.get("k")));
    }

    @Test
    void compareAndSet_differentValue_leavesItAlone() {
      backend.set("k", bytes("old"));
      assertFalse(backend.compareAndSet("k", bytes("olD"), bytes("new")));
      assertFalse(backend.compareAndSet("k", bytes("ol"), bytes("new")));
      assertFalse(backend.compareAndSet("k", bytes("old\0"), bytes("new")));
      assertEquals("old", text(backend.get("k")));
    }

    @Test
    void compareAndSet_expectedValueOfAbsentKey_fails() {
      assertFalse(backend.compareAndSet("k", bytes("old"), bytes("new")));
      assertTrue(backend.get("k").isEmpty());
    }

    @Test
    void compareAndSet_nullExpected_swapsOnlyIfAbsent() {
      assertTrue(backend.compareAndSet("k", null, bytes("first")));
      assertFalse(backend.compareAndSet("k", null, bytes("second")));
      assertEquals("first", text(backend.get("k")));
    }

    @Test
    void compareAndSet_emptyExpected_matchesAnEmptyValueOnly() {
      assertFalse(backend.compareAndSet("k", new byte[0], bytes("x")));
      backend.set("k", new byte[0]);
      assertTrue(backend.compareAndSet("k", new byte[0], bytes("x")));
      assertEquals("x", text(backend.get("k")));
    }

    @Test
    void keys_returnsKeysWithThePrefixInAscendingOrder() {
      for (String key : List.of("b/2", "a/2", "a", "a/1", "ab", "b/1", "a/10")) {
        backend.set(key, bytes("v"));
      }
      assertEquals(List.of("a/1", "a/10", "a/2"), backend.keys("a/"));
      assertEquals(List.of("a", "a/1", "a/10", "a/2", "ab"), backend.keys("a"));
      assertEquals(List.of("a", "a/1", "a/10", "a/2", "ab", "b/1", "b/2"), backend.keys(""));
      assertEquals(List.of(), backend.keys("c"));
      assertEquals(List.of(), backend.keys("a/1/"));
    }

    @Test
    void keys_areInStringOrderAlsoBeyondTheBasicPlane() {
      // UTF-16 order (String) and UTF-8 byte order disagree on these two.
      backend.set("x\uFFFD", bytes("v"));
      backend.set("x😀", bytes("v"));
      backend.set("x", bytes("v"));
      List<String> expected = new ArrayList<>(List.of("x\uFFFD", "x😀", "x"));
      Collections.sort(expected);
      assertEquals(expected, backend.keys(""));
      assertEquals(expected, backend.keys("x"));
    }

    @Test
    void keys_omitsDeletedKeys() {
      backend.set("p/a", bytes("v"));
      backend.set("p/b", bytes("v"));
      backend.delete("p/a");
      assertEquals(List.of("p/b"), backend.keys("p/"));
    }

    @Test
    void increment_absentKey_startsFromZero() {
      assertEquals(5, backend.increment("n", 5));
      assertEquals("5", text(backend.get("n")));
    }

    @Test
    void increment_existingInteger_addsAndStoresDecimalText() {
      backend.setString("n", "41");
      assertEquals(42, backend.increment("n", 1));
      assertEquals(-58, backend.increment("n", -100));
      assertEquals(Optional.of("-58"), backend.getString("n"));
    }

    @Test
    void increment_nonIntegerValue_throwsStateExceptionNamingTheKeyAndKeepsTheValue() {
      backend.setString("n", "forty-two");
      StateException e = assertThrows(StateException.class, () -> backend.increment("n", 1));
      assertEquals(StateException.Reason.FAILED, e.reason());
      assertTrue(e.getMessage().contains("'n'"), e.getMessage());
      assertEquals(Optional.of("forty-two"), backend.getString("n"));
    }

    @Test
    void increment_ofDigitsOutsideAscii_throwsStateExceptionAndKeepsTheValue() {
      // "\u0665" (Arabic-Indic five) and "\uff15" (fullwidth five) are digits to
      // Long.parseLong, but a counter is ASCII decimal text (docs/PROTOCOL.md, STATE_INCREMENT).
      for (String value : List.of("\u0665", "\uff15", "1\u0661")) {
        backend.setString("n", value);
        assertEquals(StateException.Reason.FAILED,
            assertThrows(StateException.class, () -> backend.increment("n", 1)).reason(), value);
        assertEquals(Optional.of(value), backend.getString("n"));
      }
    }

    @Test
    void increment_pastLongMaxValue_throwsStateExceptionAndKeepsTheValue() {
      backend.setString("n", Long.toString(Long.MAX_VALUE));
      assertEquals(StateException.Reason.FAILED,
          assertThrows(StateException.class, () -> backend.increment("n", 1)).reason());
      assertEquals(Optional.of(Long.toString(Long.MAX_VALUE)), backend.getString("n"));
    }

    @Test
    void increment_fromManyThreads_losesNoUpdate() throws Exception {
      int threads = 4;
      int perThread = 100;
      ExecutorService pool = Executors.newFixedThreadPool(threads);
      try {
        CountDownLatch start = new CountDownLatch(1);
        List<Future<?>> done = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
          done.add(pool.submit(() -> {
            start.await();
            for (int i = 0; i < perThread; i++) {
              backend.increment("n", 1);
            }
            return null;
          }));
        }
        start.countDown();
        for (Future<?> future : done) {
          await(future);
        }
      } finally {
        pool.shutdownNow();
      }
      assertEquals(Optional.of(Integer.toString(threads * perThread)), backend.getString("n"));
    }
  }

  @Nested
  public class Expiry {
    @Test
    void keyWithTtl_isPresentUntilTheTtlHasPassed() {
      backend.set("k", bytes("v"), ttl());
      elapse(ttl().minus(margin()));
      assertEquals("v", text(backend.get("k")));
      elapse(margin());
      assertTrue(backend.get("k").isEmpty());
    }

    @Test
    void subMillisecondTtl_doesNotExpireAtOnce() {
      long start = System.nanoTime();
      backend.set("k", bytes("v"), Duration.ofNanos(1));
      Optional<byte[]> read = backend.get("k");
      // On a real clock, "at once" is only decidable if set and get took under a millisecond.
      if (!realClock() || System.nanoTime() - start < 1_000_000) {
        assertEquals("v", text(read));
      }
      elapse(Duration.ofMillis(1));
      assertTrue(backend.get("k").isEmpty());
    }

    @Test
    void expiredKey_isAbsentForEveryOperation() {
      backend.set("p/k", bytes("v"), ttl());
      elapse(ttl());
      assertAll(
          () -> assertTrue(backend.get("p/k").isEmpty()),
          () -> assertEquals(List.of(), backend.keys("p/")),
          () -> assertFalse(backend.compareAndSet("p/k", bytes("v"), bytes("w"))),
          () -> assertFalse(backend.delete("p/k")));
    }

    @Test
    void setIfAbsent_onExpiredKey_stores() {
      backend.set("k", bytes("old"), ttl());
      elapse(ttl());
      assertTrue(backend.setIfAbsent("k", bytes("new"), null));
      assertEquals("new", text(backend.get("k")));
    }

    @Test
    void setIfAbsent_withTtl_expires() {
      assertTrue(backend.setIfAbsent("k", bytes("v"), ttl()));
      elapse(ttl());
      assertTrue(backend.get("k").isEmpty());
    }

    @Test
    void compareAndSet_nullExpectedOnExpiredKey_swaps() {
      backend.set("k", bytes("old"), ttl());
      elapse(ttl());
      assertTrue(backend.compareAndSet("k", null, bytes("new")));
      assertEquals("new", text(backend.get("k")));
    }

    @Test
    void setWithoutTtl_removesAnEarlierTtl() {
      backend.set("k", bytes("v1"), ttl());
      backend.set("k", bytes("v2"));
      elapse(longTtl());
      assertEquals("v2", text(backend.get("k")));
    }

    @Test
    void setWithTtl_replacesAnEarlierTtl() {
      backend.set("k", bytes("v1"), longTtl());
      backend.set("k", bytes("v2"), ttl());
      elapse(ttl());
      assertTrue(backend.get("k").isEmpty());
    }

    @Test
    void compareAndSet_newValueHasNoExpiry() {
      backend.set("k", bytes("old"), ttl());
      assertTrue(backend.compareAndSet("k", bytes("old"), bytes("new")));
      elapse(longTtl());
      assertEquals("new", text(backend.get("k")));
    }

    @Test
    void increment_keepsTheTtl() {
      backend.setString("n", "1", ttl());
      elapse(ttl().minus(margin()));
      assertEquals(2, backend.increment("n", 1));
      elapse(margin());
      assertTrue(backend.get("n").isEmpty());
    }

    @Test
    void increment_ofExpiredKey_startsFromZeroWithoutTtl() {
      backend.setString("n", "41", ttl());
      elapse(ttl());
      assertEquals(1, backend.increment("n", 1));
      elapse(longTtl());
      assertEquals(Optional.of("1"), backend.getString("n"));
    }

    @Test
    void manyExpiredKeys_areAllAbsentWhileLiveOnesRemain() {
      // On a server's clock 600 writes can take longer than longTtl - ttl on a loaded machine, so
      // a long-lived key must be live only if its longTtl, counted from before it was sent, has not
      // run out by the time keys() answered. With an injected clock that is every one of them.
      List<String> mustBeLive = new ArrayList<>();
      List<Instant> sentAt = new ArrayList<>();
      for (int i = 0; i < 600; i++) {
        sentAt.add(now());
        backend.set(String.format("k%03d", i), bytes("v"), i % 2 == 0 ? ttl() : longTtl());
      }
      elapse(ttl());
      List<String> live = backend.keys("k");
      Instant answeredBy = now();
      for (int i = 1; i < 600; i += 2) {
        if (sentAt.get(i).plus(longTtl()).isAfter(answeredBy)) {
          mustBeLive.add(String.format("k%03d", i));
        }
      }
      if (!realClock()) {
        assertEquals(300, mustBeLive.size());
      }
      assertTrue(live.stream().allMatch(k -> Integer.parseInt(k.substring(1)) % 2 == 1), live::toString);
      assertTrue(live.containsAll(mustBeLive), () -> "live " + live + ", must be live " + mustBeLive);
    }
  }

  @Nested
  public class Locks {
    @Test
    void acquireLock_freeResource_grantsALeaseWithTokenOne() {
      Instant before = now().truncatedTo(ChronoUnit.MICROS);
      Lock lock = backend.acquireLock("r", ttl(), "alice").orElseThrow();
      Instant after = now();
      assertEquals("r", lock.resource());
      assertEquals("alice", lock.owner());
      assertEquals(1, lock.fencingToken());
      assertExpiresBetween(before.plus(ttl()), after.plus(ttl()), lock.expiresAt());
    }

    @Test
    void acquireLock_heldResource_returnsEmptyForAnyoneElse() {
      backend.acquireLock("r", ttl(), "alice").orElseThrow();
      assertTrue(backend.acquireLock("r", ttl(), "bob").isEmpty());
    }

    @Test
    void acquireLock_isNotReentrant() {
      backend.acquireLock("r", ttl(), "alice").orElseThrow();
      assertTrue(backend.acquireLock("r", ttl(), "alice").isEmpty());
    }

    @Test
    void acquireLock_afterRelease_grantsAHigherToken() {
      Lock first = backend.acquireLock("r", ttl(), "alice").orElseThrow();
      backend.release(first);
      Lock second = backend.acquireLock("r", ttl(), "bob").orElseThrow();
      assertEquals("bob", second.owner());
      assertTrue(second.fencingToken() > first.fencingToken(), second + " after " + first);
    }

    @Test
    void fencingTokens_strictlyIncreasePerResourceAndAreIndependentAcrossResources() {
      long previous = 0;
      for (int i = 0; i < 20; i++) {
        Lock lock = backend.acquireLock("a", ttl(), "alice").orElseThrow();
        assertTrue(lock.fencingToken() > previous, lock + " after token " + previous);
        previous = lock.fencingToken();
        backend.release(lock);
      }
      assertEquals(1, backend.acquireLock("b", ttl(), "alice").orElseThrow().fencingToken());
      assertTrue(backend.acquireLock("a", ttl(), "alice").orElseThrow().fencingToken() > previous);
    }

    @Test
    void expiredLease_isFreeAndRegrantedWithAHigherToken() {
      Lock stale = backend.acquireLock("r", ttl(), "alice").orElseThrow();
      elapse(ttl());
      Lock fresh = backend.acquireLock("r", ttl(), "bob").orElseThrow();
      assertTrue(fresh.fencingToken() > stale.fencingToken());
    }

    @Test
    void lease_isHeldUntilItsExpiry() {
      backend.acquireLock("r", ttl(), "alice").orElseThrow();
      elapse(ttl().minus(margin()));
      assertTrue(backend.acquireLock("r", ttl(), "bob").isEmpty());
      elapse(margin());
      assertTrue(backend.acquireLock("r", ttl(), "bob").isPresent());
    }

    @Test
    void renew_extendsTheLeaseAndKeepsTheToken() {
      Lock lock = backend.acquireLock("r", ttl(), "alice").orElseThrow();
      elapse(ttl().minus(margin()));
      Instant before = now().truncatedTo(ChronoUnit.MICROS);
      Lock renewed = backend.renew(lock, ttl());
      Instant after = now();
      assertEquals(lock.fencingToken(), renewed.fencingToken());
      assertEquals("alice", renewed.owner());
      assertExpiresBetween(before.plus(ttl()), after.plus(ttl()), renewed.expiresAt());
      elapse(ttl().minus(margin()));
      assertTrue(backend.acquireLock("r", ttl(), "bob").isEmpty());
      backend.release(renewed);
    }

    @Test
    void renew_afterExpiry_throwsLockNotHeldNamingHolderAndToken() {
      Lock lock = backend.acquireLock("r", ttl(), "alice").orElseThrow();
      elapse(ttl());
      StateException e = assertLockNotHeld(lock, () -> backend.renew(lock, ttl()));
      assertTrue(e.getMessage().contains("alice"), e.getMessage());
      assertTrue(e.getMessage().contains("token " + lock.fencingToken()), e.getMessage());
    }

    @Test
    void staleHolder_isRejectedAfterTheLeaseWasRegranted() {
      Lock stale = backend.acquireLock("r", ttl(), "alice").orElseThrow();
      elapse(ttl());
      Lock current = backend.acquireLock("r", ttl(), "bob").orElseThrow();
      StateException renew = assertLockNotHeld(stale, () -> backend.renew(stale, ttl()));
      StateException release = assertLockNotHeld(stale, () -> backend.release(stale));
      for (StateException e : List.of(renew, release)) {
        assertTrue(e.getMessage().contains("alice"), e.getMessage());
        assertTrue(e.getMessage().contains("bob"), e.getMessage());
      }
      // The stale holder's failed calls did not disturb the current one.
      assertTrue(backend.acquireLock("r", ttl(), "carol").isEmpty());
      backend.release(current);
    }

    @Test
    void release_twice_throwsLockNotHeld() {
      Lock lock = backend.acquireLock("r", ttl(), "alice").orElseThrow();
      backend.release(lock);
      assertLockNotHeld(lock, () -> backend.release(lock));
    }

    @Test
    void release_afterExpiry_throwsLockNotHeld() {
      Lock lock = backend.acquireLock("r", ttl(), "alice").orElseThrow();
      elapse(ttl());
      assertLockNotHeld(lock, () -> backend.release(lock));
    }

    @Test
    void forgedLock_withTheRightTokenButAnotherOwner_isRejected() {
      Lock lock = backend.acquireLock("r", ttl(), "alice").orElseThrow();
      Lock forged = new Lock("r", "mallory", lock.fencingToken(), lock.expiresAt());
      assertLockNotHeld(forged, () -> backend.release(forged));
      assertLockNotHeld(forged, () -> backend.renew(forged, ttl()));
      backend.release(lock);
    }

    @Test
    void lockResources_andKeys_areSeparateNamespaces() {
      backend.set("r", bytes("v"));
      Lock lock = backend.acquireLock("r", ttl(), "alice").orElseThrow();
      assertEquals("v", text(backend.get("r")));
      backend.delete("r");
      backend.release(lock);
    }

    @Test
    void lock_excludesEightContendingThreads() throws Exception {
      int threads = 8;
      int rounds = 40;
      AtomicReference<String> holder = new AtomicReference<>();
      AtomicInteger overlaps = new AtomicInteger();
      List<Long> tokens = Collections.synchronizedList(new ArrayList<>());
      int[] unprotectedCounter = {0};
      ExecutorService pool = Executors.newFixedThreadPool(threads);
      try {
        CountDownLatch start = new CountDownLatch(1);
        List<Future<?>> done = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
          String me = "worker-" + t;
          done.add(pool.submit(() -> {
            start.await();
            for (int i = 0; i < rounds; i++) {
              Lock lock;
              while ((lock = backend.acquireLock("shared", longTtl(), me).orElse(null)) == null) {
                Thread.yield();
              }
              if (!holder.compareAndSet(null, me)) {
                overlaps.incrementAndGet();
              }
              tokens.add(lock.fencingToken());
              int read = unprotectedCounter[0];
              Thread.yield(); // widen the race window a broken lock would lose updates in
              unprotectedCounter[0] = read + 1;
              holder.compareAndSet(me, null);
              backend.release(lock);
            }
            return null;
          }));
        }
        start.countDown();
        for (Future<?> future : done) {
          await(future);
        }
      } finally {
        pool.shutdownNow();
      }
      assertEquals(0, overlaps.get(), "times two threads held the lock at once");
      assertEquals(threads * rounds, unprotectedCounter[0]);
      for (int i = 1; i < tokens.size(); i++) {
        assertTrue(tokens.get(i) > tokens.get(i - 1), "tokens in grant order: " + tokens);
      }
    }
  }

  @Nested
  public class PubSub {
    @Test
    void subscribeAndPublish_areSupportedExactlyWhenCapabilitiesSaySo() {
      if (backend.capabilities().pubSub()) {
        try (Subscription subscription = backend.subscribe("c", m -> {})) {
          assertEquals("c", subscription.channel());
          backend.publish("c", bytes("m"));
        }
      } else {
        UnsupportedOperationException subscribe = assertThrows(
            UnsupportedOperationException.class, () -> backend.subscribe("c", m -> {}));
        UnsupportedOperationException publish = assertThrows(
            UnsupportedOperationException.class, () -> backend.publish("c", bytes("m")));
        assertTrue(subscribe.getMessage().contains(backend.name()), subscribe.getMessage());
        assertTrue(publish.getMessage().contains(backend.name()), publish.getMessage());
      }
    }

    @Test
    void messages_arriveInPublishOrderPerChannel() throws Exception {
      if (!supportsPubSubElseAssertUnsupported()) {
        return;
      }
      int count = 200;
      Collector a = new Collector(count);
      Collector b = new Collector(count);
      try (Subscription sa = backend.subscribe("a", a); Subscription sb = backend.subscribe("b", b)) {
        assertEquals(List.of("a", "b"), List.of(sa.channel(), sb.channel()));
        for (int i = 0; i < count; i++) {
          backend.publish("a", bytes("a" + i));
          backend.publish("b", bytes("b" + i));
        }
        List<String> expectedA = new ArrayList<>();
        List<String> expectedB = new ArrayList<>();
        for (int i = 0; i < count; i++) {
          expectedA.add("a" + i);
          expectedB.add("b" + i);
        }
        assertEquals(expectedA, await(a.done));
        assertEquals(expectedB, await(b.done));
      }
    }

    @Test
    void everySubscriberOfAChannel_getsEachMessage() throws Exception {
      if (!supportsPubSubElseAssertUnsupported()) {
        return;
      }
      Collector first = new Collector(1);
      Collector second = new Collector(1);
      try (Subscription s1 = backend.subscribe("c", first);
          Subscription s2 = backend.subscribe("c", second)) {
        assertEquals(List.of("c", "c"), List.of(s1.channel(), s2.channel()));
        backend.publish("c", bytes("hello"));
        assertEquals(List.of("hello"), await(first.done));
        assertEquals(List.of("hello"), await(second.done));
      }
    }

    @Test
    void closedSubscription_receivesNothingMore() throws Exception {
      if (!supportsPubSubElseAssertUnsupported()) {
        return;
      }
      Collector closed = new Collector(Integer.MAX_VALUE);
      Collector open = new Collector(2);
      Subscription closing = backend.subscribe("c", closed);
      try (Subscription staying = backend.subscribe("c", open)) {
        assertEquals("c", staying.channel());
        closing.close();
        closing.close(); // idempotent
        backend.publish("c", bytes("one"));
        backend.publish("c", bytes("two"));
        assertEquals(List.of("one", "two"), await(open.done));
        assertEquals(List.of(), closed.received);
      }
    }

    @Test
    void publishedMessage_isCopied() throws Exception {
      if (!supportsPubSubElseAssertUnsupported()) {
        return;
      }
      Collector collector = new Collector(1);
      try (Subscription s = backend.subscribe("c", collector)) {
        assertEquals("c", s.channel());
        byte[] message = bytes("original");
        backend.publish("c", message);
        message[0] = 'X';
        assertEquals(List.of("original"), await(collector.done));
      }
    }

    @Test
    void throwingListener_doesNotStopDelivery() throws Exception {
      if (!supportsPubSubElseAssertUnsupported()) {
        return;
      }
      Collector collector = new Collector(2);
      try (Subscription bad = backend.subscribe("c", m -> {
            throw new IllegalStateException("listener failure on purpose");
          });
          Subscription good = backend.subscribe("c", collector)) {
        assertEquals(List.of("c", "c"), List.of(bad.channel(), good.channel()));
        backend.publish("c", bytes("one"));
        backend.publish("c", bytes("two"));
        assertEquals(List.of("one", "two"), await(collector.done));
      }
    }

    /** True if pub/sub is supported; otherwise checks that it is refused as documented. */
    private boolean supportsPubSubElseAssertUnsupported() {
      if (backend.capabilities().pubSub()) {
        return true;
      }
      assertThrows(UnsupportedOperationException.class, () -> backend.subscribe("c", m -> {}));
      assertThrows(UnsupportedOperationException.class, () -> backend.publish("c", bytes("m")));
      return false;
    }
  }

  /** A listener that records messages as text and completes once it has {@code expected}. */
  protected static final class Collector implements Consumer<byte[]> {
    public final List<String> received = new CopyOnWriteArrayList<>();
    public final CompletableFuture<List<String>> done = new CompletableFuture<>();
    private final int expected;

    public Collector(int expected) {
      this.expected = expected;
    }

    @Override
    public void accept(byte[] message) {
      received.add(new String(message, UTF_8));
      if (received.size() == expected) {
        done.complete(List.copyOf(received));
      }
    }
  }

  @Nested
  public class BadInput {
    @Test
    void nullOrEmptyKey_isRejectedByEveryKeyOperation() {
      for (String key : new String[] {null, ""}) {
        assertIllegalArgument("key",
            () -> backend.get(key),
            () -> backend.set(key, bytes("v")),
            () -> backend.set(key, bytes("v"), ttl()),
            () -> backend.delete(key),
            () -> backend.setIfAbsent(key, bytes("v"), null),
            () -> backend.compareAndSet(key, null, bytes("v")),
            () -> backend.increment(key, 1));
      }
    }

    @Test
    void nullValue_isRejected() {
      assertIllegalArgument("value",
          () -> backend.set("k", null),
          () -> backend.set("k", null, ttl()),
          () -> backend.setIfAbsent("k", null, null));
      assertIllegalArgument("update", () -> backend.compareAndSet("k", null, null));
      assertTrue(backend.get("k").isEmpty());
    }

    @Test
    void nonPositiveOrNullTtl_isRejected() {
      for (Duration ttl : new Duration[] {Duration.ZERO, Duration.ofMillis(-1)}) {
        assertIllegalArgument("ttl",
            () -> backend.set("k", bytes("v"), ttl),
            () -> backend.setIfAbsent("k", bytes("v"), ttl),
            () -> backend.acquireLock("r", ttl, "alice"));
      }
      assertIllegalArgument("ttl",
          () -> backend.set("k", bytes("v"), null),
          () -> backend.acquireLock("r", null, "alice"));
      assertTrue(backend.get("k").isEmpty());
      assertTrue(backend.acquireLock("r", ttl(), "alice").isPresent());
    }

    @Test
    void nullPrefix_isRejected() {
      assertIllegalArgument("prefix", () -> backend.keys(null));
    }

    @Test
    void badLockArguments_areRejected() {
      assertIllegalArgument("resource",
          () -> backend.acquireLock(null, ttl(), "alice"),
          () -> backend.acquireLock("", ttl(), "alice"));
      assertIllegalArgument("owner",
          () -> backend.acquireLock("r", ttl(), null),
          () -> backend.acquireLock("r", ttl(), ""));
      assertIllegalArgument("lock",
          () -> backend.renew(null, ttl()),
          () -> backend.release(null));
      Lock lock = backend.acquireLock("r", ttl(), "alice").orElseThrow();
      assertIllegalArgument("ttl",
          () -> backend.renew(lock, Duration.ZERO),
          () -> backend.renew(lock, null));
      backend.release(lock);
    }

    private void assertIllegalArgument(String argument, Executable... calls) {
      for (Executable call : calls) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
        assertTrue(e.getMessage().contains(argument),
            "message should name '" + argument + "': " + e.getMessage());
      }
    }
  }

  @Nested
  public class Lifecycle {
    @Test
    void name_isNotEmptyAndStableAfterClose() {
      String name = backend.name();
      assertNotNull(name);
      assertFalse(name.isEmpty());
      backend.close();
      assertEquals(name, backend.name());
      assertNotNull(backend.capabilities());
    }

    @Test
    void close_isIdempotent() {
      backend.close();
      backend.close();
    }

    @Test
    void everyOperation_afterClose_throwsIllegalState() {
      Lock lock = backend.acquireLock("r", ttl(), "alice").orElseThrow();
      backend.close();
      List<Executable> calls = new ArrayList<>(List.of(
          () -> backend.get("k"),
          () -> backend.set("k", bytes("v")),
          () -> backend.set("k", bytes("v"), ttl()),
          () -> backend.delete("k"),
          () -> backend.setIfAbsent("k", bytes("v"), null),
          () -> backend.compareAndSet("k", null, bytes("v")),
          () -> backend.keys(""),
          () -> backend.increment("k", 1),
          () -> backend.acquireLock("r2", ttl(), "alice"),
          () -> backend.renew(lock, ttl()),
          () -> backend.release(lock)));
      if (backend.capabilities().pubSub()) {
        calls.add(() -> backend.subscribe("c", m -> {}));
        calls.add(() -> backend.publish("c", bytes("m")));
      }
      for (int i = 0; i < calls.size(); i++) {
        IllegalStateException e =
            assertThrows(IllegalStateException.class, calls.get(i), "call #" + i);
        assertTrue(e.getMessage().contains("closed"), e.getMessage());
      }
    }

    @Test
    void subscription_closedAfterTheBackend_closesQuietly() {
      if (!backend.capabilities().pubSub()) {
        assertThrows(UnsupportedOperationException.class, () -> backend.subscribe("c", m -> {}));
        return;
      }
      Subscription subscription = backend.subscribe("c", m -> {});
      backend.close();
      subscription.close();
    }
  }
}
