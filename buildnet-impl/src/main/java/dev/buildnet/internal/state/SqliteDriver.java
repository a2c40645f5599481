package dev.buildnet.internal.state;

import java.nio.file.Path;
import java.sql.SQLException;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Which SQLite binding the state backend runs on: BuildNet's own ({@link NativeSqlite}, with
 * SQLite compiled in, one native call per statement run) where it is built and loads (Linux
 * x86-64, glibc 2.34 or later), otherwise sqlite-jdbc with the SQLite it bundles.
 *
 * <h2>One choice per process</h2>
 * The choice is made once, by {@link #current()}, and every backend in the process uses it. Two
 * copies of SQLite in one process must never open the same file: POSIX advisory locks belong to
 * the process, not to the file descriptor, so when one copy closes its descriptor of the file the
 * kernel drops the locks the other copy holds on it, and the two then overwrite each other's
 * transactions. (Separate processes are safe with either binding: each process's locks are its
 * own, and both bindings speak SQLite's one file format and locking protocol.)
 *
 * <p>{@code -Dbuildnet.sqlite.native=false} forces sqlite-jdbc. Any failure to use the native
 * binding (another OS or architecture, an older C library, a temporary directory mounted
 * {@code noexec}, a load error) falls back to sqlite-jdbc with one log line saying why, never an error.
 */
public abstract class SqliteDriver {
  /** The system property that turns the native binding off when it is {@code false}. */
  public static final String SWITCH = "buildnet.sqlite.native";
  /**
   * Every connection keeps temporary tables and statement journals in memory. setAll's many-row
   * statements keep a statement journal (the pages a statement changed, so that it alone can be
   * undone inside the transaction); past 64 KiB SQLite spills it to a file in /var/tmp, one write
   * per page. In memory it costs a copy, and it never needs to survive a crash: the transaction's
   * own WAL frames are what commits. The database's durability is unchanged.
   */
  static final String TEMP_STORE = "MEMORY";

  private static final Logger LOG = LoggerFactory.getLogger(SqliteDriver.class);

  private static final SqliteDriver JDBC = new SqliteDriver() {
    @Override
    SqliteDatabase open(Path file, boolean fullSync, Duration busyTimeout) throws SQLException {
      return JdbcDatabase.open(file, fullSync, busyTimeout);
    }

    @Override
    public String name() {
      return "sqlite-jdbc";
    }
  };

  SqliteDriver() {}

  /** The driver of this process, chosen on first use. */
  public static SqliteDriver current() {
    return Current.DRIVER;
  }

  /** sqlite-jdbc's bundled SQLite through its JNI binding. */
  static SqliteDriver jdbc() {
    return JDBC;
  }

  /** Whether this is BuildNet's own binding. */
  public boolean isNative() {
    return this != JDBC;
  }

  /** Opens a connection with the backend's settings (see {@link SqliteFile}). */
  abstract SqliteDatabase open(Path file, boolean fullSync, Duration busyTimeout)
      throws SQLException;

  /** A short name for logs and benchmark output, with the SQLite version where known. */
  public abstract String name();

  @Override
  public String toString() {
    return name();
  }

  /** A driver and, when it is not the native one, why not. */
  record Choice(SqliteDriver driver, String whyNotNative) {}

  /**
   * Chooses: the native binding from {@code resource} unless {@code switchValue} is "false", the
   * platform is not Linux on x86-64, or it fails to load. Loads the library, so it is called once
   * per process with the real resource ({@link #current}); tests call it with others.
   */
  static Choice choose(String switchValue, String osName, String osArch, String resource) {
    if ("false".equalsIgnoreCase(switchValue)) {
      return new Choice(JDBC, "-D" + SWITCH + "=false");
    }
    if (!"Linux".equals(osName) || !("amd64".equals(osArch) || "x86_64".equals(osArch))) {
      return new Choice(JDBC, "it is built only for Linux x86-64, not " + osName + " " + osArch);
    }
    String whyNot = NativeLibrary.load(resource);
    if (whyNot != null) {
      return new Choice(JDBC, whyNot);
    }
    return new Choice(new Native(NativeSqlite.version()), null);
  }

  /** BuildNet's own binding, with its own SQLite. */
  private static final class Native extends SqliteDriver {
    private final String version;

    Native(String version) {
      this.version = version;
    }

    @Override
    SqliteDatabase open(Path file, boolean fullSync, Duration busyTimeout) throws SQLException {
      return NativeDatabase.open(file, fullSync, busyTimeout);
    }

    @Override
    public String name() {
      return "native (SQLite " + version + ")";
    }
  }

  /** Holds the process's choice; initialised, and the library loaded, on first use only. */
  private static final class Current {
    static final SqliteDriver DRIVER = chooseAndLog();

    private static SqliteDriver chooseAndLog() {
      Choice choice = choose(System.getProperty(SWITCH), System.getProperty("os.name"),
          System.getProperty("os.arch"), NativeLibrary.RESOURCE);
      if (choice.whyNotNative() == null) {
        LOG.debug("SQLite state backend: using {}", choice.driver().name());
      } else {
        // One line, no stack trace: falling back is normal off Linux x86-64.
        LOG.info("SQLite state backend: using sqlite-jdbc, not BuildNet's native binding: {}",
            choice.whyNotNative());
      }
      return choice.driver();
    }
  }
}
