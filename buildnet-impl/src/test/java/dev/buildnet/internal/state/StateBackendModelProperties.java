package dev.buildnet.internal.state;

import dev.buildnet.tck.MutableClock;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.buildnet.api.state.StateBackend;
import dev.buildnet.api.state.StateException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import net.jqwik.api.lifecycle.AfterProperty;
import net.jqwik.api.lifecycle.BeforeProperty;

/**
 * Runs random sequences of key-value operations and clock advances against a backend and against a
 * plain reference model of the spec, comparing every result. Keys, values and TTLs come from small
 * pools so that sequences collide on keys, hit expiry boundaries and mix integers with non-integers.
 * A backend's property class extends this and implements {@link #createBackend}.
 */
public abstract class StateBackendModelProperties {

  private MutableClock clock;
  private StateBackend backend;

  /** A new, empty backend on {@code clock}; one per property, shared by its tries. */
  protected abstract StateBackend createBackend(MutableClock clock);

  /** Called after the property's last try; closes the backend. Override to also delete files. */
  protected void dispose(StateBackend backend) {
    backend.close();
  }

  @BeforeProperty
  void createBackendForAllTries() {
    clock = new MutableClock();
    backend = createBackend(clock);
  }

  @AfterProperty
  void disposeBackend() {
    dispose(backend);
  }

  /**
   * Each try starts from an empty store. The backend is reused (opening a file per try would
   * dominate the run time), so expired-but-unswept rows from earlier tries are still in it, as
   * they would be in real use.
   */
  @Property(tries = 150)
  void behavesLikeTheReferenceModel(@ForAll("operations") List<Op> operations) {
    for (String key : backend.keys("")) {
      backend.delete(key);
    }
    Model model = new Model(clock);
    for (int step = 0; step < operations.size(); step++) {
      Op op = operations.get(step);
      String expected = outcome(() -> op.apply(model));
      String actual = outcome(() -> op.apply(backend, clock));
      assertEquals(expected, actual, "step " + step + " " + op + " of " + operations);
    }
  }

  @Provide
  Arbitrary<List<Op>> operations() {
    // Few keys so that operations collide; "a" is a prefix of "a/1"; "x😀" and "x\uFFFD" sort one
    // way in UTF-8 and the other way in UTF-16.
    Arbitrary<String> keys = Arbitraries.of("a", "b", "a/1", "x😀", "x\uFFFD");
    Arbitrary<String> prefixes = Arbitraries.of("", "a", "a/", "x", "z");
    Arbitrary<byte[]> values = Arbitraries.frequencyOf(
        Tuple.of(6, Arbitraries.of("0", "1", "-7", "41").map(s -> s.getBytes(UTF_8))),
        Tuple.of(2, Arbitraries.of("9223372036854775807", "abc", "", "1.5", " 2", "+3")
            .map(s -> s.getBytes(UTF_8))),
        Tuple.of(1, Arbitraries.bytes().array(byte[].class).ofMaxSize(3)));
    // Small TTLs and clock steps from a few values, so that steps often land exactly on an expiry.
    Arbitrary<Long> ttls = Arbitraries.frequencyOf(
        Tuple.of(1, Arbitraries.just(0L)),
        Tuple.of(1, Arbitraries.of(1L, 5L, 10L)));
    Arbitrary<Long> steps = Arbitraries.of(0L, 1L, 4L, 5L, 10L);
    Arbitrary<Long> deltas = Arbitraries.frequencyOf(
        Tuple.of(12, Arbitraries.longs().between(-5, 5)),
        Tuple.of(1, Arbitraries.of(Long.MAX_VALUE, Long.MIN_VALUE)));
    Arbitrary<Op> op = Arbitraries.frequencyOf(
        Tuple.of(4, Combinators.combine(keys, values, ttls).as(Put::new)),
        Tuple.of(4, keys.map(Get::new)),
        Tuple.of(1, keys.map(Delete::new)),
        Tuple.of(2, Combinators.combine(keys, values, ttls).as(SetIfAbsent::new)),
        Tuple.of(2, Combinators.combine(keys, values.injectNull(0.3), values)
            .as(CompareAndSet::new)),
        Tuple.of(3, Combinators.combine(keys, deltas).as(Increment::new)),
        Tuple.of(2, prefixes.map(Keys::new)),
        Tuple.of(3, steps.map(Advance::new)));
    return op.list().ofMinSize(5).ofMaxSize(50);
  }

  private interface Step {
    Object run();
  }

  /** The result of a step as comparable text: a value, or the kind of exception thrown. */
  private static String outcome(Step step) {
    try {
      Object result = step.run();
      if (result instanceof Optional<?> optional) {
        return optional.map(v -> "value " + HexFormat.of().formatHex((byte[]) v)).orElse("absent");
      }
      return String.valueOf(result);
    } catch (StateException e) {
      return "StateException";
    }
  }

  /** The spec, written as plainly as possible. Expiry: live while now < expiresAt. */
  static final class Model {
    private final MutableClock clock;
    private final Map<String, Entry> entries = new TreeMap<>();

