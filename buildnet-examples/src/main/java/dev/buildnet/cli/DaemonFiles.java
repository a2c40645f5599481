package dev.buildnet.cli;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Where a workspace's daemon is found: a state file {@code DIR/NAME.daemon} holding {@code PORT
 * TOKEN PID JAR-ID} on one line, mode 0600, in a directory of mode 0700, both owned by the user.
 * DIR is {@code $BUILDNET_DAEMON_DIR}, else {@code ${XDG_CACHE_HOME:-$HOME/.cache}/buildnet/daemon};
 * NAME is the workspace's real path with {@code %} written {@code %25} and {@code /} written
 * {@code %2F}. {@code bin/buildnet} computes the same (see its comments): keep them in step.
 * Anything else (another owner, wider modes, a symbolic link) is not trusted: the token in a file
 * someone else can write would hand them the user's builds.
 */
final class DaemonFiles {
  static final String SUFFIX = ".daemon";
  /** Longer names: the launcher runs in-process instead (file names stop at 255 bytes). */
  static final int MAX_NAME = 200;

  private static final Set<PosixFilePermission> DIR_MODE = PosixFilePermissions.fromString("rwx------");
  private static final Set<PosixFilePermission> FILE_MODE = PosixFilePermissions.fromString("rw-------");

  private DaemonFiles() {}

  /** One daemon's address and identity, as its state file says. */
  record State(int port, String token, long pid, String jarId) {
    String line() {
      return port + " " + token + " " + pid + " " + jarId + "\n";
    }

    static Optional<State> parse(String text) {
      String[] f = text.strip().split(" ");
      if (f.length != 4) {
        return Optional.empty();
      }
      try {
        return Optional.of(new State(Integer.parseInt(f[0]), f[1], Long.parseLong(f[2]), f[3]));
      } catch (NumberFormatException e) {
        return Optional.empty();
      }
    }
  }

  static Path dir(Map<String, String> env) {
    String d = env.get("BUILDNET_DAEMON_DIR");
    if (d != null && !d.isEmpty()) {
      return Path.of(d);
    }
    String cache = env.get("XDG_CACHE_HOME");
    String home = env.getOrDefault("HOME", System.getProperty("user.home"));
    Path base = cache != null && !cache.isEmpty() ? Path.of(cache) : Path.of(home, ".cache");
    return base.resolve("buildnet").resolve("daemon");
  }

  static String name(Path realWorkspace) {
    return realWorkspace.toString().replace("%", "%25").replace("/", "%2F");
  }

  static Path stateFile(Map<String, String> env, Path workspace) throws IOException {
    return dir(env).resolve(name(workspace.toRealPath()) + SUFFIX);
  }

  /** Creates {@code dir} (mode 0700) if needed and checks it is private to this user. */
  static void ensurePrivateDir(Path dir) throws IOException {
    if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
      Files.createDirectories(dir.getParent());
      try {
        Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(DIR_MODE));
      } catch (FileAlreadyExistsException e) {
        // another client made it at the same time: checked below like any other
      }
    }
    checkPrivate(dir, DIR_MODE);
  }

  /** Throws unless {@code p} is owned by this user, not a link, with exactly {@code mode}. */
  private static void checkPrivate(Path p, Set<PosixFilePermission> mode) throws IOException {
    PosixFileAttributes a = Files.readAttributes(p, PosixFileAttributes.class,
        LinkOption.NOFOLLOW_LINKS);
    String me = System.getProperty("user.name");
    if (a.isSymbolicLink() || !a.owner().getName().equals(me) || !a.permissions().equals(mode)) {
      throw new IOException(p + " is not private to " + me + " (it must be owned by " + me
          + " with mode " + PosixFilePermissions.toString(mode) + "): not trusting it");
    }
  }

  /** The state in {@code file}, if it exists and it and its directory are private. */
  static Optional<State> read(Path file) throws IOException {
    if (!Files.exists(file, LinkOption.NOFOLLOW_LINKS)) {
      return Optional.empty();
    }
    checkPrivate(file.getParent(), DIR_MODE);
    checkPrivate(file, FILE_MODE);
    return State.parse(Files.readString(file, StandardCharsets.UTF_8));
  }

  /** Writes {@code state} to {@code file} atomically, mode 0600 from the start. */
  static void write(Path file, State state) throws IOException {
    Path tmp = Files.createTempFile(file.getParent(), ".state", ".tmp",
        PosixFilePermissions.asFileAttribute(FILE_MODE));
    try {
      Files.writeString(tmp, state.line(), StandardCharsets.UTF_8);
      try {
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      } catch (AtomicMoveNotSupportedException e) {
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
      }
    } finally {
      Files.deleteIfExists(tmp);
    }
  }
}
