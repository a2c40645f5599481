package dev.buildnet.internal.engine;

import dev.buildnet.api.hash.Digest;
import dev.buildnet.graph.Target;
import dev.buildnet.internal.cache.KeyManifest;
import dev.buildnet.internal.hash.FileDigestCache;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Each target's last computed key with what it was computed from, so that a null build gets the
 * same key back at one {@code stat} per input instead of a digest-cache lookup per input, the
 * manifest's sorted maps and the key's encoding and hash (most of what keying a hit cost).
 *
 * <p>The key is reused only when everything it covers is provably what it was: the same target
 * (command, environment, outputs... are the target's own; the host environment and platform are
 * fixed per {@link KeyService}), the same resolved input files, the same dependency keys and
 * output digests, and every input's digest still vouched for by the {@link FileDigestCache} entry
 * it came from, at exactly the stat that entry holds for ({@link FileDigestCache#stillHolds}).
 * That is the digest cache's own rule for answering without reading, racy window included, so a
 * reused key is the key a full computation would give. Anything else computes it afresh. Bundler
 * targets are never reused: an adapter's version is asked each time.
 */
final class KeyMemo {
  /** {@code owner}: the memo that made it, which alone may use it (see {@link TargetRecord}). */
  record Memo(KeyMemo owner, Target target, List<String> inputs,
      FileDigestCache.Remembered[] files, Map<String, KeyManifest.Dependency> dependencies,
      KeyService.Computed computed) {}

  private final Path root;
  private final FileDigestCache digests;
  private final Map<String, Memo> memos = new ConcurrentHashMap<>();

  KeyMemo(Path workspace, FileDigestCache digests) {
    this.root = workspace.toAbsolutePath().normalize();
    this.digests = digests;
  }

  /**
   * The key computed last for {@code target} if it is still its key now, else null. {@code
   * record}: the target's record in the build's plan, or null; its memo is checked like the one
   * by name (it is the same memo unless the target was keyed through another plan since, and
   * either is validated in full), saving the lookup by name.
   */
  KeyService.Computed reuse(TargetRecord record, Target target, List<String> inputs,
      Map<String, KeyManifest.Dependency> dependencies) {
    Memo m = record == null ? null : record.key;
    if (m == null || m.owner != this) {
      m = memos.get(target.name());
    }
    if (m == null || (m.target != target && !m.target.equals(target))
        || (m.inputs != inputs && !m.inputs.equals(inputs))
        || !same(m.dependencies, dependencies)) {
      return null;
    }
    // All inputs' stats in one native call where it is available (FileDigestCache.allStillHold).
    return digests.allStillHold(m.files) ? m.computed : null;
  }

  /**
   * {@code remembered.equals(now)}, iterating {@code now} (a build's HashMap) rather than the
   * immutable copy, whose entry set makes an object per entry on every hit.
   */
  private static boolean same(Map<String, KeyManifest.Dependency> remembered,
      Map<String, KeyManifest.Dependency> now) {
    if (remembered == now) {
      return true; // the build handed back the map this memo keeps (see TargetRecord)
    }
    if (remembered.size() != now.size()) {
      return false;
    }
    for (Map.Entry<String, KeyManifest.Dependency> e : now.entrySet()) {
      KeyManifest.Dependency was = remembered.get(e.getKey()); // never null-valued (Map.copyOf)
      if (was == null || !was.equals(e.getValue())) {
        return false;
      }
    }
    return true;
  }

  /**
   * Remembers {@code computed} for {@code target} if every input's digest in it is the one the
   * digest cache remembers now (a file changed since, or too recently to be remembered, is not:
   * the target is then keyed in full next time too).
   */
  void remember(TargetRecord record, Target target, List<String> inputs,
      Map<String, KeyManifest.Dependency> dependencies, KeyService.Computed computed) {
    memos.remove(target.name());
    if (record != null) {
      record.key = null;
    }
    if (target.bundler().isPresent()) {
      return;
    }
    Map<String, Digest> keyed = computed.manifest().inputs();
    FileDigestCache.Remembered[] files = new FileDigestCache.Remembered[inputs.size()];
    for (int i = 0; i < files.length; i++) {
      String file = inputs.get(i);
      FileDigestCache.Remembered r = digests.remembered(root.resolve(file));
      if (r == null || !r.digest().equals(keyed.get(file))) {
        return;
      }
      files[i] = r;
    }
    Memo m = new Memo(this, target, List.copyOf(inputs), files, Map.copyOf(dependencies), computed);
    memos.put(target.name(), m);
    if (record != null) {
      record.key = m;
    }
  }

  void clear() {
    memos.clear();
  }
}
