package dev.buildnet.internal.cache;

import dev.buildnet.api.hash.Digest;
import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import dev.buildnet.internal.WorkspacePaths;

/**
 * Moves a target's outputs between the workspace and the {@link DiskBlobStore}: {@link #collect} after
 * a run, {@link #restore} on a cache hit.
 *
 * <p>Restoring is all-or-nothing: every file is first written beside its destination and verified
 * against its digest; only when all are staged are they renamed into place (a declared directory is
 * swapped as a whole, so no stale file survives in it). If any blob is missing or corrupt, the
 * staged files are removed and the workspace is left exactly as it was.
 */
public final class Outputs {
  private static final String STAGE = ".buildnet-stage-";

  private final Path workspace;
  private final Path realWorkspace;
  private final DiskBlobStore blobs;
  /**
   * The hit check's resolved paths by output path (a pure function of the text and the
   * workspace), so a null build does not resolve, normalize and re-encode each output's path on
   * every build: that was most of what its output check allocated.
   */
  private final Map<String, Resolved> resolved = new java.util.concurrent.ConcurrentHashMap<>();
  private static final int RESOLVED_MAX = 200_000;
  /** The parent text {@link #parentOf} made last. */
  private volatile String lastParent;

  /** An output path resolved by {@link #resolve}, and its parent's text (null if at the top). */
  private record Resolved(Path path, String parent) {}

  /**
   * A caller's place for one target's hit check (the engine keeps one per target of a build
   * plan): the resolved paths of a manifest's outputs and their digest-cache entries, made for
   * that manifest instance and declared list and used only with them, so a repeat check follows
   * references instead of looking each path up in a map of every output.
   */
  public static final class Slot {
    private volatile Checked checked;
  }

  /**
   * What {@link #upToDate(List, ActionManifest, FileDigestCache, Set, Slot)} keeps for one
   * manifest: the resolution of every path (a pure function of the text and the workspace) and,
   * per output file, the digest-cache entry last found to hold its recorded digest, if any (it
   * counts only while the cache still vouches for it at the file's current stat).
   */
  private static final class Checked {
    final Outputs owner;
    final List<String> declared;
    final ActionManifest manifest;
    final Resolved[] declaredPaths;
    final boolean[] declaredFiles;
    final Path[] outputPaths;
    /** Racy by design: each element is immutable and only ever a valid entry or null. */
    final dev.buildnet.internal.hash.FileDigestCache.Remembered[] entries;

    Checked(Outputs owner, List<String> declared, ActionManifest manifest) {
      this.owner = owner;
      this.declared = declared;
      this.manifest = manifest;
      this.declaredPaths = new Resolved[declared.size()];
      this.declaredFiles = new boolean[declared.size()];
      for (int i = 0; i < declaredPaths.length; i++) {
        declaredPaths[i] = owner.resolved(declared.get(i));
        declaredFiles[i] = listsFile(manifest, declared.get(i));
      }
      this.outputPaths = new Path[manifest.outputs().size()];
      for (int i = 0; i < outputPaths.length; i++) {
        outputPaths[i] = owner.resolved(manifest.outputs().get(i).path()).path;
      }
      this.entries = new dev.buildnet.internal.hash.FileDigestCache.Remembered[outputPaths.length];
    }
  }

  public Outputs(Path workspace, DiskBlobStore blobs) {
    this.workspace = Objects.requireNonNull(workspace, "workspace").toAbsolutePath().normalize();
    this.blobs = Objects.requireNonNull(blobs, "blobs");
    Path real;
    try {
      real = this.workspace.toRealPath();
    } catch (IOException e) {
      real = this.workspace; // not there yet: nothing below it can be a link either
    }
    this.realWorkspace = real;
  }

  /**
   * A declared output that was not produced, is not a regular file or directory, changed while it
   * was being stored, or leads outside the workspace through a symbolic link.
   */
  public static final class OutputException extends IOException {
    private static final long serialVersionUID = 1L;

    public OutputException(String message) {
      super(message);
    }
  }

  /**
   * Stores every file of the declared outputs in the blob store.
   *
   * @param declared output paths relative to the workspace (files or directories)
   * @return the output files, sorted by path, and which declared outputs were directories
   * @throws OutputException if a declared output is missing or is, or contains, a symbolic link
   *     ({@link FileTrees}: the same rule as on a worker)
   */
  public Collected collect(List<String> declared) throws IOException {
    return collect(declared, true);
  }

