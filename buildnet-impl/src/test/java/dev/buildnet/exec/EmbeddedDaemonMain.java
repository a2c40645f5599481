package dev.buildnet.exec;

import dev.buildnet.api.exec.CommandResult;
import dev.buildnet.api.exec.CommandSpec;
import dev.buildnet.internal.exec.ScriptCommands;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * Child process for {@link EmbeddedLeftBehindProcessesTest}: a JVM that is not a subreaper (an
 * embedding host's, with the provider's default) runs one shell script that leaves a process
 * behind and writes its pid to {@code left.pid}, then prints "exit CODE" and "left PID".
 *
 * <p>Args: working directory, script.
 */
public final class EmbeddedDaemonMain {
  private EmbeddedDaemonMain() {}

  public static void main(String[] args) throws Exception {
    Path dir = Path.of(args[0]);
    ProcessShellProvider shell = ProcessShellProvider.builder().subreaper(false).build();
    CommandResult result = shell.run(
        CommandSpec.of(ScriptCommands.sh(args[1], List.of()), dir, Map.of())
            .withGracePeriod(Duration.ofMillis(200)));
    System.out.println("exit " + result.exitCode());
    System.out.println("left " + Files.readString(dir.resolve("left.pid")).strip());
    System.out.flush();
  }
}
