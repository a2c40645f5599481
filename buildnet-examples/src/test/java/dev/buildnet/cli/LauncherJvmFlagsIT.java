package dev.buildnet.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildnet.cli.LauncherRuns.Result;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The JVM flags the packaged {@code bin/buildnet} passes, seen by a stand-in {@code java} (a
 * script that prints its arguments, one a line): a short command is compiled by C1 only, the
 * long-running {@code serve} by the JVM's full tiered compilation.
 */
class LauncherJvmFlagsIT {
  @TempDir Path tmp;

  private List<String> jvmArguments(String command) throws Exception {
    Path ws = Files.createDirectories(tmp.resolve("ws"));
    Path java = tmp.resolve("java-prints-arguments");
    Files.writeString(java, "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done\n");
    Files.setPosixFilePermissions(java, PosixFilePermissions.fromString("rwx------"));
    ProcessBuilder pb = LauncherRuns.launcher(ws, tmp.resolve("daemon"), tmp,
        List.of(command, "-w", ws.toString()));
    pb.environment().put("JAVA", java.toString());
    pb.environment().put("BUILDNET_NO_DAEMON", "1");
    Result r = LauncherRuns.run(pb, tmp, 60);
    assertEquals(0, r.code(), r.all());
    List<String> args = r.out().lines().toList();
    assertTrue(args.contains("-jar") && args.contains(command), r.all());
    return args.subList(0, args.indexOf("-jar"));
  }

  @Test
  void serve_isCompiledByC2_withTheSerialCollectorAndTheHeapCap() throws Exception {
    List<String> flags = jvmArguments("serve");
    assertFalse(flags.stream().anyMatch(f -> f.startsWith("-XX:TieredStopAtLevel")), flags.toString());
    assertTrue(flags.contains("-XX:+UseSerialGC") && flags.contains("-Xmx256m"), flags.toString());
  }

  @Test
  void aShortCommand_isCompiledByC1Only() throws Exception {
    List<String> flags = jvmArguments("status");
    assertTrue(flags.contains("-XX:TieredStopAtLevel=1"), flags.toString());
    assertTrue(flags.contains("-XX:+UseSerialGC") && flags.contains("-Xmx256m"), flags.toString());
  }
}