    Model(MutableClock clock) {
      this.clock = clock;
    }

    record Entry(byte[] value, Long expiresAt) {}

    Entry live(String key) {
      Entry entry = entries.get(key);
      if (entry != null && entry.expiresAt != null && entry.expiresAt <= clock.millis()) {
        entries.remove(key);
        return null;
      }
      return entry;
    }

    Long expiry(long ttlMillis) {
      return ttlMillis == 0 ? null : clock.millis() + ttlMillis;
    }
  }

  sealed interface Op {
    Object apply(Model model);

    Object apply(StateBackend backend, MutableClock clock);
  }

  record Put(String key, byte[] value, long ttlMillis) implements Op {
    @Override
    public Object apply(Model model) {
      model.entries.put(key, new Model.Entry(value.clone(), model.expiry(ttlMillis)));
      return null;
    }

    @Override
    public Object apply(StateBackend backend, MutableClock clock) {
      if (ttlMillis == 0) {
        backend.set(key, value);
      } else {
        backend.set(key, value, Duration.ofMillis(ttlMillis));
      }
      return null;
    }

    @Override
    public String toString() {
      return "set(" + key + ", " + show(value) + (ttlMillis == 0 ? "" : ", ttl " + ttlMillis) + ")";
    }
  }

  record Get(String key) implements Op {
    @Override
    public Object apply(Model model) {
      Model.Entry entry = model.live(key);
      return entry == null ? Optional.empty() : Optional.of(entry.value);
    }

    @Override
    public Object apply(StateBackend backend, MutableClock clock) {
      return backend.get(key);
    }
  }

  record Delete(String key) implements Op {
    @Override
    public Object apply(Model model) {
      return model.live(key) != null && model.entries.remove(key) != null;
    }

    @Override
    public Object apply(StateBackend backend, MutableClock clock) {
      return backend.delete(key);
    }
  }

  record SetIfAbsent(String key, byte[] value, long ttlMillis) implements Op {
    @Override
    public Object apply(Model model) {
      if (model.live(key) != null) {
        return false;
      }
      model.entries.put(key, new Model.Entry(value.clone(), model.expiry(ttlMillis)));
      return true;
    }

    @Override
    public Object apply(StateBackend backend, MutableClock clock) {
      return backend.setIfAbsent(key, value, ttlMillis == 0 ? null : Duration.ofMillis(ttlMillis));
    }

    @Override
    public String toString() {
      return "setIfAbsent(" + key + ", " + show(value)
          + (ttlMillis == 0 ? "" : ", ttl " + ttlMillis) + ")";
    }
  }

  record CompareAndSet(String key, byte[] expected, byte[] update) implements Op {
    @Override
    public Object apply(Model model) {
      Model.Entry entry = model.live(key);
      boolean matches = expected == null
          ? entry == null
          : entry != null && Arrays.equals(entry.value, expected);
      if (matches) {
        model.entries.put(key, new Model.Entry(update.clone(), null));
      }
      return matches;
    }

    @Override
    public Object apply(StateBackend backend, MutableClock clock) {
      return backend.compareAndSet(key, expected, update);
    }

    @Override
    public String toString() {
      return "compareAndSet(" + key + ", " + (expected == null ? "null" : show(expected)) + ", "
          + show(update) + ")";
    }
  }

  record Increment(String key, long delta) implements Op {
    @Override
    public Object apply(Model model) {
      Model.Entry entry = model.live(key);
      long current;
      try {
        current = entry == null ? 0 : Long.parseLong(new String(entry.value, UTF_8));
      } catch (NumberFormatException e) {
        throw new StateException("not an integer");
      }
      long next;
      try {
        next = Math.addExact(current, delta);
      } catch (ArithmeticException e) {
        throw new StateException("overflow");
      }
      model.entries.put(key, new Model.Entry(
          Long.toString(next).getBytes(UTF_8), entry == null ? null : entry.expiresAt));
      return next;
    }

    @Override
    public Object apply(StateBackend backend, MutableClock clock) {
      return backend.increment(key, delta);
    }
  }

  record Keys(String prefix) implements Op {
    @Override
    public Object apply(Model model) {
      List<String> keys = new ArrayList<>();
      for (String key : List.copyOf(model.entries.keySet())) {
        if (key.startsWith(prefix) && model.live(key) != null) {
          keys.add(key);
        }
      }
      return keys;
    }

    @Override
    public Object apply(StateBackend backend, MutableClock clock) {
      return backend.keys(prefix);
    }
  }

  record Advance(long millis) implements Op {
    @Override
    public Object apply(Model model) {
      return null; // the backend's step moves the shared clock
    }

    @Override
    public Object apply(StateBackend backend, MutableClock clock) {
      clock.advanceMillis(millis);
      return null;
    }
  }

  private static String show(byte[] value) {
    return "\"" + new String(value, UTF_8) + "\"/" + HexFormat.of().formatHex(value);
  }
}