  /**
   * Like {@link #collect(List)}; with {@code store == false} the files are only digested, not
   * copied into the blob store (for targets that are not cached).
   */
  public Collected collect(List<String> declared, boolean store) throws IOException {
    TreeMap<String, ActionManifest.Output> files = new TreeMap<>();
    List<String> dirs = new ArrayList<>();
    for (String rel : declared) {
      Path p = resolveSafely(rel);
      if (FileTrees.kind(rel, p) == FileTrees.Kind.DIRECTORY) {
        dirs.add(rel);
        List<Path> listed = FileTrees.filesBelow(workspace, rel, p);
        for (Path f : listed) {
          files.put(relative(f), store(f, store));
        }
        if (!listed.equals(FileTrees.filesBelow(workspace, rel, p))) {
          throw changed(rel, "files were added to or removed from it");
        }
      } else {
        files.put(rel, store(p, store));
      }
    }
    return new Collected(List.copyOf(files.values()), List.copyOf(dirs));
  }

  /** The result of {@link #collect}. */
  public record Collected(List<ActionManifest.Output> files, List<String> directories) {
    public long totalBytes() {
      return files.stream().mapToLong(ActionManifest.Output::size).sum();
    }
  }

  /**
   * Whether the workspace already holds exactly the manifest's outputs (so nothing needs to be
   * restored): every file present with the recorded digest, and no extra file in a declared
   * directory.
   */
  public boolean upToDate(ActionManifest manifest, FileDigester digester) throws IOException {
    for (ActionManifest.Output o : manifest.outputs()) {
      Path p = resolve(o.path());
      if (!Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
        return false;
      }
      if (!digester.digest(p).equals(o.parsedDigest())) {
        return false;
      }
    }
    return manifest.directories().isEmpty() || directoriesHoldOnly(manifest);
  }

  /** Whether each declared directory of {@code manifest} holds no file it does not list. */
  private boolean directoriesHoldOnly(ActionManifest manifest) throws IOException {
    Set<String> expected = new HashSet<>();
    manifest.outputs().forEach(o -> expected.add(o.path()));
    for (String dir : manifest.directories()) {
      Path d = resolve(dir);
      if (!Files.isDirectory(d, LinkOption.NOFOLLOW_LINKS)) {
        return false;
      }
      List<Path> present;
      try {
        present = FileTrees.filesBelow(workspace, dir, d);
      } catch (OutputException e) {
        return false; // a link in it: never recorded, so not what the manifest holds
      }
      for (Path f : present) {
        if (!expected.contains(relative(f))) {
          return false;
        }
      }
    }
    return true;
  }

  /**
   * {@link #requireInside} and then {@link #upToDate(ActionManifest, FileDigester)} for a cache
   * hit, at one {@code lstat} per output file where they took four for {@code out/a.txt} (each
   * component's {@code lstat} for the link check, then {@code isRegularFile}, then the digest's
   * {@code stat}):
   *
   * <ul>
   *   <li>the directories above a declared output are checked for links leading outside once per
   *       build, not once per target: {@code safeDirectories} holds those this build found to be
   *       existing directories that lead nowhere outside (the build's hits share it);
   *   <li>a declared output the manifest lists as a file is checked by {@code regularFiles} alone,
   *       which answers null unless it is a regular file itself (so never through a link of its
   *       own). Anything else, a link included, is "not up to date", and {@link #restore} then
   *       refuses a link leading outside with the same {@link OutputException} (it checks every
   *       path it writes) before it changes anything in the workspace;
   *   <li>other declared outputs (directories) get the full check of {@link #requireInside}.
   * </ul>
   *
   * <p>What a hit reads is thus checked as before; the one difference is a directory that a
   * command of the same build turns into a link after another target's hit checked it: a later hit
   * then reads its outputs through that link rather than failing (the input resolver's listing of
   * a directory is per build in the same way). Anything written (a restore) is checked afresh.
   *
   * @param regularFiles the digest of a regular file, or null for anything else (see {@code
   *     FileDigestCache#digestIfRegularFile})
   * @throws OutputException if a declared output leads outside the workspace through a link
   */
  public boolean upToDate(List<String> declared, ActionManifest manifest, FileDigester regularFiles,
      Set<String> safeDirectories) throws IOException {
    for (String rel : declared) {
      Resolved r = resolved(rel); // as text
      if (r.parent != null) {
        requireDirectoryInside(rel, r.parent, safeDirectories);
      }
      if (!listsFile(manifest, rel)) {
        // A directory (or missing): only it can still be a link, its parent being checked.
        requireNotEscaping(rel, r.path);
      }
    }
    for (ActionManifest.Output o : manifest.outputs()) {
      Digest d = regularFiles.digest(resolved(o.path()).path);
      // Compared as text, which a digest keeps once made, rather than parsing the manifest's
      // digest on every hit; text that is not exactly the canonical form only makes it restore.
      if (d == null || !d.toString().equals(o.digest())) {
        return false;
      }
    }
    return manifest.directories().isEmpty() || directoriesHoldOnly(manifest);
  }

