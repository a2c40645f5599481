package dev.buildnet.exec;

import static java.nio.charset.StandardCharsets.UTF_8;
import static java.util.concurrent.TimeUnit.SECONDS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.sun.jna.Library;
import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import dev.buildnet.api.NotStartedException;
import dev.buildnet.api.exec.CommandResult;
import dev.buildnet.api.exec.CommandSpec;
import dev.buildnet.api.exec.OutputListener;
import dev.buildnet.api.exec.RunningCommand;
import dev.buildnet.internal.exec.LinuxProcfs;
import dev.buildnet.internal.exec.PosixSpawn;
import dev.buildnet.internal.exec.ScriptCommands;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A command started with posix_spawn behaves as one started by {@link ProcessBuilder}: the same
 * start failures word for word, the same descriptors, environment and program lookup. Each test
 * runs the same spec through both and compares.
 */
class StartPathsTest {
  private final ProcessShellProvider spawned = Launch.POSIX_SPAWN.builder().build();
  private final ProcessShellProvider jdk = Launch.PROCESS_BUILDER.builder().build();

  @TempDir Path dir;

  @BeforeAll
  static void posixSpawnAvailable() {
    assumeTrue(LinuxProcfs.isUsable() && PosixSpawn.isAvailable(), "needs posix_spawn and pidfds");
  }

  @Test
  void theDefaultProvider_startsWithPosixSpawn_andTheTestSwitchWithTheJdk() {
    assertTrue(spawned.startsWithPosixSpawn());
    assertFalse(jdk.startsWithPosixSpawn());
    assertFalse(ProcessShellProvider.builder().withoutPidfd().build().startsWithPosixSpawn());
  }

  private String failure(ProcessShellProvider shell, CommandSpec spec) {
    NotStartedException e =
        assertThrows(NotStartedException.class, () -> shell.start(spec, OutputListener.discard()));
    assertEquals(NotStartedException.Reason.COMMAND, e.reason());
    return e.getMessage();
  }

  private void assertSameFailure(CommandSpec spec, String expectedPart) {
    String viaSpawn = failure(spawned, spec);
    assertEquals(failure(jdk, spec), viaSpawn);
    assertTrue(viaSpawn.contains(expectedPart), viaSpawn);
    assertFalse(viaSpawn.contains("\n"), viaSpawn);
  }

  @Test
  void missingProgram_onThePath_sameMessage() {
    assertSameFailure(
        CommandSpec.of(List.of("no-such-program-buildnet"), dir, Map.of()),
        "not found on this JVM's PATH");
  }

  @Test
  void missingProgram_byPath_sameMessage() {
    assertSameFailure(
        CommandSpec.of(List.of(dir.resolve("absent").toString()), dir, Map.of()), "does not exist");
    assertSameFailure(CommandSpec.of(List.of("./absent"), dir, Map.of()), "does not exist");
  }

  @Test
  void notExecutable_andADirectory_sameMessage() throws IOException {
    Path script = Files.writeString(dir.resolve("script.sh"), "#!/bin/sh\necho hi\n");
    assertSameFailure(CommandSpec.of(List.of(script.toString()), dir, Map.of()), "not executable");
    assertSameFailure(CommandSpec.of(List.of(dir.toString()), dir, Map.of()), "is a directory");
  }

  @Test
  void missingWorkingDirectory_sameMessage() {
    Path missing = dir.resolve("missing");
    assertSameFailure(CommandSpec.of(List.of("true"), missing, Map.of()), "does not exist");
    assertSameFailure(CommandSpec.of(List.of("/bin/true"), missing, Map.of()), "does not exist");
  }

  @Test
  void nulInAnArgument_sameMessage() {
    assertSameFailure(
        CommandSpec.of(List.of("/bin/echo", "a\u0000b"), dir, Map.of()),
        "invalid null character in command");
  }

