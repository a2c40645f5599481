package dev.buildnet.internal.graph;

import dev.buildnet.graph.InvalidGraphException;
import dev.buildnet.graph.Target;

import dev.buildnet.api.BuildNetException;
import java.io.IOException;
import dev.buildnet.internal.hash.DirectoryListings;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Optional;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Expands a {@link Target}'s declared inputs into the files they name, as sorted '/'-separated
 * paths relative to the workspace root. See {@link Target} for the pattern syntax.
 *
 * <h2>Rules</h2>
 * <ul>
 *   <li>A plain input must exist: a missing one throws {@link InvalidGraphException} ({@code
 *       MISSING_INPUT}). A plain directory stands for every file below it. A glob may match
 *       nothing.
 *   <li>{@code !} exclusions remove the files they match and everything below directories they
 *       match. A target's own outputs are removed too.
 *   <li>{@code .buildnet/} at the workspace root is never walked.
 *   <li>Symbolic links to directories are never followed, not even in a pattern's base
 *       directory. A link to a file inside the workspace is an input (its target's content is
 *       what gets hashed); a link leading outside the workspace, a dangling link and a link to a
 *       directory are skipped when walking, and are an error when named as a plain input.
 * </ul>
 *
 * <h2>Cost and freshness</h2>
 * Each directory is walked at most once per resolver: a pattern's literal base directory (the
 * part before the first glob segment) is served from the listing of the nearest directory already
 * walked at or above it, and each distinct pattern is matched once. So the listing is a snapshot:
 * use one resolver per build, and a new one for the next build.
 *
 * <p>Directories are listed through {@link DirectoryListings}: given one that lives across builds
 * (and processes, through {@code FileStateFile}), a directory whose stat is unchanged costs one
 * {@code stat} instead of a {@code readdir} and an {@code lstat} per entry, and a plain input is
 * found in its directory's listing instead of with an {@code lstat} of its own, so an unchanged
 * input file costs only the {@code stat} its digest takes. {@link InputMemo} goes further: a
 * target whose listings are all unchanged gets its last answer back without resolving at all.
 *
 * <p>Thread-safe: several threads may resolve targets at once. Resolving blocks on file system
 * access the first time a directory is needed.
 *
 * @since 0.1
 */
public final class InputResolver {
  private final Path root;
  private final Path realRoot;
  /** Walked directory -> every file below it, sorted. */
  private final Map<String, String[]> listings = new ConcurrentHashMap<>();
  /** Glob -> the files it matches, sorted. */
  private final Map<String, List<String>> matches = new ConcurrentHashMap<>();
  private final Map<String, Glob.Matcher> compiled = new ConcurrentHashMap<>();
  /** Directory -> whether its real path is inside the workspace. */
  private final Map<String, Boolean> realDirectories = new ConcurrentHashMap<>();
  /**
   * Directory -> its entries, empty if it is not a listable directory: each directory's listing as
   * this build saw it, for plain inputs, walks and {@link InputMemo}'s checks alike, so that all
   * three agree and each directory costs one {@code stat} per build.
   */
  private final Map<String, Optional<DirectoryListings.Listing>> listed =
      new ConcurrentHashMap<>();
  private final DirectoryListings directories;

  /**
   * A resolver over the workspace at {@code workspaceRoot} that remembers no listing beyond
   * itself.
   *
   * @throws IllegalArgumentException if it is not an existing directory
   */
  public InputResolver(Path workspaceRoot) {
    this(workspaceRoot, new DirectoryListings());
  }

  /**
   * A resolver over the workspace at {@code workspaceRoot} that lists directories through {@code
   * directories}.
   *
   * @throws IllegalArgumentException if it is not an existing directory
   */
  public InputResolver(Path workspaceRoot, DirectoryListings directories) {
    this.directories = java.util.Objects.requireNonNull(directories, "directories");
    if (workspaceRoot == null) {
      throw new IllegalArgumentException("workspaceRoot is null");
    }
    if (!Files.isDirectory(workspaceRoot)) {
      throw new IllegalArgumentException(
          "workspace root " + workspaceRoot.toAbsolutePath() + " is not a directory");
    }
    this.root = workspaceRoot.toAbsolutePath().normalize();
    try {
      this.realRoot = root.toRealPath();
    } catch (IOException e) {
      throw new IllegalArgumentException("cannot resolve workspace root " + root + ": " + e, e);
    }
  }