  /**
   * {@link #upToDate(List, ActionManifest, FileDigester, Set)} with {@code digests}' {@link
   * dev.buildnet.internal.hash.FileDigestCache#digestIfRegularFile} as the digester, the same answer by the same checks, but
   * consulting and updating {@code slot}: a repeat check of the same manifest resolves no path and
   * asks the digest cache for no entry by path, only for one {@code lstat} per output file.
   */
  public boolean upToDate(List<String> declared, ActionManifest manifest,
      dev.buildnet.internal.hash.FileDigestCache digests, Set<String> safeDirectories, Slot slot)
      throws IOException {
    Checked c = slot.checked;
    if (c == null || c.manifest != manifest || c.owner != this
        || (c.declared != declared && !c.declared.equals(declared))) {
      c = new Checked(this, declared, manifest);
      slot.checked = c;
    }
    for (int i = 0; i < c.declaredPaths.length; i++) {
      String rel = declared.get(i);
      Resolved r = c.declaredPaths[i];
      if (r.parent != null) {
        requireDirectoryInside(rel, r.parent, safeDirectories);
      }
      if (!c.declaredFiles[i]) {
        requireNotEscaping(rel, r.path);
      }
    }
    List<ActionManifest.Output> files = manifest.outputs();
    for (int i = 0; i < c.outputPaths.length; i++) {
      dev.buildnet.internal.hash.FileDigestCache.Remembered known = c.entries[i];
      if (known != null && digests.stillHoldsRegularFile(known)) {
        continue; // its digest was checked against the manifest's when it was kept
      }
      Digest d = digests.digestIfRegularFile(c.outputPaths[i]);
      if (d == null || !d.toString().equals(files.get(i).digest())) {
        c.entries[i] = null;
        return false;
      }
      dev.buildnet.internal.hash.FileDigestCache.Remembered now =
          digests.remembered(c.outputPaths[i]);
      c.entries[i] = now != null && now.digest().equals(d) ? now : null;
    }
    return manifest.directories().isEmpty() || directoriesHoldOnly(manifest);
  }

  private static boolean listsFile(ActionManifest manifest, String rel) {
    for (ActionManifest.Output o : manifest.outputs()) {
      if (o.path().equals(rel)) {
        return true;
      }
    }
    return false;
  }

  /**
   * Refuses output {@code rel} if its directory {@code dir} leads outside through a link. A
   * directory is safe once its parent is and it is no link leading outside itself, so each
   * directory of a build costs one {@code lstat}, however many outputs lie below it.
   */
  private void requireDirectoryInside(String rel, String dir, Set<String> safe) throws IOException {
    if (safe.contains(dir)) {
      return;
    }
    int slash = dir.lastIndexOf('/');
    if (slash > 0) {
      requireDirectoryInside(rel, dir.substring(0, slash), safe);
    }
    Path p = resolve(dir);
    if (slash > 0 && !safe.contains(dir.substring(0, slash))) {
      // The parent is missing or no directory: the whole path's check, as for any path.
      String why = WorkspacePaths.linkEscape(workspace, realWorkspace, dir);
      if (why != null) {
        throw refused(rel, why);
      }
    } else if (!requireNotEscaping(rel, p)) {
      return; // missing: whatever creates it is checked when it is used
    }
    if (Files.isDirectory(p)) {
      safe.add(dir);
    }
  }

  /**
   * Refuses output {@code rel} at {@code p}, whose parent leads nowhere outside, if {@code p} is a
   * link that does; false if nothing is there.
   */
  private boolean requireNotEscaping(String rel, Path p) throws IOException {
    BasicFileAttributes attrs;
    try {
      attrs = Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
    } catch (NoSuchFileException e) {
      return false;
    }
    if (attrs.isSymbolicLink()) {
      String why = WorkspacePaths.linkEscape(workspace, realWorkspace, relative(p));
      if (why != null) {
        throw refused(rel, why);
      }
    }
    return true;
  }

