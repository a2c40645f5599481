package dev.buildnet.internal.graph;

import dev.buildnet.graph.Target;
import dev.buildnet.internal.hash.DirectoryListings;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Each target's last resolved inputs with the directory listings that decided them, so that a
 * null build gets a target's input files back at one map lookup per directory (each directory is
 * {@code stat}ed once per build by the build's {@link InputResolver}) instead of matching its
 * patterns and paths again.
 *
 * <p>The inputs are reused only when the target is the same and every listing they were resolved
 * from is still the one {@link DirectoryListings} remembers for its directory at an unchanged stat
 * (see {@link InputResolver#evidence}): the listings' own rule, racy window included, so reused
 * inputs are what resolving afresh gives. A target whose answer depends on something no listing
 * shows (a symbolic link on the way) is resolved every build. Watch mode needs nothing more: a
 * change a watcher reports is one the directory's stat shows.
 *
 * <p>Safe for concurrent use; one target is resolved by one thread at a time.
 */
public final class InputMemo {
  private record Memo(Target target, List<String> inputs, String[] directories,
      DirectoryListings.Listing[] listings) {}

  private final Map<String, Memo> memos = new ConcurrentHashMap<>();

  /**
   * A caller's place for one target's last memo (the engine keeps one per target of a build plan),
   * checked before the memo by name, and as fully: a memo carries everything its validity is
   * checked against, so one from a slot is exactly as good as one from the map.
   */
  public static final class Slot {
    private volatile Memo memo;
  }

  /**
   * {@code target}'s input files: those resolved last if nothing that decides them changed, else
   * {@code resolver}'s answer (which is then remembered if it can be checked that way).
   *
   * @throws dev.buildnet.graph.InvalidGraphException as {@link InputResolver#resolve} does
   */
  public List<String> resolve(Target target, InputResolver resolver) {
    return resolve(target, resolver, null);
  }

  /** {@link #resolve(Target, InputResolver)}, consulting and updating {@code slot} (or null). */
  public List<String> resolve(Target target, InputResolver resolver, Slot slot) {
    Memo m = slot == null ? null : slot.memo;
    if (m == null || m.target != target) {
      m = memos.get(target.name());
    }
    if (m != null && (m.target == target || m.target.equals(target))
        && resolver.stillListed(m.directories, m.listings)) {
      if (slot != null) {
        slot.memo = m;
      }
      return m.inputs;
    }
    memos.remove(target.name());
    if (slot != null) {
      slot.memo = null;
    }
    List<String> inputs = List.copyOf(resolver.resolve(target));
    Map<String, DirectoryListings.Listing> seen = new LinkedHashMap<>();
    if (resolver.evidence(target, seen)) {
      Memo made = new Memo(target, inputs, seen.keySet().toArray(new String[0]),
          seen.values().toArray(new DirectoryListings.Listing[0]));
      memos.put(target.name(), made);
      if (slot != null) {
        slot.memo = made;
      }
    }
    return inputs;
  }

  /** Forgets every target's inputs. */
  public void clear() {
    memos.clear();
  }
}