  /** The absolute, normalized workspace root. */
  public Path workspaceRoot() {
    return root;
  }

  /**
   * The files {@code target}'s inputs name, sorted and without duplicates.
   *
   * @throws InvalidGraphException ({@code MISSING_INPUT}) if a plain input does not exist or
   *     leads outside the workspace
   * @throws BuildNetException if the workspace cannot be read
   */
  public List<String> resolve(Target target) {
    TreeSet<String> included = new TreeSet<>();
    List<String> exclusions = new ArrayList<>();
    for (String input : target.inputs()) {
      if (input.startsWith("!")) {
        exclusions.add(input.substring(1));
      } else if (RelativePaths.isGlob(input)) {
        included.addAll(matching(input));
      } else {
        included.addAll(plain(target, input));
      }
    }
    if (included.isEmpty()) {
      return List.of();
    }
    List<Glob.Matcher> excludedGlobs = new ArrayList<>();
    List<String> excludedPaths = new ArrayList<>(target.outputs());
    for (String exclusion : exclusions) {
      if (RelativePaths.isGlob(exclusion)) {
        excludedGlobs.add(pattern(exclusion));
      } else {
        excludedPaths.add(exclusion);
      }
    }
    List<String> result = new ArrayList<>(included.size());
    for (String file : included) {
      if (!excluded(file, excludedPaths, excludedGlobs)) {
        result.add(file);
      }
    }
    return Collections.unmodifiableList(result);
  }

  private static boolean excluded(String file, List<String> paths, List<Glob.Matcher> globs) {
    for (String path : paths) {
      if (RelativePaths.contains(path, file)) {
        return true;
      }
    }
    if (globs.isEmpty()) {
      return false;
    }
    // A glob excludes a file it matches or a file below a directory it matches.
    for (int end = file.indexOf('/'); ; end = file.indexOf('/', end + 1)) {
      String prefix = end < 0 ? file : file.substring(0, end);
      for (Glob.Matcher glob : globs) {
        if (glob.matches(prefix)) {
          return true;
        }
      }
      if (end < 0) {
        return false;
      }
    }
  }