  /**
   * Replaces the workspace's copies of the manifest's outputs with the stored ones.
   *
   * @return false (workspace untouched) if any blob is missing or fails verification; corrupt
   *     blobs are deleted from the store
   */
  public boolean restore(ActionManifest manifest) throws IOException {
    if (manifest.directories().isEmpty() && manifest.outputs().isEmpty()) {
      return true; // nothing to stage: skip the random tag (a SecureRandom draw per target)
    }
    String tag = UUID.randomUUID().toString();
    Map<String, Path> stagedDirs = new TreeMap<>();
    Map<Path, Path> stagedFiles = new TreeMap<>(); // staged file -> destination
    try {
      for (String dir : manifest.directories()) {
        Path d = resolveSafely(dir);
        Files.createDirectories(d.getParent());
        Path staged = d.resolveSibling(d.getFileName() + STAGE + tag);
        Files.createDirectory(staged);
        stagedDirs.put(dir, staged);
      }
      for (ActionManifest.Output o : manifest.outputs()) {
        Path dest = resolve(o.path());
        Path staged = null;
        for (Map.Entry<String, Path> e : stagedDirs.entrySet()) {
          if (o.path().startsWith(e.getKey() + "/")) {
            staged = e.getValue().resolve(o.path().substring(e.getKey().length() + 1));
            break;
          }
        }
        if (staged == null) {
          resolveSafely(o.path()); // a file in a staged directory is in a fresh one of ours
          Files.createDirectories(dest.getParent());
          staged = dest.resolveSibling("." + dest.getFileName() + STAGE + tag);
          stagedFiles.put(staged, dest);
        } else {
          Files.createDirectories(staged.getParent());
        }
        if (!FileTrees.place(blobs, o.parsedDigest(), staged, o.executable())) {
          discard(stagedDirs.values(), stagedFiles.keySet());
          return false;
        }
      }
    } catch (IOException | RuntimeException e) {
      discard(stagedDirs.values(), stagedFiles.keySet());
      throw e;
    }
    // Everything is staged and verified: swap into place.
    for (Map.Entry<String, Path> e : stagedDirs.entrySet()) {
      Path d = resolve(e.getKey());
      if (Files.exists(d, LinkOption.NOFOLLOW_LINKS)) {
        Path old = d.resolveSibling(d.getFileName() + ".buildnet-old-" + tag);
        Files.move(d, old, StandardCopyOption.ATOMIC_MOVE);
        Files.move(e.getValue(), d, StandardCopyOption.ATOMIC_MOVE);
        deleteTree(old);
      } else {
        Files.move(e.getValue(), d, StandardCopyOption.ATOMIC_MOVE);
      }
    }
    for (Map.Entry<Path, Path> e : stagedFiles.entrySet()) {
      try {
        Files.move(e.getKey(), e.getValue(), StandardCopyOption.ATOMIC_MOVE);
      } catch (AtomicMoveNotSupportedException ex) {
        Files.move(e.getKey(), e.getValue(), StandardCopyOption.REPLACE_EXISTING);
      }
    }
    return true;
  }

  /**
   * Checks that none of the declared outputs leads outside the workspace through a symbolic link
   * (what {@link #clear}, {@link #collect} and {@link #restore} refuse), before a cache hit is
   * taken as up to date.
   *
   * @throws OutputException naming the link
   */
  public void requireInside(List<String> declared) throws IOException {
    for (String rel : declared) {
      resolveSafely(rel);
    }
  }