  @Test
  void badEnvironmentName_sameException() {
    CommandSpec spec = CommandSpec.of(List.of("/bin/true"), dir, Map.of("A=B", "1"));
    Function<ProcessShellProvider, String> message =
        shell ->
            assertThrows(
                    IllegalArgumentException.class,
                    () -> shell.start(spec, OutputListener.discard()))
                .getMessage();
    assertEquals(message.apply(jdk), message.apply(spawned));
  }

  private void assertSameRun(CommandSpec spec, String expectedStdout) {
    CommandResult viaSpawn = spawned.run(spec);
    CommandResult viaJdk = jdk.run(spec);
    assertEquals(expectedStdout, new String(viaSpawn.stdout(), UTF_8),
        () -> new String(viaSpawn.stderr(), UTF_8));
    assertEquals(new String(viaJdk.stdout(), UTF_8), new String(viaSpawn.stdout(), UTF_8));
    assertEquals(viaJdk.exitCode(), viaSpawn.exitCode());
  }

  @Test
  void noDescriptorBeyondTheStandardThree_reachesTheChild() {
    // ls lists its own fds: the three it was given and the one it reads the directory with. (A
    // shell listing its own would race its pipeline's pipe fds.)
    assertSameRun(CommandSpec.of(List.of("ls", "-1", "/proc/self/fd"), dir, Map.of()), "0\n1\n2\n3\n");
  }

  @Test
  void stdin_isAtEndOfFile_onAPipe() {
    assertSameRun(
        CommandSpec.of(
            ScriptCommands.sh("cat; test -p /dev/stdin && echo pipe", List.of()), dir, Map.of()),
        "pipe\n");
  }

  @Test
  void environment_isPassedExactly() {
    Map<String, String> env =
        Map.of("PLAIN", "1", "SPACES", "two words", "EQUALS", "a=b=c", "EMPTY", "", "UNI", "ünï");
    // A shell would add PWD (and SHLVL, _) of its own; env alone prints the block it was given.
    CommandResult viaSpawn = spawned.run(CommandSpec.of(List.of("/usr/bin/env"), dir, env));
    CommandResult viaJdk = jdk.run(CommandSpec.of(List.of("/usr/bin/env"), dir, env));
    List<String> lines =
        new String(viaSpawn.stdout(), UTF_8).lines()
            .filter(l -> !l.startsWith(ProcessShellProvider.MARK_VARIABLE + "="))
            .sorted()
            .toList();
    assertEquals(List.of("EMPTY=", "EQUALS=a=b=c", "PLAIN=1", "SPACES=two words", "UNI=ünï"), lines);
    assertEquals(
        new String(viaJdk.stdout(), UTF_8).lines()
            .filter(l -> !l.startsWith(ProcessShellProvider.MARK_VARIABLE + "="))
            .sorted()
            .toList(),
        lines);
  }

  @Test
  void scriptWithoutAShebang_runsUnderBinSh_asTheJdkDoes() throws IOException {
    Path script = Files.writeString(dir.resolve("plain"), "echo \"plain $1\"\n");
    Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-xr-x"));
    assertSameRun(CommandSpec.of(List.of("./plain", "arg"), dir, Map.of()), "plain arg\n");
  }

  @Test
  void relativeProgram_isResolvedInTheWorkingDirectory() throws IOException {
    Path sub = Files.createDirectories(dir.resolve("sub"));
    Path tool = Files.writeString(sub.resolve("tool"), "#!/bin/sh\npwd -P\n");
    Files.setPosixFilePermissions(tool, PosixFilePermissions.fromString("rwxr-xr-x"));
    assertSameRun(
        CommandSpec.of(List.of("./tool"), sub, Map.of()), sub.toRealPath() + "\n");
  }

  /** The C calls the signal test needs to set up this thread's mask and an ignored signal. */
  interface SignalCalls extends Library {
    Pointer signal(int signal, Pointer handler);

    int sigemptyset(Pointer set);

    int sigaddset(Pointer set, int signal);

    int pthread_sigmask(int how, Pointer set, Pointer old);
  }

