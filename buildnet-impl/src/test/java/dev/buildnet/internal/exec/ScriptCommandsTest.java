package dev.buildnet.internal.exec;

import dev.buildnet.exec.ProcessShellProvider;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import dev.buildnet.api.exec.CommandResult;
import dev.buildnet.api.exec.CommandSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ScriptCommandsTest {
  @TempDir Path dir;

  @Test
  void bash_buildsArgvWithTheScriptAsOneArgument() {
    assertEquals(
        List.of("bash", "-c", "echo \"$1\"", "buildnet-script", "a b", "c"),
        ScriptCommands.bash("echo \"$1\"", List.of("a b", "c")));
  }

  @Test
  void hostileArguments_arriveVerbatim_andAreNeverExecuted() throws Exception {
    Path victim = Files.writeString(dir.resolve("victim"), "still here");
    Path marker = dir.resolve("marker");
    List<String> args =
        List.of(
            "; rm -rf " + victim,
            "$(touch " + marker + ")",
            "`touch " + marker + "`",
            "\"; touch " + marker + "; echo \"",
            "$HOME",
            "");
    ProcessShellProvider shell = ProcessShellProvider.create();

    for (List<String> argv :
        List.of(
            ScriptCommands.bash("printf '%s\\n' \"$@\"", args),
            ScriptCommands.sh("printf '%s\\n' \"$@\"", args))) {
      CommandResult r = shell.run(CommandSpec.of(argv, dir, Map.of()));

      assertEquals(String.join("\n", args) + "\n", new String(r.stdout(), UTF_8));
    }
    assertEquals("still here", Files.readString(victim));
    assertFalse(Files.exists(marker));
  }
}