  /**
   * Deletes the declared outputs, so a run starts from none and cannot capture stale files, and
   * creates their parent directories.
   */
  public void clear(List<String> declared) throws IOException {
    for (String rel : declared) {
      Path p = resolveSafely(rel);
      if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
        deleteTree(p);
      } else {
        Files.deleteIfExists(p);
      }
      // The command then only writes the output itself: `javac -d out/lib` and `cp a out/b/a`
      // fail when out/ or out/b/ is missing. resolveSafely checked every existing part.
      Files.createDirectories(p.getParent());
    }
  }

  /**
   * Resolves a workspace-relative path, refusing any that escapes the workspace: a manifest read
   * from shared state must never make us write outside it.
   */
  public Path resolve(String rel) {
    Path p = workspace.resolve(rel).normalize();
    if (!p.startsWith(workspace) || p.equals(workspace)) {
      throw new IllegalArgumentException("output path '" + rel + "' escapes the workspace");
    }
    return p;
  }

  /**
   * {@code rel}'s text up to {@code slash}: the previous answer when it is the same directory (a
   * target's outputs come directory by directory), so the files of one directory share one
   * string instead of a copy each for as long as {@link #resolved} keeps them.
   */
  private String parentOf(String rel, int slash) {
    String last = lastParent; // racy by design: any String seen here is a complete, valid one
    if (last == null || last.length() != slash || !rel.startsWith(last)) {
      last = rel.substring(0, slash);
      lastParent = last;
    }
    return last;
  }

  /** {@link #resolve} of {@code rel}, remembered (see {@link #resolved}). */
  private Resolved resolved(String rel) {
    Resolved r = resolved.get(rel);
    if (r == null) {
      int slash = rel.lastIndexOf('/');
      r = new Resolved(resolve(rel), slash > 0 ? parentOf(rel, slash) : null);
      if (resolved.size() >= RESOLVED_MAX) {
        resolved.clear(); // crude bound: they are made again as needed
      }
      resolved.put(rel, r);
    }
    return r;
  }

  /**
   * {@link #resolve}, and also refuses a path that a symbolic link on the way (or the path itself)
   * would take outside the workspace: deleting, creating or restoring through it would touch files
   * elsewhere. Every path that writes or deletes goes through here.
   */
  private Path resolveSafely(String rel) throws IOException {
    Path p = resolve(rel);
    String why = WorkspacePaths.linkEscape(workspace, realWorkspace, relative(p));
    if (why != null) {
      throw refused(rel, why);
    }
    return p;
  }

  private static OutputException refused(String rel, String why) {
    return new OutputException("output '" + rel + "' is refused: " + why
        + "; BuildNet never deletes, creates or restores outputs outside the workspace");
  }

  private static OutputException changed(String rel, String what) {
    return new OutputException("output '" + rel + "' changed while it was being stored (" + what
        + "): something still writes it after its target ended, e.g. a background process the"
        + " command left behind or another build of this workspace; nothing was recorded");
  }

  private String relative(Path file) {
    return workspace.relativize(file).toString().replace(java.io.File.separatorChar, '/');
  }

  /**
   * Stores (or digests) one output file, refusing a file that changed meanwhile: its size and
   * modification time (and inode) are compared before and after, and the bytes stored must be as
   * many as it had. A file rewritten within the file system's timestamp granularity to the same
   * size is not seen; the workspace lock keeps other builds from doing that.
   */
  private ActionManifest.Output store(Path file, boolean store) throws IOException {
    BasicFileAttributes before =
        Files.readAttributes(file, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
    Digest d = store ? blobs.putFile(file) : blobs.hashes().hash(file);
    boolean exec = Files.isExecutable(file);
    BasicFileAttributes after;
    try {
      after = Files.readAttributes(file, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
    } catch (NoSuchFileException e) {
      throw changed(relative(file), "it was deleted");
    }
    long stored = store ? blobs.sizeOf(d).orElse(-1L) : before.size();
    if (before.size() != after.size() || stored != before.size()) {
      throw changed(relative(file), before.size() + " bytes before, " + after.size()
          + " after" + (stored != before.size() ? ", " + stored + " stored" : ""));
    }
    if (!before.lastModifiedTime().equals(after.lastModifiedTime())
        || !Objects.equals(before.fileKey(), after.fileKey())) {
      throw changed(relative(file), "modified at " + before.lastModifiedTime() + " before, "
          + after.lastModifiedTime() + " after");
    }
    return new ActionManifest.Output(relative(file), d.toString(), before.size(), exec);
  }

  private static void discard(Iterable<Path> dirs, Iterable<Path> files) {
    for (Path d : dirs) {
      try {
        deleteTree(d);
      } catch (IOException ignored) {
        // best effort: a leftover stage directory is harmless and named as ours
      }
    }
    for (Path f : files) {
      try {
        Files.deleteIfExists(f);
      } catch (IOException ignored) {
        // as above
      }
    }
  }

  static void deleteTree(Path root) throws IOException {
    if (!Files.exists(root, LinkOption.NOFOLLOW_LINKS)) {
      return;
    }
    Files.walkFileTree(
        root,
        new SimpleFileVisitor<>() {
          @Override
          public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
            Files.delete(file);
            return FileVisitResult.CONTINUE;
          }

          @Override
          public FileVisitResult postVisitDirectory(Path dir, IOException exc) throws IOException {
            if (exc != null) {
              throw exc;
            }
            Files.delete(dir);
            return FileVisitResult.CONTINUE;
          }
        });
  }
}