  private List<String> plain(Target target, String input) {
    // A walk already seen covering this path answers without touching the disk: walks record
    // only regular files and links to files inside the workspace, and never pass through links.
    String[] walked = walkedListingAbove(input);
    if (walked != null) {
      if (Arrays.binarySearch(walked, input) >= 0) {
        return List.of(input);
      }
      String[] below = slice(walked, input);
      if (below.length > 0) {
        return List.of(below);
      }
    }
    if (!input.equals(".")) {
      // The input's directory listing says what it is without an lstat of its own. Anything but
      // a plain file, and a directory that cannot be listed, takes the lstat path below.
      int slash = input.lastIndexOf('/');
      String dir = slash < 0 ? "." : input.substring(0, slash);
      DirectoryListings.Listing listing = parentListing(dir);
      if (listing != null) {
        // Not listed: most likely missing, which the lstat below says (and a file system that
        // ignores case finds the file under another spelling there, as before).
        int i = Arrays.binarySearch(listing.names(), input.substring(slash + 1));
        if (i >= 0 && listing.kinds()[i] == DirectoryListings.Kind.FILE) {
          if (realDirectoryInside(dir)) {
            return List.of(input);
          }
          throw InvalidGraphException.missingInput(target.name(), input,
              "is reached through a symbolic link that leads outside the workspace " + realRoot);
        }
      }
    }
    // Made only here: an input found in its directory's listing above needs no path of its own.
    Path path = input.equals(".") ? root : root.resolve(input);
    BasicFileAttributes attributes;
    try {
      attributes = Files.readAttributes(path, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
    } catch (NoSuchFileException e) {
      throw InvalidGraphException.missingInput(target.name(), input,
          "does not exist (looked for " + path + ")");
    } catch (IOException e) {
      throw new BuildNetException(
          "target '" + target.name() + "': cannot read input '" + input + "': " + e, e);
    }
    if (attributes.isDirectory()) {
      Path real = realPath(path);
      if (real == null || !real.equals(realInside(input))) {
        throw InvalidGraphException.missingInput(target.name(), input,
            "is reached through a symbolic link to a directory; list the directory itself");
      }
      return List.of(filesUnder(input));
    }
    if (attributes.isRegularFile()) {
      // Not a link itself (NOFOLLOW above), so it is inside the workspace exactly when its
      // directory really is: resolve links once per directory, not once per file.
      int slash = input.lastIndexOf('/');
      String dir = slash < 0 ? "." : input.substring(0, slash);
      if (realDirectoryInside(dir)) {
        return List.of(input);
      }
      throw InvalidGraphException.missingInput(target.name(), input,
          "is reached through a symbolic link that leads outside the workspace " + realRoot);
    }
    Path real = realPath(path);
    if (real == null) {
      throw InvalidGraphException.missingInput(target.name(), input,
          "is a symbolic link that leads nowhere or outside the workspace " + realRoot);
    }
    if (Files.isDirectory(real)) {
      throw InvalidGraphException.missingInput(target.name(), input,
          "is a symbolic link to a directory (" + real + "); list the directory itself");
    }
    return List.of(input);
  }

  /** The listing of workspace directory {@code dir}, or null if it is not a listable directory. */
  private DirectoryListings.Listing parentListing(String dir) {
    try {
      return listing(dir);
    } catch (IOException e) {
      return null; // the lstat path reports what is wrong
    }
  }

  /**
   * The entries of workspace directory {@code dir} as this build saw them, or null if it is not a
   * listable directory; the same {@link DirectoryListings.Listing} instance for the whole build.
   */
  DirectoryListings.Listing listing(String dir) throws IOException {
    Optional<DirectoryListings.Listing> known = listed.get(dir); // as in realDirectoryInside
    if (known != null) {
      return known.orElse(null);
    }
    DirectoryListings.Listing now = directories.list(dir.equals(".") ? root : root.resolve(dir));
    Optional<DirectoryListings.Listing> raced = listed.putIfAbsent(dir, Optional.ofNullable(now));
    return raced != null ? raced.orElse(null) : now;
  }

  /**
   * The directories whose listings alone decide what {@link #resolve} gives {@code target}, each
   * with the listing this build saw (in {@code into}), or false if something a listing does not
   * show could change the answer: a symbolic link on the way (where it leads can change while its
   * directory does not), an input that is neither a plain file nor a real directory, a directory
   * that cannot be listed. Call it after {@link #resolve}, on the same resolver.
   *
   * <p>Why listings suffice: a plain file input is in the result exactly when its directory lists
   * it as a file and every directory above lists the next as a directory (so no link is on the way
   * and it is inside the workspace); a walk's files are the file entries of directories each
   * listed; a glob whose base is missing or not a directory matches nothing, which its nearest
   * listed ancestor shows. Exclusions and outputs are the target's own. Creating, deleting,
   * renaming or replacing an entry changes its directory's stat, so {@link DirectoryListings}
   * hands out a new listing for it (racy window included).
   */
  boolean evidence(Target target, Map<String, DirectoryListings.Listing> into) {
    try {
      for (String input : target.inputs()) {
        if (input.startsWith("!")) {
          continue;
        }
        boolean known;
        if (RelativePaths.isGlob(input)) {
          String base = RelativePaths.literalBase(input);
          Boolean reached = path(base, true, into);
          known = reached != null && (!reached || tree(base, into));
        } else if (input.equals(".")) {
          known = tree(".", into);
        } else {
          int slash = input.lastIndexOf('/');
          String dir = slash < 0 ? "." : input.substring(0, slash);
          Boolean reached = path(dir, false, into);
          DirectoryListings.Listing listing = reached == null ? null : into.get(dir);
          int i = listing == null ? -1
              : Arrays.binarySearch(listing.names(), input.substring(slash + 1));
          DirectoryListings.Kind kind = i < 0 ? null : listing.kinds()[i];
          known = kind == DirectoryListings.Kind.FILE
              || (kind == DirectoryListings.Kind.DIRECTORY && tree(input, into));
        }
        if (!known) {
          return false;
        }
      }
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  /**
   * Lists each directory from the root down to {@code dir} into {@code into}: true if {@code dir}
   * is a real directory reached through real directories only; false if, {@code mayEnd}, the way
   * ends before it (a name missing or not a directory: nothing below it can be walked); null if the
   * way cannot be told from listings (or ends and {@code !mayEnd}).
   */
  private Boolean path(String dir, boolean mayEnd, Map<String, DirectoryListings.Listing> into)
      throws IOException {
    String at = ".";
    while (true) {
      DirectoryListings.Listing listing = listing(at);
      if (listing == null) {
        return null;
      }
      into.put(at, listing);
      if (at.equals(dir)) {
        return true;
      }
      int from = at.equals(".") ? 0 : at.length() + 1;
      int next = dir.indexOf('/', from);
      String name = next < 0 ? dir.substring(from) : dir.substring(from, next);
      int i = Arrays.binarySearch(listing.names(), name);
      DirectoryListings.Kind kind = i < 0 ? null : listing.kinds()[i];
      if (kind != DirectoryListings.Kind.DIRECTORY) {
        // Missing, a file, a link or something else: a walk finds nothing there (it never
        // passes through a link, wherever the link leads).
        return mayEnd ? Boolean.FALSE : null;
      }
      at = next < 0 ? dir : dir.substring(0, next);
    }
  }

  /** Lists every directory below {@code dir} into {@code into}; false if a link is among them. */
  private boolean tree(String dir, Map<String, DirectoryListings.Listing> into)
      throws IOException {
    DirectoryListings.Listing listing = listing(dir);
    if (listing == null) {
      return false;
    }
    into.put(dir, listing);
    boolean atRoot = dir.equals(".");
    String[] names = listing.names();
    for (int i = 0; i < names.length; i++) {
      switch (listing.kinds()[i]) {
        case LINK -> {
          return false; // the walk follows it to see what it is, each build
        }
        case DIRECTORY -> {
          if (!(atRoot && names[i].equals(RelativePaths.STATE_DIR))
              && !tree(atRoot ? names[i] : dir + "/" + names[i], into)) {
            return false;
          }
        }
        default -> { } // files are in the walk's answer; anything else is not
      }
    }
    return true;
  }

  /** Whether each of {@code dirs} is listed now as {@code listings} holds: the same instance. */
  boolean stillListed(String[] dirs, DirectoryListings.Listing[] listings) {
    try {
      for (int i = 0; i < dirs.length; i++) {
        if (listing(dirs[i]) != listings[i]) {
          return false;
        }
      }
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  /** Where {@code relative} would be if no link were on the way. */
  private Path realInside(String relative) {
    return relative.equals(".") ? realRoot : realRoot.resolve(relative);
  }

  /** Whether the workspace directory {@code dir} resolves, through any links, inside it. */
  private boolean realDirectoryInside(String dir) {
    Boolean known = realDirectories.get(dir); // a plain get first: no capturing lambda per input
    if (known != null) {
      return known;
    }
    return realDirectories.computeIfAbsent(dir, d -> {
      Path real = realPath(d.equals(".") ? root : root.resolve(d));
      return real != null;
    });
  }

  /** The real path of {@code path} if it exists inside the workspace, else null. */
  private Path realPath(Path path) {
    return dev.buildnet.internal.WorkspacePaths.realPathInside(path, realRoot); // outputs' rule too
  }

  private List<String> matching(String glob) {
    return matches.computeIfAbsent(glob, g -> {
      Glob.Matcher pattern = pattern(g);
      List<String> found = new ArrayList<>();
      for (String file : filesUnder(RelativePaths.literalBase(g))) {
        if (pattern.matches(file)) {
          found.add(file);
        }
      }
      return Collections.unmodifiableList(found);
    });
  }

  private Glob.Matcher pattern(String glob) {
    return compiled.computeIfAbsent(glob, Glob::cached);
  }

  /** The listing of the nearest walked directory strictly above {@code path}, or null. */
  private String[] walkedListingAbove(String path) {
    if (path.equals(".") || listings.isEmpty()) {
      return null; // no walk yet (a build of plain inputs): no substring per directory level
    }
    String[] listing = listings.get(".");
    for (int slash = path.indexOf('/'); listing == null && slash >= 0;
        slash = path.indexOf('/', slash + 1)) {
      listing = listings.get(path.substring(0, slash));
    }
    return listing;
  }

  /** Every file below {@code directory} (relative, normalized), sorted. */
  String[] filesUnder(String directory) {
    // Reuse the listing of the nearest walked ancestor: its files below 'directory' are a
    // contiguous run in sorted order.
    String ancestor = ".";
    while (true) {
      String[] listing = listings.get(ancestor);
      if (listing != null) {
        return ancestor.equals(directory) ? listing : slice(listing, directory);
      }
      if (ancestor.equals(directory)) {
        break;
      }
      int next = directory.indexOf('/', ancestor.equals(".") ? 0 : ancestor.length() + 1);
      ancestor = next < 0 ? directory : directory.substring(0, next);
    }
    return listings.computeIfAbsent(directory, this::walk);
  }

  private static String[] slice(String[] sorted, String directory) {
    String prefix = directory + "/";
    int from = Arrays.binarySearch(sorted, prefix);
    from = from < 0 ? -from - 1 : from;
    int to = from;
    while (to < sorted.length && sorted[to].startsWith(prefix)) {
      to++;
    }
    return Arrays.copyOfRange(sorted, from, to);
  }

  private String[] walk(String directory) {
    Path start = directory.equals(".") ? root : root.resolve(directory);
    if (!Files.isDirectory(start, LinkOption.NOFOLLOW_LINKS)) {
      // Missing, a file, or a link: a glob below it matches nothing.
      return new String[0];
    }
    Path realStart = realPath(start);
    if (realStart == null || !realStart.equals(realInside(directory))) {
      // Reached through a link to a directory. Links are never followed, here as in the walk
      // below, so the answer does not depend on which directory happened to be walked first.
      return new String[0];
    }
    List<String> files = new ArrayList<>();
    try {
      collect(directory, start, files);
    } catch (IOException e) {
      throw new BuildNetException("cannot list input directory '" + directory + "' under "
          + root + ": " + e, e);
    }
    String[] sorted = files.toArray(new String[0]);
    Arrays.sort(sorted);
    return sorted;
  }

  /**
   * Adds the files below {@code dir} ({@code relDir} relative to the root) to {@code files}: regular
   * files, and links to regular files inside the workspace; directories are descended into, links
   * to them never.
   */
  private void collect(String relDir, Path dir, List<String> files) throws IOException {
    DirectoryListings.Listing listing = listing(relDir);
    if (listing == null) {
      return; // deleted (or replaced by a link) while we walked: nothing of it is there
    }
    boolean atRoot = relDir.equals(".");
    String[] names = listing.names();
    DirectoryListings.Kind[] kinds = listing.kinds();
    for (int i = 0; i < names.length; i++) {
      String rel = atRoot ? names[i] : relDir + "/" + names[i];
      switch (kinds[i]) {
        case FILE -> files.add(rel);
        case DIRECTORY -> {
          if (!(atRoot && names[i].equals(RelativePaths.STATE_DIR))) {
            collect(rel, dir.resolve(names[i]), files);
          }
        }
        case LINK -> {
          // Where a link leads can change without its directory changing: always look.
          Path real = realPath(dir.resolve(names[i]));
          if (real != null && Files.isRegularFile(real)) {
            files.add(rel);
          }
        }
        default -> { } // sockets, pipes, devices: not inputs
      }
    }
  }
}
