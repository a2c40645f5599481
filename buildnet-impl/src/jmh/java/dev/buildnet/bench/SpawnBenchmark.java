package dev.buildnet.bench;

import dev.buildnet.api.exec.CommandResult;
import dev.buildnet.api.exec.CommandSpec;
import dev.buildnet.exec.ProcessShellProvider;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * What {@link ProcessShellProvider} adds to a process spawn: output readers, sampling, the exit
 * hand-off to its scheduler and the left-behind-process check, against a bare {@link
 * ProcessBuilder} start and wait. Both run {@code /bin/true}, so the fork and exec dominate.
 *
 * <p>Run: {@code mvn -B -q -P bench -pl buildnet-impl -am package -DskipTests && java -jar
 * buildnet-impl/target/benchmarks.jar SpawnBenchmark -f 1 -wi 3 -i 5 -w 1 -r 2}; add {@code
 * -jvmArgsAppend -Djdk.lang.Process.launchMechanism=VFORK} for the JDK's vfork launcher (the
 * default on Linux, POSIX_SPAWN, execs a helper, jspawnhelper, before the command).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class SpawnBenchmark {
  private ProcessShellProvider shell;
  private ProcessShellProvider subreaperShell;
  private CommandSpec spec;

  @Setup
  public void setUp() {
    shell = ProcessShellProvider.create();
    // As the buildnet command line runs it: this JVM a child subreaper, so finding what a command
    // left behind is a look at this JVM's children, not at every process's environment.
    subreaperShell = ProcessShellProvider.builder().subreaper(true).build();
    spec = CommandSpec.of(List.of("/bin/true"), Path.of("/"), Map.of());
  }

  @Benchmark
  public CommandResult processShellProvider() {
    CommandResult result = shell.run(spec);
    if (result.exitCode() != 0) {
      throw new IllegalStateException("/bin/true failed: " + result);
    }
    return result;
  }

  @Benchmark
  public CommandResult processShellProviderSubreaper() {
    CommandResult result = subreaperShell.run(spec);
    if (result.exitCode() != 0) {
      throw new IllegalStateException("/bin/true failed: " + result);
    }
    return result;
  }

  @Benchmark
  public int bareProcessBuilder() throws Exception {
    int exit = new ProcessBuilder("/bin/true").start().waitFor();
    if (exit != 0) {
      throw new IllegalStateException("/bin/true exited with " + exit);
    }
    return exit;
  }
}