  @Test
  void signalMaskAndIgnoredSignals_areResetInTheChild() {
    // This thread blocks SIGTTIN and the JVM ignores SIGTTOU, as a JVM started under a job-control
    // shell or with a host's own handlers might: the JDK's child inherits both, posix_spawn's not.
    int sigttin = 21;
    int sigttou = 22;
    SignalCalls c = Native.load("c", SignalCalls.class);
    Memory set = new Memory(128);
    Memory old = new Memory(128);
    c.sigemptyset(set);
    c.sigaddset(set, sigttin);
    Pointer previous = c.signal(sigttou, new Pointer(1)); // SIG_IGN
    c.pthread_sigmask(0, set, old); // SIG_BLOCK
    List<String> viaSpawn;
    List<String> viaJdk;
    try {
      CommandSpec spec =
          CommandSpec.of(List.of("grep", "-E", "^Sig(Blk|Ign)", "/proc/self/status"), dir, Map.of());
      viaSpawn = new String(spawned.run(spec).stdout(), UTF_8).lines().toList();
      viaJdk = new String(jdk.run(spec).stdout(), UTF_8).lines().toList();
    } finally {
      c.pthread_sigmask(2, old, null); // SIG_SETMASK
      c.signal(sigttou, previous);
    }
    long ttin = 1L << (sigttin - 1);
    long ttou = 1L << (sigttou - 1);
    assertEquals(2, viaJdk.size(), viaJdk.toString());
    assertEquals(ttou, mask(viaJdk.get(1), "SigIgn:") & ttou, "the set-up took: " + viaJdk);
    assertEquals(2, viaSpawn.size(), viaSpawn.toString());
    assertEquals(0, mask(viaSpawn.get(0), "SigBlk:"), viaSpawn.get(0));
    // Signals 1-31: glibc keeps 32 and 33 for itself, and sigfillset leaves them out.
    assertEquals(0, mask(viaSpawn.get(1), "SigIgn:") & 0x7fffffffL, viaSpawn.get(1));
    assertEquals(ttin, mask(viaJdk.get(0), "SigBlk:") & ttin, "the set-up took: " + viaJdk);
  }

  private static long mask(String line, String name) {
    assertTrue(line.startsWith(name), line);
    return Long.parseUnsignedLong(line.substring(name.length()).strip(), 16);
  }

  @Test
  void theRoot_isReapedBeforeTheResult_andNotRecordedAsLeftBehind() throws Exception {
    Path record = dir.resolve("record");
    ProcessShellProvider shell = Launch.POSIX_SPAWN.builder().subreaper(true).recordIn(record).build();
    RunningCommand c =
        shell.start(CommandSpec.of(List.of("/bin/true"), dir, Map.of()), OutputListener.discard());
    CommandResult r = c.result().get(30, SECONDS);

    assertEquals(0, r.exitCode());
    // Reaped: no zombie of it is left among this JVM's children, and nothing of it in /proc.
    assertFalse(Files.exists(Path.of("/proc/" + c.pid())), "pid " + c.pid() + " was not reaped");
    try (var files = Files.list(record)) {
      for (Path f : files.toList()) {
        assertFalse(Files.readString(f).contains(" " + c.pid() + " "), f + ": " + Files.readString(f));
      }
    }
  }

  @Test
  void exitBySignal_andTimeout_areSeenThroughTheReap() throws Exception {
    CommandResult killed =
        spawned.run(CommandSpec.of(ScriptCommands.sh("kill -TERM $$", List.of()), dir, Map.of()));
    assertEquals(128 + 15, killed.exitCode());

    CommandResult timedOut =
        spawned.run(
            CommandSpec.of(List.of("sleep", "1000"), dir, Map.of())
                .withTimeout(Duration.ofMillis(100))
                .withGracePeriod(Duration.ofMillis(100)));
    assertEquals(CommandResult.Outcome.TIMED_OUT, timedOut.outcome());
    assertEquals(128 + 15, timedOut.exitCode());
  }
}
